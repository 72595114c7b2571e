"""Notification adapters: SMS or push through an HTTP API, e-mail through SMTP."""
