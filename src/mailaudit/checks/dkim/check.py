"""DKIM verification of every signature (RFC 6376, RFC 8301, RFC 8463).

Each signature goes through the fast path (``checks.dkim.fast``), which reaches dkimpy's verdict
in a fraction of the time. Whatever the fast path does not handle (``Unsupported``: odd RSA or
Ed25519 keys that OpenSSL refuses, or an internal error) is verified by dkimpy itself. Both ask
DNS through ``KeyFetcher``, which remembers *why* a key was missing: dkimpy collapses "the name
does not exist" and "the snapshot does not say" into one ``None``, and those must stay apart
(the first is permerror, the second temperror / unverifiable).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.tags import TagList, parse_tags
from mailaudit.dns.base import DnsOutcome, NoData, NotCaptured, NXDomain, Resolver, TempFail
from mailaudit.errors import cut
from mailaudit.model import CheckResult, Finding, PropValue, Severity
from mailaudit.parse.message import ParsedMessage


def _warn(message: str, *args: object) -> None:
    # logging (with traceback, string, ...) is imported only on this rare path: importing it
    # costs more than auditing a message.
    import logging

    logging.getLogger(__name__).warning(message, *args)

KEYS = fast.KeyCache()  # parsed public keys, shared by every message in this process

# Why a key lookup gave nothing; the reason text is what the result shows.
KEY_NXDOMAIN = "key does not exist (NXDOMAIN)"
KEY_NODATA = "key does not exist (no TXT record)"
KEY_NOT_CAPTURED = "key not captured (unverifiable)"
KEY_TEMPFAIL = "key lookup failed temporarily"
KEY_BAD_NAME = "selector and domain do not form a valid DNS name"


class KeyFetcher:
    """TXT lookups for key records, in dkimpy's ``dnsfunc`` shape, over our ``Resolver``.

    The first TXT record is used, as dkimpy does (RFC 6376 section 3.6.2.2 leaves several
    records undefined). Answers and outcomes are kept per name for the message.
    """

    def __init__(self, resolver: Resolver, *, asked: KeyFetcher | None = None) -> None:
        self.resolver = resolver
        self.records: dict[bytes, bytes | None] = {}
        self.problems: dict[bytes, str] = {}  # name -> one of the KEY_* reasons
        self._asked = asked

    def replay(self) -> KeyFetcher:
        """A fresh fetcher that answers the names this one already asked from what it got,
        without asking (or charging the lookup budget) again: for a second verifier over the
        same message, which must see the same answers and only its own problems."""
        return KeyFetcher(self.resolver, asked=self)

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        if name in self.records:
            return self.records[name]
        if self._asked is not None and name in self._asked.records:
            self.records[name] = self._asked.records[name]
            if name in self._asked.problems:
                self.problems[name] = self._asked.problems[name]
            return self.records[name]
        record: bytes | None = None
        text = name.decode("utf-8", "replace").rstrip(".")
        if not _valid_dns_name(text):
            self.problems[name] = KEY_BAD_NAME
        else:
            try:
                answers = self.resolver.txt(text)
                record = answers[0].encode("utf-8", "replace") if answers else None
                if record is None:
                    self.problems[name] = KEY_NODATA
            except NotCaptured:
                self.problems[name] = KEY_NOT_CAPTURED
            except TempFail:
                self.problems[name] = KEY_TEMPFAIL
            except NXDomain:
                self.problems[name] = KEY_NXDOMAIN
            except NoData:
                self.problems[name] = KEY_NODATA
            except DnsOutcome:
                self.problems[name] = KEY_TEMPFAIL
            except Exception as exc:  # a resolver bug must not become a verdict
                _warn("TXT lookup for %s raised %r", text, exc)
                self.problems[name] = KEY_TEMPFAIL
        self.records[name] = record
        return record

    def unavailable(self) -> list[str]:
        """Problems that mean "we do not know" rather than "there is no key"."""
        return [p for p in self.problems.values() if p in (KEY_NOT_CAPTURED, KEY_TEMPFAIL)]


def _valid_dns_name(name: str) -> bool:
    if not name or len(name) > 253:
        return False
    return all(0 < len(label) <= 63 for label in name.split("."))


def check_dkim(msg: ParsedMessage, resolver: Resolver, *, now: float | None = None,
               max_signatures: int = 20, body_rebuilt: bool = False
               ) -> tuple[tuple[CheckResult, ...], tuple[Finding, ...]]:
    """One result per DKIM-Signature, topmost first; a single "none" when unsigned.

    ``now`` (Unix seconds) is the evaluation time for t= and x=, on the fast path and in the
    dkimpy fallback alike; None means the clock. ``body_rebuilt``: the source made the body
    again from stored properties (PST, .msg), so a body-hash mismatch says nothing about
    tampering: it is neutral (RFC 8601 §2.7.1: the signature could not be processed), with
    failure ``body-rebuilt``; a key, tag, clock or header-signature problem stays what it is.
    """
    if now is None:
        now = time.time()
    view = fast.view_of(msg)
    fetcher = KeyFetcher(resolver)
    if view.error:
        count = sum(1 for h in msg.headers if h.lname == "dkim-signature")
        sig_values = [h.raw.partition(b":")[2] for h in msg.headers if h.lname == "dkim-signature"]
    else:
        sig_values = [v for _, v in view.sig_headers()]
        count = len(sig_values)
    if count == 0:
        return (CheckResult("dkim", "none", "message not signed"),), ()
    results: list[CheckResult] = []
    findings: list[Finding] = []
    dk: list[Any] = []  # the dkimpy verifier, built only if a signature needs it
    # RFC 6376 §6.1: a verifier may limit how many signatures it checks. Thousands of copies
    # of one signature cost thousands of verifications for nothing.
    for idx in range(min(count, max_signatures)):
        res, found = _check_one(msg.raw, view, idx, sig_values[idx], fetcher, now, dk)
        if body_rebuilt and res.failure == "body-hash":
            res = CheckResult("dkim", "neutral", f"{BODY_REBUILT_REASON} (recomputed: {res.reason})",
                              res.props, failure="body-rebuilt", body_hash=res.body_hash)
        results.append(res)
        findings.extend(found)
    if count > max_signatures:
        findings.append(Finding(
            "limit-signatures", Severity.WARNING,
            f"{count} DKIM signatures; the first {max_signatures} were verified "
            f"(limit max_signatures), the other {count - max_signatures} were not"))
    return tuple(results), tuple(findings)


def _check_one(raw: bytes, view: fast.MessageView, idx: int, sig_value: bytes,
               fetcher: KeyFetcher, now: float,
               dk: list[Any]) -> tuple[CheckResult, list[Finding]]:
    tl = parse_tags(sig_value)
    # The tags are validated once, for the verifier and the body-hash outcome alike.
    problem = fast.validate_signature_tags(tl.tags, now) if tl.ok else ""
    try:
        outcome = fast.verify(view, idx, fetcher, keys=KEYS, now=now,
                              tags=None if view.error else tl, problem=problem)
        result, reason, failure = _from_fast(outcome, fetcher, tl)
        key_bits = outcome.key_bits
    except Exception:  # Unsupported, or a fast-path bug: dkimpy decides (quietly: a hostile
        # tag must not write a line to stderr per message)
        result, reason, failure, key_bits = _dkimpy_verify(raw, idx, fetcher, tl, dk, now)

    tags = tl.tags
    signed = [p.strip().lower() for p in tags.get(b"h", b"").split(b":")] if b"h" in tags else []
    if result == "pass" and b"from" not in signed:
        # RFC 6376 section 6.1.1: a signature that does not cover From MUST be ignored.
        result, reason, failure = "permerror", "h= does not include From (RFC 6376 section 6.1.1)", "tags"
    # RFC 6376 §3.7: the body hash needs neither key nor clock, so it is said for every
    # signature; a body that does not hash to bh= was changed after signing, whatever else
    # (an expired x=, a key not captured) also stops the signature.
    body_hash = "" if view.error else body_hash_outcome(view, tl, now, problem)
    if body_hash == "fail" and failure != "body-hash":
        also = f" (also: {reason})" if reason else ""
        result, reason, failure = "fail", f"{BODY_CHANGED_REASON}{also}", "body-hash"
    elif failure == "body-hash":
        reason = BODY_CHANGED_REASON
    props: dict[str, PropValue] = {
        "header.d": tl.text(b"d"),
        "header.s": tl.text(b"s"),
        "header.a": tl.text(b"a"),
        "header.i": tl.text(b"i"),
        "dkim.key_bits": key_bits or None,
        "dkim.l": b"l" in tags,
        "dkim.sha1": tags.get(b"a") == b"rsa-sha1",
        "dkim.h": ":".join(h.decode("utf-8", "replace") for h in signed),
        "dkim.index": idx,
    }
    return (CheckResult("dkim", result, reason, props, failure=failure, body_hash=body_hash),
            _findings(view, idx, tags))


BODY_CHANGED_REASON = "body hash did not verify (body changed after signing)"
BODY_REBUILT_REASON = ("body rebuilt from the stored Outlook properties (PST or .msg), not the "
                       "signed bytes: the signature cannot be verified on it")


def body_hash_outcome(view: fast.MessageView, tl: TagList, now: float,
                      problem: str | None = None) -> str:
    """"pass" or "fail" for the signature's bh= over this body; "" when the signature is
    malformed (only the clock may find fault with it: an expired x= still has a body hash).
    ``problem``: what ``validate_signature_tags`` said of the tags at ``now``, if known."""
    tags = tl.tags
    if not tl.ok or b"bh" not in tags or tags.get(b"a") not in fast.HASHES:
        return ""
    if problem is None:
        problem = fast.validate_signature_tags(tags, now)
    if problem and not problem.startswith(("signature expired", "t= value is in the future")):
        return ""
    canon = fast.parse_c(tags.get(b"c"))
    raw_l = tags.get(b"l")
    if canon is None or (raw_l is not None and not (raw_l.isdigit() and raw_l.isascii()
                                                     and len(raw_l) <= 76)):
        return ""
    expected = fast._b64_decode_ws(tags[b"bh"])
    if expected is None or len(expected) != fast.DIGEST_SIZES[tags[b"a"]]:
        return ""  # not a digest of this algorithm at all: a malformed tag, not a body change
    length = int(raw_l) if raw_l is not None else -1
    return "pass" if view.body_hash(canon[1], tags[b"a"], length) == expected else "fail"


def _from_fast(outcome: fast.FastResult, fetcher: KeyFetcher,
               tl: TagList) -> tuple[str, str, str]:
    """(result, reason, failure kind) for a fast-path outcome."""
    if outcome.status == "pass":
        return "pass", "", ""
    if outcome.status == "nokey":
        return _missing_key(fetcher, tl)
    if outcome.status == "fail":
        return "fail", outcome.reason, "body-hash" if outcome.body_mismatch else "signature"
    if outcome.expired:
        return "permerror", outcome.reason, "expired"
    if outcome.revoked:
        return "permerror", outcome.reason, "key-revoked"
    if outcome.key_bits or "key" in outcome.reason:
        return "permerror", outcome.reason, "key"
    return "permerror", outcome.reason, "tags"


def _key_name(tl: TagList) -> bytes:
    """The DNS name of the signature's key record, as the fetcher is asked for it."""
    return tl.tags.get(b"s", b"") + b"._domainkey." + tl.tags.get(b"d", b"") + b"."


