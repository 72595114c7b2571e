"""Notification adapters: e-mail through SMTP, an in-process live bus."""
