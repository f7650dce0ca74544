"""relay: a command-line client for AI API relays."""

__version__ = "0.1.0"
