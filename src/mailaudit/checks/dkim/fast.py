"""A fast DKIM verifier that reaches exactly dkimpy's verdict.

dkimpy re-splits the whole message with a regex on every ``DKIM()`` construction, does RSA in
pure Python (``pow`` plus its own ASN.1 and PKCS#1 code) and re-parses the key record for every
signature. Here the message is split once, by the parser (``view_of``), each body canonicalisation and
body hash is computed once per message, public keys are parsed once per (name, record text) and
RSA / Ed25519 run in OpenSSL through ``cryptography``.

Every rule mirrors dkimpy 1.1.8 (``dkim/__init__.py``: ``rfc822_parse``,
``validate_signature_fields``, ``evaluate_pk``, ``verify_sig_process``) including its quirks,
because the tests in ``tests/checks/dkim/`` assert the same pass/fail for every signature of every
suite plus a generated corpus. Where a quirk is not what RFC 6376 says, the comment says so.
Things this module does not handle raise ``Unsupported``; ``checks.dkim`` then asks dkimpy.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mailaudit.checks.dkim.tags import TagList, parse_tags
from mailaudit.parse.headers import split_header_block
from mailaudit.parse.message import FieldSpan
from mailaudit.records import record

if TYPE_CHECKING:
    from mailaudit.parse.message import ParsedMessage

# dkimpy allows signatures dated up to 10 hours in the future and expired up to 10 hours ago.
CLOCK_SLOP = 36000
MIN_RSA_BITS = 1024  # RFC 8301 section 3.2: verifiers MUST NOT consider shorter keys valid
# The largest RSA keys verified. OpenSSL verifies none with a longer modulus, nor a public
# exponent over 64 bits beside a modulus over 3072 bits; Python's pow(), which decides what
# OpenSSL will not, spends seconds to hours in one C call on a key built to be expensive, and
# no time budget can stop a C call (measured: a 16,384-bit key with an even 16,000-bit
# exponent, which OpenSSL refuses, took 9.4 s a signature). RFC 8301 section 3.2 asks
# verifiers for 1024 to 4096 bits, and signers use e = 65537 (or 3): a key past either bound
# is unusable (permerror), never verified.
MAX_RSA_BITS = 16384
MAX_RSA_EXPONENT_BITS = 64

HASHES: dict[bytes, Callable[..., Any]] = {
    b"rsa-sha1": hashlib.sha1,
    b"rsa-sha256": hashlib.sha256,
    b"ed25519-sha256": hashlib.sha256,
}
# Digest length of each algorithm, without building a hash object to ask.
DIGEST_SIZES: dict[bytes, int] = {name: new().digest_size for name, new in HASHES.items()}
ARC_HASHES: dict[bytes, Callable[..., Any]] = {b"rsa-sha256": hashlib.sha256}
MANDATORY = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")

# Character classes as byte strings: ``x.translate(None, CLASS)`` deletes them in C, so "only
# these characters" is one call instead of a Python loop over every byte.
_NAME_CHARS = bytes(range(0x21, 0x7F))
_D_SPECIALS = b"()<>[]:;@\\,"
_B64_BODY = b" \t\n\r\x0b\x0c0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"
_B64_TAIL = b" \t\n\r\x0b\x0c="
_WS = b" \t\n\r\x0b\x0c"
_DELETE_WS = bytes(_WS)

# Single quantifiers only (message data): a b= tag (preceded by ";" or space, which the
# caller checks), then a run of base64 and space.
_BTAG_START = re.compile(rb"b\s*=")
_BTAG_BEFORE = b"; \t\n\r\x0b\x0c"  # what may precede it: ";" or what \s matches
_BTAG_RUN = re.compile(rb"[\sA-Za-z0-9+/=]*")


class Unsupported(Exception):
    """Something this path does not do; the caller verifies the signature with dkimpy."""


# --------------------------------------------------------------------------------------------
# The message, split the way dkimpy's rfc822_parse splits it


class MessageView:
    """The message as dkimpy's ``rfc822_parse`` sees it, built from the parser's split
    (``parse.headers``: the one header splitter) rather than by splitting again: headers as
    (name, value) with dkimpy's CRLF-terminated values, the CRLF body, and the canonical bodies
    / body hashes computed so far (shared by all signatures of a message). Header values and
    the body are sliced from the message only when a signature needs them, so an unsigned
    message costs nothing here."""

    __slots__ = (
        "_body",
        "_body_start",
        "_bodyhash",
        "_canon",
        "_fields",
        "_headers",
        "_lowered",
        "_sigs",
        "_values",
        "error",
        "limited",
        "raw",
    )

    def __init__(self, raw: bytes, spans: tuple[FieldSpan, ...], body_start: int, *,
                 complete: bool = True) -> None:
        self.raw = raw
        self.error = ""  # the header section breaks dkimpy's parser: nothing can verify
        self.limited = False  # the block has more fields than the parser's span limit
        self._body_start = body_start
        self._body: bytes | None = None
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._canon: dict[bytes, bytes] = {}
        self._bodyhash: dict[tuple[bytes, bytes, int], bytes] = {}
        self._sigs: list[tuple[bytes, bytes]] | None = None
        self._fields: list[tuple[bytes, list[tuple[int, int]]]] = []
        self._lowered: list[bytes] | None = None
        self._values: dict[int, bytes] = {}
        if not complete:
            self.limited = True
            self.error = (f"the header block has more than {len(spans)} fields "
                          "(limit max_headers x SPANS_PER_HEADER_LIMIT)")
            return
        self._classify(spans)

    def _classify(self, spans: tuple[FieldSpan, ...]) -> None:
        """dkimpy's rules over the parser's fields: a continuation line joins the previous
        field; a ``From `` line is skipped (its continuation lines join the field before it);
        any other line without a ``name:`` of printable ASCII makes the message unparsable."""
        raw, fields = self.raw, self._fields
        for start, colon, end in spans:
            if colon == start:
                # dkimpy's name pattern is ``[\x21-\x7e]+?:``, and ":" is in that class: a line
                # "::x" is the field ":". The parser's colon is the first one on the line.
                nl = raw.find(b"\n", start, end)
                colon = raw.find(b":", start + 1, end if nl < 0 else nl)
            if raw[start] in (9, 32):
                if not fields:
                    self.error = "the message starts with a continuation line"
                    return
                fields[-1][1].append((start, end))
            elif colon > start and _is_field_name(name := raw[start:colon]):
                fields.append((name, [(colon + 1, end)]))
            elif raw.startswith(b"From ", start):
                nl = raw.find(b"\n", start, end)
                if nl >= 0:  # continuation lines under a skipped "From " line
                    if not fields:
                        self.error = "the message starts with a continuation line"
                        return
                    fields[-1][1].append((nl + 1, end))
            else:
                self.error = "a header line is not 'name: value'"
                return

    def _value(self, pieces: list[tuple[int, int]]) -> bytes:
        raw = self.raw
        if len(pieces) == 1:
            # Nearly every field is one piece (its continuation lines are in it): no list
            # and no join, a quarter of the cost of a value.
            a, b = pieces[0]
            if b < len(raw) and b > a and raw[b - 1] == 13:
                b -= 1
            return _crlf(raw[a:b]) + b"\r\n"
        out = []
        for a, b in pieces:
            if b < len(raw) and b > a and raw[b - 1] == 13:
                b -= 1  # the CR of the CRLF that ends the field
            out.append(_crlf(raw[a:b]))
        return b"\r\n".join(out) + b"\r\n"

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            self._headers = [(name, self._value(pieces)) for name, pieces in self._fields]
        return self._headers

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = _crlf(self.raw[self._body_start:])
        return self._body

    def _lowered_names(self) -> list[bytes]:
        if self._lowered is None:
            self._lowered = [name.lower() for name, _ in self._fields]
        return self._lowered

    def fields_named(self, names: tuple[bytes, ...]) -> list[tuple[bytes, bytes]]:
        """The (name, value) pairs of ``headers`` whose lower-case name, trailing blanks
        dropped, is one of ``names``, in message order, building the values of those fields
        only (ARC reads its own few fields; a message's values are mostly trace fields)."""
        if self._headers is not None:
            return [(n, v) for n, v in self._headers if n.lower().rstrip() in names]
        fields, values = self._fields, self._values
        chosen: list[tuple[bytes, bytes]] = []
        for i, lname in enumerate(self._lowered_names()):
            if lname.rstrip() in names:
                value = values.get(i)
                if value is None:
                    value = values[i] = self._value(fields[i][1])
                chosen.append((fields[i][0], value))
        return chosen

    def select(self, include: list[bytes]) -> list[tuple[bytes, bytes]]:
        """``select_headers(self.headers, include)``, building the values of the chosen
        fields only (a signature covers a few of a message's fields; trace fields are most)."""
        if self._headers is not None:
            return select_headers(self._headers, include)
        lowered, fields, values = self._lowered_names(), self._fields, self._values
        chosen: list[tuple[bytes, bytes]] = []
        last: dict[bytes, int] = {}
        for name in include:
            i = last.get(name, len(fields))
            while i > 0:
                i -= 1
                if lowered[i] == name:
                    value = values.get(i)
                    if value is None:
                        value = values[i] = self._value(fields[i][1])
                    chosen.append((fields[i][0], value))
                    break
            last[name] = i
        return chosen

    def sig_headers(self) -> list[tuple[bytes, bytes]]:
        if self._sigs is None:
            self._sigs = [(name, self._value(pieces)) for name, pieces in self._fields
                          if name.lower() == b"dkim-signature"]
        return self._sigs

    def canonical_body(self, algorithm: bytes) -> bytes:
        cached = self._canon.get(algorithm)
        if cached is None:
            cached = canonicalize_body(algorithm, self.body)
            self._canon[algorithm] = cached
        return cached

    def body_hash(self, algorithm: bytes, hash_name: bytes, length: int) -> bytes:
        key = (algorithm, hash_name, length)
        digest = self._bodyhash.get(key)
        if digest is None:
            body = self.canonical_body(algorithm)
            if length >= 0:
                body = body[:length]
            digest = HASHES[hash_name](body).digest()
            self._bodyhash[key] = digest
        return digest


def _is_field_name(name: bytes) -> bool:
    """Only printable ASCII other than space (dkimpy's ``[\x21-\x7e]+?:``). Letters, digits
    and dashes, what names are made of, pass on ``isalnum`` (ASCII only for bytes) without the
    per-call table ``translate`` builds for its deleted characters: 0.2 against 0.3 us."""
    return name.replace(b"-", b"").isalnum() or not name.translate(None, _NAME_CHARS)


_last_view: tuple[bytes, object, MessageView] | None = None


def view_of(msg: ParsedMessage) -> MessageView:
    """The DKIM view of a parsed message, from the parser's field spans, shared by the DKIM
    and ARC checks of one message (and with it the canonical bodies and body hashes both
    need). One entry: the message in hand."""
    global _last_view
    last = _last_view
    if last is not None and last[0] is msg.raw and last[1] is msg.spans:
        return last[2]
    if msg.spans is None:  # a message built by hand: split its bytes here
        view = split_message(msg.raw)
    else:
        view = MessageView(msg.raw, msg.spans, msg.body_offset, complete=msg.spans_complete)
    _last_view = (msg.raw, msg.spans, view)
    return view


def _crlf(data: bytes) -> bytes:
    """Every LF, with the CR before it if any, becomes CRLF (dkimpy splits on ``\\r?\\n``)."""
    if b"\r" not in data:
        # mbox files hold LF-only mail: one search and one replace instead of four passes.
        return data.replace(b"\n", b"\r\n")
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def split_message(raw: bytes) -> MessageView:
    """The view of ``raw`` split by ``parse.headers`` (default limits)."""
    split = split_header_block(raw)
    return MessageView(raw, split.spans, split.body_offset, complete=split.spans_complete)


# --------------------------------------------------------------------------------------------
# Canonicalisation (RFC 6376 section 3.4), whole-body bytes operations


def canonicalize_body(algorithm: bytes, body: bytes) -> bytes:
    if algorithm == b"relaxed":
        # Compress first, then drop the single space left before each CRLF: the same result as
        # dkimpy's "[\t ]+\r\n" substitution, which is quadratic on long runs of blanks.
        # ``replace`` counts first and returns the same object when there is nothing to
        # replace: one scan, where a test with ``in`` before it costs a second one.
        body = squeeze_wsp(body).replace(b" \r\n", b"\r\n")
        body = _strip_trailing_lines(body)
        return b"" if body == b"\r\n" else body
    return _strip_trailing_lines(body)


def squeeze_wsp(data: bytes) -> bytes:
    """Every run of spaces and tabs becomes one space (RFC 6376 section 3.4.4 "reduce all
    sequences of WSP"). Repeated ``replace`` halves each run per pass: C speed, a handful of
    passes for real text, about log2(longest run) for hostile input; a regex sub is 5x slower.
    The test is ``rfind``, not ``in``: CPython's backward search of a two-byte needle scans
    prose a third faster than the forward one (15 against 23 us for a 14 kB body without a
    double space, the common case, where the test is all the work)."""
    if b"\t" in data:
        data = data.replace(b"\t", b" ")
    while data.rfind(b"  ") >= 0:
        data = data.replace(b"    ", b" ").replace(b"  ", b" ")
    return data


def _strip_trailing_lines(body: bytes) -> bytes:
    if not body.endswith(b"\r\n"):
        return body + b"\r\n"
    end = len(body)
    while end >= 2 and body[end - 2:end] == b"\r\n":
        end -= 2
    return body[:end + 2]


def canonicalize_header(algorithm: bytes, name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if algorithm == b"relaxed":
        value = value.replace(b"\r\n", b"").replace(b"\n", b"")
        return name.lower().rstrip(), squeeze_wsp(value).strip() + b"\r\n"
    return name, value


def remove_b_value(value: bytes) -> bytes:
    """Empty every ``b=`` value (RFC 6376 section 3.7), matching dkimpy's RE_BTAG substitution
    without its nested quantifiers: the run after ``b=`` ends at its last base64 character, and
    a line end right after it at the very end of the header goes too."""
    out: list[bytes] = []
    pos = 0
    while True:
        m = _btag_start(value, pos)
        if m is None:
            break
        out.append(value[pos:m.end()])
        run_end = _BTAG_RUN.match(value, m.end())
        end = run_end.end() if run_end else m.end()
        while end > m.end() and value[end - 1] in _WS:
            end -= 1
        rest = value[end:]
        if rest in (b"\r\n", b"\n"):
            end = len(value)
        pos = end
    out.append(value[pos:])
    return b"".join(out)


def _btag_start(value: bytes, pos: int) -> re.Match[bytes] | None:
    """The first ``b\\s*=`` whose "b" is past ``pos`` and follows ";" or a space: what
    ``[;\\s]b\\s*=`` searched from ``pos`` finds, less its first character. A pattern that
    starts with a literal is searched for by the regex engine's scan for that byte; one that
    starts with a class is tried at every position: 4.1 against 6.5 us per signature field
    (remove_b_value over the corpus's DKIM and ARC signatures). Each search starts after
    the last candidate, so the scan stays linear."""
    m = _BTAG_START.search(value, pos + 1)
    while m is not None and value[m.start() - 1] not in _BTAG_BEFORE:
        m = _BTAG_START.search(value, m.start() + 1)
    return m


def select_headers(headers: list[tuple[bytes, bytes]],
                   include: list[bytes]) -> list[tuple[bytes, bytes]]:
    """RFC 6376 section 5.4.2: instances are taken from the bottom up; a name listed more often
    than it occurs selects nothing (that is what makes over-signing work)."""
    chosen: list[tuple[bytes, bytes]] = []
    last: dict[bytes, int] = {}
    lowered = [h[0].lower() for h in headers]
    for name in include:
        i = last.get(name, len(headers))
        while i > 0:
            i -= 1
            if lowered[i] == name:
                chosen.append(headers[i])
                break
        last[name] = i
    return chosen


# --------------------------------------------------------------------------------------------
# Keys


@record
class PublicKey:
    kind: bytes  # b"rsa" or b"ed25519"
    bits: int
    # OpenSSL's key (cryptography). RSA: None until the process verifies in OpenSSL
    # (``_Arithmetic``), and for good when OpenSSL refuses the key (``refused``).
    key: Any
    modulus: int = 0
    exponent: int = 0
    tlsrpt: bool = False
    refused: bool = False


class KeyRecordError(Exception):
    """The key record is unusable (RFC 6376 section 6.1.2: PERMFAIL)."""

    def __init__(self, reason: str, *, revoked: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.revoked = revoked


class KeyTooCostly(KeyRecordError):
    """An RSA key past MAX_RSA_BITS or MAX_RSA_EXPONENT_BITS: unusable, and never verified."""


class KeyCache:
    """Parsed public keys by (DNS name, record text). Small and bounded (LRU)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._keys: OrderedDict[tuple[bytes, bytes], PublicKey | KeyRecordError] = OrderedDict()

    def get(self, name: bytes, record: bytes) -> PublicKey:
        k = (name, record)
        hit = self._keys.get(k)
        if hit is None:
            try:
                hit = parse_key_record(record)
            except KeyRecordError as exc:
                hit = exc
            self._keys[k] = hit
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(k)
        if isinstance(hit, KeyRecordError):
            raise hit
        if hit.key is None and hit.kind == b"rsa" and not hit.refused and ARITHMETIC.openssl(hit):
            hit = self._keys[k] = _with_openssl(hit)
        return hit


def parse_key_record(record: bytes) -> PublicKey:
    """RFC 6376 section 3.6.1, with dkimpy's tolerance (lenient base64 and DER)."""
    if not record:
        raise KeyRecordError("empty key record")
    tl = parse_tags(record)
    if not tl.ok:
        raise KeyRecordError(f"key record: {tl.error}")
    pub = tl.tags
    if b"v" in pub and pub[b"v"] != b"DKIM1":
        raise KeyRecordError("key record has a bad v= version")
    k = pub.get(b"k", b"rsa")
    if k == b"ed25519":
        raw = _b64_lenient(pub.get(b"p"))
        if raw is None or len(raw) != 32:
            raise KeyRecordError("could not parse the Ed25519 public key", revoked=not pub.get(b"p"))
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        try:
            ed_key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise Unsupported("OpenSSL refuses this Ed25519 key") from exc
        key: PublicKey = PublicKey(b"ed25519", 256, ed_key)
    elif k == b"rsa":
        if b"p" not in pub:
            raise KeyRecordError("incomplete RSA public key (no p=)")
        if not pub[b"p"]:
            raise KeyRecordError("key revoked (empty p=)", revoked=True)
        der = _b64_lenient(pub[b"p"])
        if der is None:
            raise KeyRecordError("the RSA public key is not base64")
        n, e = _parse_rsa_der(der)
        key = PublicKey(b"rsa", n.bit_length(), None, n, e)
    else:
        raise KeyRecordError(f"unknown key type k={k.decode('utf-8', 'replace')}")
    service = pub.get(b"s")
    if service is not None:
        # Unknown service types make the key unusable (dkimpy raises UnknownKeyTypeError).
        if service not in (b"*", b"email", b"tlsrpt"):
            raise KeyRecordError("key is not for email (s= service type)")
        if service == b"tlsrpt":
            # A TLS-RPT-only key is not for ordinary mail (RFC 8460 section 3).
            raise KeyRecordError("key is for TLS reports only (s=tlsrpt)")
    return key


def _b64_lenient(value: bytes | None) -> bytes | None:
    # Python's non-validating base64 (what dkimpy uses) drops characters outside the alphabet.
    if value is None:
        return None
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        return None


def _der_item(data: bytes, i: int, tag: int) -> tuple[int, int]:
    """(start of content, content length) of the item at i, which must carry ``tag``."""
    if i + 1 >= len(data) or data[i] != tag:
        raise KeyRecordError("could not parse the RSA public key")
    length = data[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        if i + n > len(data):
            raise KeyRecordError("could not parse the RSA public key")
        length = int.from_bytes(data[i:i + n], "big") if n else 0
        i += n
    return i, length


def _parse_rsa_der(der: bytes) -> tuple[int, int]:
    """SubjectPublicKeyInfo, else a bare RSAPublicKey, read as leniently as dkimpy's ASN.1
    reader (it ignores the algorithm OID and trailing bytes, and truncates over-long items)."""
    odd_params = False  # NULL with content: dkimpy decides, but never for a costly key
    try:
        i, ln = _der_item(der, 0, 0x30)
        inner = der[i:i + ln]
        j, ln2 = _der_item(inner, 0, 0x30)
        alg = inner[j:j + ln2]
        a, aln = _der_item(alg, 0, 0x06)
        _, nln = _der_item(alg, a + aln, 0x05)
        odd_params = nln != 0
        n, e = _spki_numbers(inner, j + ln2)
    except KeyRecordError:
        if odd_params:
            raise Unsupported("NULL with content in the key's algorithm identifier") from None
        n, e = _parse_rsa_public(der)
    check_rsa_cost(n, e)
    if odd_params:
        raise Unsupported("NULL with content in the key's algorithm identifier")
    return n, e


def _spki_numbers(inner: bytes, at: int) -> tuple[int, int]:
    """(n, e) from the BIT STRING at ``at`` of a SubjectPublicKeyInfo's content."""
    k, bln = _der_item(inner, at, 0x03)
    return _parse_rsa_public(inner[k:k + bln][1:])


def check_rsa_cost(n: int, e: int) -> None:
    """Raise KeyTooCostly for a key past MAX_RSA_BITS or MAX_RSA_EXPONENT_BITS."""
    if n.bit_length() > MAX_RSA_BITS:
        raise KeyTooCostly(f"RSA key of {n.bit_length()} bits is longer than {MAX_RSA_BITS} bits, "
                           "the longest that is verified")
    if e.bit_length() > MAX_RSA_EXPONENT_BITS:
        raise KeyTooCostly(f"RSA key with a public exponent of {e.bit_length()} bits, longer "
                           f"than {MAX_RSA_EXPONENT_BITS} bits, the longest that is verified "
                           "(signers use 65537)")


def _parse_rsa_public(data: bytes) -> tuple[int, int]:
    i, ln = _der_item(data, 0, 0x30)
    seq = data[i:i + ln]
    a, aln = _der_item(seq, 0, 0x02)
    if a + aln > len(seq):
        raise KeyRecordError("could not parse the RSA public key")
    n = int.from_bytes(seq[a:a + aln], "big")
    b, bln = _der_item(seq, a + aln, 0x02)
    if b + bln > len(seq):
        raise KeyRecordError("could not parse the RSA public key")
    e = int.from_bytes(seq[b:b + bln], "big")
    return n, e


def _with_openssl(key: PublicKey) -> PublicKey:
    from cryptography.hazmat.primitives.asymmetric import rsa
    try:
        return replace(key, key=rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key())
    except ValueError:
        return replace(key, refused=True)  # (even exponent, ...): verified in Python below


_OPENSSL_RSA = "cryptography.hazmat.primitives.asymmetric.rsa"
# RSA-2048 verifications' worth of Python arithmetic a process does before it loads OpenSSL.
PYTHON_RSA_BUDGET = 16.0


class _Arithmetic:
    """Which arithmetic verifies this process's RSA signatures: Python's pow() until OpenSSL
    pays for its load, then OpenSSL for good.

    OpenSSL (through cryptography) verifies an RSA-2048 signature in about 26 us, pow() (the
    arithmetic dkimpy does, and this module does for the keys OpenSSL refuses) in about 180 us;
    but loading OpenSSL's RSA costs 10-20 ms, more than a one-message check spends on DKIM and
    ARC together (measured, 20 runs of each in turn: the check of one RSA-signed message 189
    to 174 ms median CPU, 212 to 194 ms wall, 32 to 24 MB peak memory). So the first
    ``PYTHON_RSA_BUDGET`` verifications' worth are done in Python (a one-message check rarely
    has more than ten: its signatures and two per ARC set), and a batch pays at most about
    2.5 ms for them before OpenSSL takes over. Both compute the same exact PKCS #1 v1.5 check
    (tests/checks/dkim/test_dkim_arithmetic.py). A process that has OpenSSL loaded already (an
    Ed25519 key, a pool's parent) uses it from the start."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.loaded = False

    def openssl(self, key: PublicKey) -> bool:
        """Verify with ``key`` in OpenSSL? Charges Python's work when the answer is no."""
        if self.loaded:
            return True
        if _OPENSSL_RSA in sys.modules:
            self.loaded = True
            return True
        # pow() costs about the square of the modulus length, times the exponent's length
        # (the bounds, MAX_RSA_BITS and MAX_RSA_EXPONENT_BITS, keep one call to ~50 ms).
        self.spent += (max(1.0, (key.bits / 2048) ** 2)
                       * max(1.0, key.exponent.bit_length() / 17))
        if self.spent > PYTHON_RSA_BUDGET:
            self.loaded = True
        return self.loaded

    def load(self) -> None:
        """OpenSSL from now on (a process pool's parent loads it before its workers fork)."""
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: F401

        self.loaded = True


ARITHMETIC = _Arithmetic()


# --------------------------------------------------------------------------------------------
# Verification


@record
class FastResult:
    """``status``: pass, fail (crypto said no), permerror (unusable signature or key),
    nokey (the lookup gave nothing; the caller knows why)."""

    status: str
    reason: str = ""
    body_mismatch: bool = False
    key_bits: int = 0
    revoked: bool = False
    tags: TagList | None = None
    signed_headers: tuple[bytes, ...] = ()
    expired: bool = False
    # dkimpy raises an exception of its own here (not a verdict): base64 it cannot decode in
    # bh= or b=. ARC needs to know (the whole chain fails there); DKIM reports it as a
    # permerror either way.
    dkimpy_raises: bool = False
    # The key record's type (k=) is not the signature's (a=): RFC 6376 section 6.1.2's
    # "inappropriate key algorithm", a permerror, never a signature that failed.
    key_mismatch: bool = False


TxtLookup = Callable[[bytes], bytes | None]


def validate_signature_tags(sig: dict[bytes, bytes], now: float, *, arc: bool = False) -> str:
    """dkimpy's ``validate_signature_fields``; "" when valid. With ``arc`` the rules for
    ARC-Message-Signature and ARC-Seal: only rsa-sha256 (RFC 8617 section 4.1.3, and dkimpy's
    ``ARC_HASH_ALGORITHMS``), no i=/d= relation; the caller checks the mandatory tags."""
    hashes = ARC_HASHES if arc else HASHES
    for tag in () if arc else MANDATORY:
        if tag not in sig:
            return f"missing {tag.decode()}= tag"
    if b"a" in sig and sig[b"a"] not in hashes:
        return f"unknown signature algorithm a={sig[b'a'].decode('utf-8', 'replace')}"
    if b"b" in sig and not _b64_tag_ok(sig[b"b"]):
        return "b= value is not valid base64"
    # dkimpy checks the b= characters a second time here (an upstream slip); b= passed above.
    if b"bh" in sig and len(sig[b"bh"].translate(None, _DELETE_WS)) % 4:
        return "bh= value is not valid base64"
    if b"cv" in sig and sig[b"cv"] not in (b"pass", b"fail", b"none"):
        return "cv= value is not valid"
    d = sig.get(b"d", b"")
    if d.isascii() and len(d.translate(None, _D_SPECIALS)) != len(d):
        return "d= value is not a valid domain"
    if b"i" in sig and not arc:
        i, dl = sig[b"i"].lower(), d.lower()
        if not i.endswith(dl) or len(i) < len(dl) + 1 or i[-len(dl) - 1] not in (0x40, 0x2E):
            return "i= domain is not a subdomain of d="
    if b"l" in sig and not _digits(sig[b"l"], allow_empty=True, max_len=76):
        return "l= value is not a decimal integer"
    if b"l" in sig and not sig[b"l"]:
        return "l= value is empty"
    if b"q" in sig and sig[b"q"] != b"dns/txt":
        return "q= value is not dns/txt"
    t_sign = None
    if b"t" in sig:
        if not _digits(sig[b"t"]):
            return "t= value is not a decimal integer"
        t_sign = timestamp(sig[b"t"])
        if t_sign > int(now) + CLOCK_SLOP:
            return "t= value is in the future"
    if b"v" in sig and sig[b"v"] != b"1":
        return "v= value is not 1"
    if b"x" in sig:
        if not _digits(sig[b"x"]):
            return "x= value is not a decimal integer"
        x_sign = timestamp(sig[b"x"])
        if x_sign < int(now) - CLOCK_SLOP:
            return "signature expired (x= is in the past)"
        if t_sign and x_sign < t_sign:
            return "x= value is less than t= value"
    return ""


_FAR_FUTURE = 10 ** 18  # seconds: beyond any clock, and an int() that never fails


def timestamp(digits: bytes) -> int:
    """An ASCII-digit t=/x= value as seconds. A value of thousands of digits (int() refuses
    more than sys.get_int_max_str_digits) is simply later than any clock."""
    significant = digits.lstrip(b"0")
    return int(significant) if 0 < len(significant) <= 18 else (
        0 if not significant else _FAR_FUTURE)


def _digits(v: bytes, *, allow_empty: bool = False, max_len: int = 0) -> bool:
    if not v:
        return allow_empty
    if max_len and len(v) > max_len:
        return False
    return v.isdigit() and v.isascii()


def _b64_tag_ok(v: bytes) -> bool:
    """dkimpy: ``[\\s0-9A-Za-z+/]+[\\s=]*$`` and a length (without spaces) divisible by 4,
    checked here in one linear pass instead of a backtracking regex."""
    if not v or v[0] not in _B64_BODY:
        return False
    k = v.find(b"=")
    head, tail = (v, b"") if k < 0 else (v[:k], v[k:])
    if head.translate(None, _B64_BODY) or tail.translate(None, _B64_TAIL):
        return False
    return len(v.translate(None, _DELETE_WS)) % 4 == 0


def _b64_decode_ws(v: bytes) -> bytes | None:
    try:
        return base64.b64decode(v.translate(None, _DELETE_WS))
    except (binascii.Error, ValueError):
        return None


def parse_c(c: bytes | None) -> tuple[bytes, bytes] | None:
    """c= value to (header, body) algorithm; dkimpy wants the lower-case names exactly."""
    if c is None:
        return b"simple", b"simple"
    parts = c.split(b"/")
    if len(parts) == 1:
        parts.append(b"simple")
    if len(parts) != 2 or any(p not in (b"simple", b"relaxed") for p in parts):
        return None
    return parts[0], parts[1]


def verify(view: MessageView, idx: int, lookup: TxtLookup, *, keys: KeyCache,
           now: float | None = None, minkey: int = MIN_RSA_BITS,
           tags: TagList | None = None, problem: str | None = None) -> FastResult:
    """Verify the idx-th DKIM-Signature (0 = topmost). ``tags``: its tag list, when the
    caller has already parsed it; ``problem``: what ``validate_signature_tags`` said of those
    tags at ``now``, when the caller has already asked."""
    if now is None:
        now = time.time()
    if view.error:
        return FastResult("permerror", f"message could not be parsed for DKIM: {view.error}")
    sigs = view.sig_headers()
    if idx >= len(sigs):
        return FastResult("permerror", "no such signature")
    sig_name, sig_value = sigs[idx]
    tl = parse_tags(sig_value) if tags is None else tags
    if not tl.ok:
        return FastResult("permerror", f"malformed DKIM-Signature: {tl.error}", tags=tl)
    sig = tl.tags
    if problem is None or tags is None:
        problem = validate_signature_tags(sig, now)
    if problem:
        return FastResult("permerror", problem, tags=tl, expired=problem.startswith("signature expired"))
    include = [p.strip().lower() for p in sig[b"h"].split(b":")]
    return verify_signature(view, tl, include, sig_name, sig_value, lookup, keys=keys,
                            minkey=minkey)


def verify_signature(view: MessageView, tl: TagList, include: list[bytes], sig_name: bytes,
                     sig_value: bytes, lookup: TxtLookup, *, keys: KeyCache,
                     minkey: int = MIN_RSA_BITS, default_c: bytes | None = None) -> FastResult:
    """dkimpy's ``verify_sig``: key, body hash (when bh= is present), header hash, crypto, for
    a signature whose tags were already validated. ``include`` are the header names it covers,
    ``sig_name: sig_value`` the signature header field itself (hashed with b= emptied).
    ``default_c`` is the c= to assume when absent: simple/simple for DKIM (RFC 6376 section
    3.5), relaxed/relaxed for ARC (dkimpy's reading of RFC 8617 sections 4.1.2 and 4.1.3)."""
    sig = tl.tags
    signed = tuple(include)
    name = sig[b"s"] + b"._domainkey." + sig[b"d"] + b"."
    record = lookup(name)
    if record is None:
        return FastResult("nokey", "no key record", tags=tl, signed_headers=signed)
    try:
        key = keys.get(name, record)
    except KeyRecordError as exc:
        return FastResult("permerror", exc.reason, tags=tl, revoked=exc.revoked,
                          signed_headers=signed)
    algorithm = sig[b"a"]
    if key.kind != (b"ed25519" if algorithm.startswith(b"ed25519") else b"rsa"):
        # dkimpy verifies by the key's type whatever a= says: an RSA signature against an
        # Ed25519 key made it raise, an Ed25519 one against an RSA key read as a failed
        # signature, which would say the message changed when only the key record differs.
        return FastResult(
            "permerror", f"inappropriate key algorithm: the key record is {key.kind.decode()} "
            f"(k=), the signature a={algorithm.decode('ascii', 'replace')} (RFC 6376 section "
            "6.1.2)", tags=tl, key_bits=key.bits, signed_headers=signed, key_mismatch=True)

    canon = parse_c(sig.get(b"c", default_c))
    if canon is None:
        return FastResult("permerror", "invalid c= value", tags=tl, key_bits=key.bits,
                          signed_headers=signed)
    head_alg, body_alg = canon
    if b"bh" in sig:
        if sig.get(b"l") == b"":
            raise Unsupported("empty l= (dkimpy raises ValueError)")
        length = int(sig[b"l"]) if b"l" in sig else -1
        expected_bh = _b64_decode_ws(sig[b"bh"])
        if expected_bh is None:
            return FastResult("permerror", "bh= value is not valid base64", tags=tl,
                              key_bits=key.bits, signed_headers=signed, dkimpy_raises=True)
        if view.body_hash(body_alg, sig[b"a"], length) != expected_bh:
            return FastResult("fail", "body hash did not verify", body_mismatch=True, tags=tl,
                              key_bits=key.bits, signed_headers=signed)

    # dkimpy adds one more "from" so that a second From header field breaks the signature.
    if b"from" in include:
        include.append(b"from")
    hasher = HASHES[sig[b"a"]]()
    for n, v in view.select(include):
        cn, cv = canonicalize_header(head_alg, n, v)
        hasher.update(cn + b":" + cv)
    cn, cv = canonicalize_header(head_alg, sig_name, remove_b_value(sig_value))
    hasher.update(cn + b":" + cv.rstrip())
    signature = _b64_decode_ws(sig[b"b"])
    if signature is None:
        return FastResult("permerror", "b= value is not valid base64", tags=tl,
                          key_bits=key.bits, signed_headers=signed, dkimpy_raises=True)
    if key.kind == b"rsa":
        return _verify_rsa(key, hasher, signature, minkey, tl, signed)
    ok = _verify_ed25519(key, hasher.digest(), signature)
    return FastResult("pass" if ok else "fail", "" if ok else "signature did not verify",
                      tags=tl, key_bits=key.bits, signed_headers=signed,
                      dkimpy_raises=len(signature) != 64)  # dkimpy: "exactly 64 bytes long"


_DIGEST_INFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
}


def _verify_rsa(key: PublicKey, hasher: Any, signature: bytes, minkey: int, tl: TagList,
                signed: tuple[bytes, ...]) -> FastResult:
    modlen = (key.modulus.bit_length() + 7) // 8 or 1
    digest = hasher.digest()
    dinfo = _DIGEST_INFO[hasher.name] + digest
    if len(dinfo) + 11 > modlen:
        return FastResult("permerror", "RSA key too small for the digest", tags=tl,
                          key_bits=key.bits, signed_headers=signed)
    if key.bits < minkey:
        # dkimpy only says so when the signature is otherwise valid; the verdict is the same.
        return FastResult("permerror", f"RSA key of {key.bits} bits is shorter than {minkey} "
                          "(RFC 8301 section 3.2)", tags=tl, key_bits=key.bits,
                          signed_headers=signed)
    sig_int = int.from_bytes(signature, "big")
    ok: bool | None = None
    if key.key is not None and len(signature) == modlen and sig_int < key.modulus:
        ok = _openssl_rsa_verify(key.key, signature, digest, hasher.name)
    if ok is None:
        # Python's arithmetic, dkimpy's: for a process's first signatures (``_Arithmetic``), a
        # key OpenSSL refuses, and a signature that is not exactly the modulus length, which
        # dkimpy reads as an integer whatever its length and OpenSSL will not take.
        if key.modulus <= 0:
            return FastResult("permerror", "RSA public key is unusable", tags=tl,
                              key_bits=key.bits, signed_headers=signed)
        encoded = b"\x00\x01" + b"\xff" * (modlen - len(dinfo) - 3) + b"\x00" + dinfo
        got = pow(sig_int, key.exponent, key.modulus)
        ok = got.to_bytes(modlen, "big") == encoded
    return FastResult("pass" if ok else "fail", "" if ok else "signature did not verify",
                      tags=tl, key_bits=key.bits, signed_headers=signed)


_RSA_ARGS: dict[str, tuple[Any, Any]] = {}  # hash name -> (padding, Prehashed), built once


def _openssl_rsa_verify(pub: Any, signature: bytes, digest: bytes, hash_name: str) -> bool | None:
    """True / False, or None when OpenSSL will not decide (the caller does the maths)."""
    args = _RSA_ARGS.get(hash_name)
    if args is None:
        # The padding and hash objects are immutable: one pair per hash for the process,
        # instead of three objects per signature.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, utils
        algo = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
        args = _RSA_ARGS[hash_name] = (padding.PKCS1v15(), utils.Prehashed(algo))
    try:
        pub.verify(signature, digest, args[0], args[1])
    except _invalid_signature():
        return False
    except Exception:  # an OpenSSL refusal that is not a verdict
        return None
    return True


def _verify_ed25519(key: PublicKey, digest: bytes, signature: bytes) -> bool:
    # RFC 8463 section 3: Ed25519 signs the SHA-256 hash of the canonicalised headers.
    try:
        key.key.verify(signature, digest)
    except (_invalid_signature(), ValueError):
        return False
    return True


@functools.cache
def _invalid_signature() -> type[Exception]:
    """``cryptography``'s InvalidSignature, imported on first use (the module loads without
    ``cryptography`` until a key is needed). An ``import`` statement per verification cost
    about 1 % of the DKIM and ARC checks: the import machinery runs even for a loaded module."""
    from cryptography.exceptions import InvalidSignature

    return InvalidSignature
