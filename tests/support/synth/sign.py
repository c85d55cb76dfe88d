"""DKIM signing and ARC sealing for the synthetic samples, through dkimpy.

dkimpy does the canonicalisation, header selection, hashing and folding. The one thing it cannot
do is sign at a chosen time: ``DKIM.sign`` takes ``t=`` from the wall clock, which would make every
rebuild of the samples differ. ``_FixedClockDKIM`` therefore assembles the tag list itself (the
same tags, in the same order, as ``DKIM.sign``) and hands it to dkimpy's ``gen_header``.
``dkim.arc_sign`` already takes a timestamp.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dkim
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key

from support.synth.keys import SampleKey

# What Microsoft's notification platform signs (SENDERS.md section 0.1, real s1024-meo samples).
DEFAULT_SIGNED_HEADERS = ("from", "subject", "date", "message-id", "to", "mime-version",
                          "content-type")


@dataclass(frozen=True, slots=True)
class DkimSpec:
    """One DKIM signature to add. ``oversign`` names headers signed once more than they occur,
    so that adding another instance breaks the signature (RFC 6376 section 8.15)."""

    domain: str
    selector: str
    key: SampleKey
    headers: tuple[str, ...] = DEFAULT_SIGNED_HEADERS
    oversign: tuple[str, ...] = ()
    canonicalize: tuple[str, str] = ("relaxed", "relaxed")
    identity: str | None = None  # i=; dkimpy's default is "@" + domain
    body_length: bool = False  # l= (RFC 6376 section 3.5; a known weakness, kept for tests)
    expire_after: int | None = None  # x= = t= + this many seconds (RFC 6376 section 3.5)


class _FixedClockDKIM(dkim.DKIM):  # type: ignore[misc]  # dkimpy ships no type hints
    def sign_at(self, spec: DkimSpec, timestamp: int) -> bytes:
        key = spec.key
        self.signature_algorithm = key.algorithm
        pk: Any
        if key.kind == "ed25519":
            import nacl.encoding
            import nacl.signing

            pk = nacl.signing.SigningKey(key.signing_key(), encoder=nacl.encoding.Base64Encoder)
        else:
            pk = parse_pem_private_key(key.signing_key())
        include = tuple(h.lower().encode("ascii") for h in (*spec.headers, *spec.oversign))
        if b"from" not in include:
            raise ValueError("RFC 6376 section 5.4: the From header field must be signed")
        self.include_headers = include
        policy = CanonicalizationPolicy.from_c_value(
            "/".join(spec.canonicalize).encode("ascii"))
        body = policy.canonicalize_body(self.body)
        self.hasher = dkim.HASH_ALGORITHMS[self.signature_algorithm]
        body_hash = base64.b64encode(self.hasher(body).digest())
        domain = spec.domain.encode("ascii")
        identity = (spec.identity.encode("ascii") if spec.identity else b"@" + domain)
        fields: list[tuple[bytes, bytes]] = [
            (b"v", b"1"),
            (b"a", self.signature_algorithm),
            (b"c", policy.to_c_value()),
            (b"d", domain),
            (b"i", identity),
        ]
        if spec.body_length:
            fields.append((b"l", str(len(body)).encode("ascii")))
        fields += [
            (b"q", b"dns/txt"),
            (b"s", spec.selector.encode("ascii")),
            (b"t", str(timestamp).encode("ascii")),
            *([(b"x", str(timestamp + spec.expire_after).encode("ascii"))]
              if spec.expire_after is not None else []),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
            (b"b", b"0" * 60),  # placeholder so b= folds onto its own line, as dkimpy does
        ]
        value: bytes = self.gen_header(fields, include, policy, b"DKIM-Signature", pk)
        return b"DKIM-Signature: " + value


def dkim_signature(message: bytes, spec: DkimSpec, *, timestamp: int) -> bytes:
    """The DKIM-Signature header field (ending in CRLF) for ``message``, signed at ``timestamp``."""
    return _FixedClockDKIM(message).sign_at(spec, timestamp)


def add_dkim_signature(message: bytes, spec: DkimSpec, *, timestamp: int) -> bytes:
    """``message`` with a DKIM-Signature prepended (the signer is the newest hop)."""
    return dkim_signature(message, spec, timestamp=timestamp) + message


def arc_seal(message: bytes, *, domain: str, selector: str, key: SampleKey, srv_id: str,
             timestamp: int, headers: Sequence[str] | None = None) -> bytes:
    """``message`` with the next ARC set prepended (RFC 8617 section 5.1).

    The message must already carry this hop's own ``Authentication-Results: <srv_id>; ...``
    (dkimpy copies it into ARC-Authentication-Results and takes cv= from its ``arc=`` result).
    """
    if key.kind == "ed25519":
        raise ValueError("RFC 8617 sealers use rsa-sha256; dkimpy seals with RSA only")
    include = [h.encode("ascii") for h in (headers or DEFAULT_SIGNED_HEADERS)]
    arc_set: list[bytes] = dkim.arc_sign(
        message, selector.encode("ascii"), domain.encode("ascii"), key.signing_key(),
        srv_id.encode("ascii"), include_headers=include, timestamp=timestamp)
    if not arc_set:
        raise ValueError(f"no Authentication-Results with authserv-id {srv_id!r} to seal")
    return b"".join(arc_set) + message
