"""Reaching a target: the host wrapper, the one way code runs there (ship), who holds a file open, state, the lock."""
