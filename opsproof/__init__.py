"""opsproof: measure and maintain a service, leave evidence. This package knows nothing of pytest."""

__version__ = "0.1.0"
