"""Biometric evaluation: pair lists, metrics, reports."""
