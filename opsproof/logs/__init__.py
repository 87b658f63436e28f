"""Logs: the error-log scan and log rotation."""
