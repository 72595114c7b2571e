"""Use cases: people, consent, enrolment, credentials, roster sync. Ports only."""
