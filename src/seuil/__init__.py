"""seuil: privacy-by-design security for high-school entrances."""

__version__ = "0.1.0"