def _missing_key(fetcher: KeyFetcher, tl: TagList) -> tuple[str, str, str]:
    problem = fetcher.problems.get(_key_name(tl), KEY_NODATA)
    if problem == KEY_NOT_CAPTURED:
        return "temperror", problem, "key-not-captured"
    if problem == KEY_TEMPFAIL:
        return "temperror", problem, "key-tempfail"
    return "permerror", problem, "key-missing"


def _dkimpy_verify(raw: bytes, idx: int, fetcher: KeyFetcher, tl: TagList,
                   dk: list[Any], now: float) -> tuple[str, str, str, int]:
    import dkim

    problem = fast.validate_signature_tags(tl.tags, now) if tl.ok else ""
    if problem.startswith(("signature expired", "t= value is in the future")):
        return "permerror", problem, "expired" if "expired" in problem else "tags", 0
    try:
        if not dk:
            dk.append(dkim.DKIM(raw, minkey=fast.MIN_RSA_BITS))
        d = dk[0]
        with dkimpy_run(now):
            ok = d.verify(idx=idx, dnsfunc=fetcher)
    except dkim.ValidationError as exc:
        text = str(exc)
        if text.startswith("body hash mismatch"):
            return "fail", "body hash did not verify", "body-hash", 0
        return "permerror", cut(text, 160), "tags", 0
    except dkim.KeyFormatError as exc:
        return "permerror", cut(str(exc), 160), "key", 0
    except Exception:  # dkimpy raises many kinds on hostile input; none is a sentence
        # (an AssertionError from its ASN.1 reader, for one, on a key it cannot read)
        refusal = _key_refusal(fetcher, tl)
        if refusal is not None:
            return ("permerror", f"the public key could not be read: {cut(str(refusal), 160)}",
                    "key", 0)
        return ("permerror", "the DKIM-Signature header is malformed: its tags could not be "
                "read as a signature", "tags", 0)
    bits = int(getattr(d, "keysize", 0) or 0)
    if ok:
        return "pass", "", "", bits
    name = _key_name(tl)
    if fetcher.records.get(name) is None and name in fetcher.problems:
        result, reason, failure = _missing_key(fetcher, tl)
        return result, reason, failure, 0
    # dkimpy says only "False" for a key its (bounded) parser refused: say why.
    refusal = _key_refusal(fetcher, tl)
    if isinstance(refusal, fast.KeyTooCostly):
        return "permerror", refusal.reason, "key", 0
    return "fail", "signature did not verify", "signature", bits


