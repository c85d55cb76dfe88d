"""ARC (RFC 8617) chain validation."""
