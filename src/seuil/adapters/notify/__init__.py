"""Notification adapters: e-mail through SMTP, SMS or push through an HTTP API."""