def _key_refusal(fetcher: KeyFetcher, tl: TagList) -> Exception | None:
    """Why the fast path's key reader refuses the signature's key record (already fetched),
    None when it reads it or there is none."""
    record = fetcher.records.get(_key_name(tl))
    if record is None:
        return None
    try:
        fast.parse_key_record(record)
    except (fast.KeyRecordError, fast.Unsupported) as exc:
        return exc
    return None


class _FixedClock:
    """Stands in for the ``time`` module inside dkimpy, which reads ``time.time()`` for t= and
    x= and takes no clock parameter."""

    def __init__(self, now: float) -> None:
        self._now = now

    def time(self) -> float:
        return self._now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def dkimpy_run(now: float) -> Iterator[None]:
    """Run dkimpy at the evaluation time, with its RSA key parser held to the bounds the fast
    path keeps (``fast.MAX_RSA_BITS``, ``fast.MAX_RSA_EXPONENT_BITS``): dkimpy verifies with
    Python's pow() whatever it parses, and the odd cases the fast path leaves to it are ones a
    hostile key record can be built to hit. dkimpy reads ``time.time()`` for t= and
    x= and takes no clock or key-parser parameter, so both are swapped in for the call; each
    audit runs in one thread of its own process (the batch uses processes), so that is safe."""
    import dkim

    saved = dkim.time, dkim.parse_public_key
    dkim.time = _FixedClock(now)
    dkim.parse_public_key = _bounded_parse_public_key
    try:
        yield
    finally:
        dkim.time, dkim.parse_public_key = saved


