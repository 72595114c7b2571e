"""Pure model and rules. Standard library only."""
