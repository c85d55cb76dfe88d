"""SPF (RFC 7208) through pyspf, answered from the injected resolver."""