def _bounded_parse_public_key(data: bytes) -> dict[str, int]:
    from dkim.crypto import UnparsableKeyError, parse_public_key

    pk: dict[str, int] = parse_public_key(data)
    try:
        fast.check_rsa_cost(pk["modulus"], pk["publicExponent"])
    except fast.KeyTooCostly as exc:
        raise UnparsableKeyError(exc.reason) from None
    return pk


def _findings(view: fast.MessageView, idx: int, tags: dict[bytes, bytes]) -> list[Finding]:
    out: list[Finding] = []
    where = f"DKIM-Signature #{idx + 1} (d={tags.get(b'd', b'').decode('utf-8', 'replace')})"
    if b"l" in tags:
        message = "l= lets text be appended after signing"
        raw_l = tags[b"l"]
        canon = fast.parse_c(tags.get(b"c"))
        if raw_l.isdigit() and raw_l.isascii() and len(raw_l) <= 76 and canon and not view.error:
            unsigned = len(view.canonical_body(canon[1])) - int(raw_l)
            if unsigned > 0:
                message += f"; {unsigned} bytes of the body are not covered by the signature"
        out.append(Finding("dkim-l-tag", Severity.WARNING, message, where))
    if tags.get(b"a") == b"rsa-sha1":
        out.append(Finding("dkim-sha1", Severity.WARNING,
                           "signed with rsa-sha1, which RFC 8301 section 3.1 retires", where))
    return out
