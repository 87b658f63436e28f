"""Reaching a target: the host wrapper, what is shipped to it, state that survives runs, the action lock."""
