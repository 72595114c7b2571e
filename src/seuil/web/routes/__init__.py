"""One router per area of the staff pages."""
