"""Backups: `run` (the entry point on a target), take, verify (archive over tarstream), restore drills, recency.

take, archive, tarstream, pgtools and restore use only the standard library: opsproof.hosts.ship runs them
where the archives are, shipped to a remote target's python3.
"""
