"""The seuil command."""
