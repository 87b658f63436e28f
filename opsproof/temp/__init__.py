"""Temp cleanup: old files out of temp dirs, safely."""
