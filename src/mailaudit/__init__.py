"""mailaudit: audit email authentication and catch genuine notifications carrying someone else's words."""

__version__ = "0.1.0"
