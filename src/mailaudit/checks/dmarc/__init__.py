"""DMARC (RFC 7489 and the RFC 9989 tree walk)."""
