"""DER for RSA public keys of any size, exponent and form: the key records tests and the fuzzer
build (tests/checks/dkim/test_dkim_costly_keys.py, fuzz/fuzz_audit.py)."""

from __future__ import annotations

RSA_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
NULL = b"\x05\x00"


def der_length(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_int(x: int) -> bytes:
    b = x.to_bytes(x.bit_length() // 8 + 1, "big")
    return b"\x02" + der_length(len(b)) + b


def der_sequence(content: bytes) -> bytes:
    return b"\x30" + der_length(len(content)) + content


def rsa_public_key(n: int, e: int) -> bytes:
    """A bare RSAPublicKey (RFC 8017 appendix A.1.1)."""
    return der_sequence(der_int(n) + der_int(e))


def subject_public_key_info(n: int, e: int, *, params: bytes = NULL) -> bytes:
    """A SubjectPublicKeyInfo for (n, e); ``params``: the algorithm's parameters as encoded
    (NULL; NULL with content; nothing)."""
    rsa = rsa_public_key(n, e)
    bits = b"\x03" + der_length(len(rsa) + 1) + b"\x00" + rsa
    return der_sequence(der_sequence(RSA_OID + params) + bits)
