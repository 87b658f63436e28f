"""State of the target system: disk, processes and ports, health endpoints."""
