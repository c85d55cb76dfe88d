"""DKIM (RFC 6376, RFC 8463): the fast verifier, dkimpy as the reference, tag parsing."""
