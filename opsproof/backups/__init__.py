"""Backups: take (dump + archive), verify (stream every member), restore drills, recency."""
