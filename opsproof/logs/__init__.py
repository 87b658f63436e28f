"""Logs: the error-log scan, log rotation, and the reading of rotated names (siblings) they share."""
