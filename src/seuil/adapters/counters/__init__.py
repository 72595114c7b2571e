"""People counters (beam or door counters) that report passages for the tailgating watch."""
