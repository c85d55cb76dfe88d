"""Test support: message and key generators, the loopback DNS server, suite loaders."""
