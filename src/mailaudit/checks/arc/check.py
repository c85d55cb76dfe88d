"""ARC chain validation (RFC 8617 section 5.2), and what the first ARC-aware hop recorded.

The chain is validated on the fast path (``checks.dkim.fast``: the message split once, OpenSSL
RSA, the process-wide key cache), which follows dkimpy's ``ARC.verify`` step by step, because
dkimpy passes all 171 cases of the ValiMail validation suite and ``tests/checks/arc/test_arc_fast.py``
asserts the same cv on every one of them plus a generated corpus. Where dkimpy stops with an
error of its own (a malformed or incomplete set, tags it rejects, base64 it cannot decode), the
fast path steps aside and dkimpy itself decides, so those chains keep dkimpy's cv and reason.
One exception: a set signed with a key of another type (an Ed25519 key for rsa-sha256), where
dkimpy raises, fails on the fast path with the same cv and a reason that names the key type.

Both ask DNS through the same ``KeyFetcher`` as DKIM, which says *why* a key was missing: a
chain that fails while a key was not captured (or DNS failed) is "temperror", never "fail".
"""

from __future__ import annotations

import bisect
import re
import sys
import time
from dataclasses import replace

from mailaudit.checks.dkim import fast
from mailaudit.checks.dkim.check import KEYS, KeyFetcher
from mailaudit.checks.dkim.tags import TagList, parse_tags
from mailaudit.dns.base import Resolver
from mailaudit.errors import exception_words
from mailaudit.model import ArcReport, CheckResult
from mailaudit.parse.authres import parse_authentication_results, split_arc_instance
from mailaudit.parse.message import ParsedMessage
from mailaudit.records import record

ARC_HEADERS = ("arc-seal", "arc-message-signature", "arc-authentication-results")
_AAR, _AMS, _AS = b"arc-authentication-results", b"arc-message-signature", b"arc-seal"
_ARC_NAMES = (_AAR, _AMS, _AS)
# dkimpy's ARC.INSTANCE_RE, searched in the relaxed-canonical value: the first "i=<digits>".
# Single quantifiers only.
_INSTANCE_RE = re.compile(rb"[\s;]?i\s*=\s*(\d+)", re.IGNORECASE)
_AMS_TAGS = (b"i", b"a", b"b", b"bh", b"d", b"h", b"s")
_AS_TAGS = (b"i", b"a", b"b", b"cv", b"d", b"s")
_RELAXED = b"relaxed/relaxed"
MAX_INSTANCE = 50
_INT_DIGITS = sys.get_int_max_str_digits()


def check_arc(msg: ParsedMessage, resolver: Resolver, *, now: float | None = None) -> ArcReport:
    """The chain's cv at ``now`` (Unix seconds, the audit's evaluation time; None: the clock)."""
    arc = [h for h in msg.headers if h.lname in ARC_HEADERS]
    if not arc:
        return ArcReport("none", "message is not ARC signed", 0)
    when = time.time() if now is None else now
    instances, top = _seals(msg)
    oldest_id, oldest = oldest_aar(msg)
    fetcher = KeyFetcher(resolver)
    if top is not None:
        # RFC 8617 §5.2 step 2, before the structure checks of step 3: a highest-instance
        # seal that says cv=fail ends validation, and the chain fails whatever is odd about
        # the sets below it (list mail where dkimpy raised IndexError; mailauth says
        # "fail (i=2 cv=fail)").
        return ArcReport("fail", f"chain terminated: ARC-Seal[{top}] reported failure "
                         f"(i={top} cv=fail), the chain is terminated", instances, oldest,
                         oldest_id)
    try:
        cv, reason = validate_fast(fast.view_of(msg), fetcher, now=when)
    except Exception:  # Unsupported, or a fast-path bug: dkimpy decides (quietly)
        # dkimpy sees the answers the fast path already got, so nothing is asked twice.
        fetcher = fetcher.replay()
        cv, reason = validate_dkimpy(msg.raw, fetcher, now=when)
    if cv == "fail" and fetcher.unavailable():
        cv, reason = "temperror", f"{fetcher.unavailable()[0]}; chain could not be validated"
    return ArcReport(cv, reason, instances, oldest, oldest_id)


def validate_dkimpy(raw: bytes, fetcher: KeyFetcher, *, now: float | None = None
                    ) -> tuple[str, str]:
    """(cv, reason) from dkimpy's ``ARC.verify``: the reference the fast path is held to."""
    import dkim

    from mailaudit.checks.dkim.check import dkimpy_run

    try:
        with dkimpy_run(time.time() if now is None else now):
            cv, _results, reason = dkim.ARC(raw, minkey=1024).verify(dnsfunc=fetcher)
    except Exception as exc:  # dkimpy raises assorted errors on hostile chains, not sentences
        # Its words (cut, on one line) still say which part was wrong ("missing parameter in
        # AMS header", "unknown signature algorithm"), which the analyst needs.
        said = exception_words(exc, 160)
        return "fail", ("the ARC header fields are malformed or incomplete: they do not form "
                        f"a chain that can be validated (dkimpy: {type(exc).__name__}"
                        f"{': ' + said if said else ''})")
    if cv is None:
        # dkimpy ends the chain without a status when a seal says cv=fail; RFC 8617 section
        # 5.2 step 2 makes that a failed chain.
        return "fail", f"chain terminated: {reason}"
    text = cv.decode("ascii", "replace").lower() if isinstance(cv, bytes) else str(cv).lower()
    return text, "" if text == "pass" else str(reason)


@record
class _SetOutcome:
    instance: int
    ams_valid: bool
    as_valid: bool
    cv: bytes
    ams_note: str = ""  # why the AMS or the AS did not validate, where dkimpy has no words
    as_note: str = ""


def _seals(msg: ParsedMessage) -> tuple[int, int | None]:
    """(how many distinct instances the ARC-Seals carry, the instance of the highest one
    when it says cv=fail, else None), from one parse of each seal's tags."""
    seen: set[int] = set()
    best: tuple[int, bytes] | None = None
    for h in msg.headers:
        if h.lname != "arc-seal":
            continue
        tags = parse_tags(h.value.encode("utf-8", "replace")).tags
        i = tags.get(b"i", b"").strip()
        if not (i.isdigit() and i.isascii() and len(i) <= 5):
            continue
        n = int(i)
        seen.add(n)
        if best is None or n > best[0]:
            best = (n, tags.get(b"cv", b"").strip().lower())
    return len(seen), best[0] if best is not None and best[1] == b"fail" else None


def validate_fast(view: fast.MessageView, fetcher: KeyFetcher, *, now: float | None = None
                  ) -> tuple[str, str]:
    """(cv, reason) as dkimpy's ``ARC.verify`` gives them; raises ``fast.Unsupported`` where
    dkimpy would stop with an exception this path does not word (the caller then asks dkimpy)."""
    if view.limited:
        # Past the parser's field limit dkimpy would split the whole block again, unbounded.
        return "fail", f"ARC headers not validated: {view.error}"
    if view.error:
        raise fast.Unsupported(view.error)
    arc_fields = view.fields_named(_ARC_NAMES)
    entries = _sorted_arc_headers(arc_fields)
    if not entries or entries[0][0] == 0:
        return "none", "Message is not ARC signed"
    if entries[0][0] > MAX_INSTANCE:
        # Every seal covers all the sets below it, so a long chain costs quadratic hashing;
        # RFC 8617 section 4.2.1 bounds i= to 1-50, and section 5.2 step 3 fails a chain
        # outside the bounds. (dkimpy does not check the bound; its sealer never exceeds it.)
        return "fail", f"ARC instance i={entries[0][0]} is above {MAX_INSTANCE} (RFC 8617 section 4.2.1)"
    by_instance: dict[int, list[tuple[bytes, bytes]]] = {}
    for instance, name, value in entries:
        by_instance.setdefault(instance, []).append((name, value))
    # The seal of set i covers the ARC fields of sets 1..i in ascending (instance, name) order,
    # its own AS left out (RFC 8617 section 5.1.1); dkimpy takes the names from its sorted list.
    names_up = [name for _, name, _ in reversed(entries)]
    instances_up = [instance for instance, _, _ in reversed(entries)]

    outcomes: list[_SetOutcome] = []
    # RFC 8617 section 5.2 step 3: sets 1..N, each with exactly one AAR, AMS and AS. The loop
    # stops at the first set that is not, so it runs at most len(entries) / 3 + 1 times.
    for instance in range(entries[0][0], 0, -1):
        one, problem = _one_set(by_instance.get(instance, []), instance)
        if problem:
            return "fail", problem
        sealed = names_up[:bisect.bisect_right(instances_up, instance) - 1]
        try:
            outcomes.append(_verify_set(view, arc_fields, one, instance, sealed, fetcher,
                                        time.time() if now is None else now))
        except _ChainError as exc:
            return "fail", exc.reason
    return _chain_status(outcomes)


class _ChainError(Exception):
    """A set RFC 8617 section 5.2 step 3 rejects outright; ``reason`` in dkimpy's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DISPLAY = {_AAR: "ARC-Authentication-Results", _AMS: "ARC-Message-Signature", _AS: "ARC-Seal"}


def _one_set(fields: list[tuple[bytes, bytes]], instance: int) -> tuple[dict[bytes, bytes], str]:
    """The set's AAR, AMS and AS values, or dkimpy's words for why there is no such set."""
    one: dict[bytes, bytes] = {}
    for name, value in fields:  # sorted descending: duplicates of AS are found first
        if name in one:
            return one, f"Duplicate {_DISPLAY[name]} for instance {instance}"
        one[name] = value
    if len(one) != 3:
        return one, f"Incomplete ARC set for instance {instance}"
    return one, ""


def _sorted_arc_headers(arc_fields: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes, bytes]]:
    """dkimpy's ``sorted_arc_headers``: (instance, name, relaxed value) of every ARC header
    (``arc_fields``: the view's fields named as ARC's) with an instance number, sorted by
    (instance, name, value) descending."""
    found: list[tuple[int, bytes, bytes]] = []
    for name, value in arc_fields:
        cname, cvalue = fast.canonicalize_header(b"relaxed", name, value)
        m = _INSTANCE_RE.search(cvalue)
        if m is None:
            continue
        digits = m.group(1)
        if len(digits) > _INT_DIGITS > 0:
            continue  # int() refuses it, in dkimpy too (the header is skipped)
        found.append((int(digits), cname, cvalue))
    found.sort(key=lambda e: (e[0], e[1], e[2].lower()))
    found.reverse()
    return found


def _verify_set(view: fast.MessageView, arc_fields: list[tuple[bytes, bytes]],
                one: dict[bytes, bytes], instance: int, sealed: list[bytes],
                fetcher: KeyFetcher, now: float) -> _SetOutcome:
    """dkimpy's ``verify_instance``: the AMS, then the AS over the ARC sets 1..instance.
    ``arc_fields``: the view's ARC fields, in message order."""
    ams = _tags(one[_AMS], _AMS_TAGS, now)
    include = [p.strip().lower() for p in ams.tags[b"h"].split(b":")]
    if _AS in include:
        raise _ChainError("The Arc-Message-Signature MUST NOT sign ARC-Seal")
    # dkimpy hashes the first AMS field whose raw text contains " i=<its i>;" as the signature
    # field (raw, so that c= applies), not necessarily the one it parsed.
    needle = b" i=" + ams.tags[b"i"] + b";"
    raw_ams = next(((n, v) for n, v in arc_fields
                    if n.lower() == _AMS and needle in v.lower()), None)
    if raw_ams is None:
        raise fast.Unsupported("no ARC-Message-Signature with ' i=N;' (dkimpy IndexError)")
    ams_valid, ams_note = _passes(fast.verify_signature(
        view, ams, include, raw_ams[0], raw_ams[1], fetcher, keys=KEYS, default_c=_RELAXED))

    seal = _tags(one[_AS], _AS_TAGS, now)
    if b"h" in seal.tags:
        raise _ChainError("h= tag not permitted in ARC-Seal header field")
    # Fields are picked bottom-up by name (RFC 6376 section 5.4.2), as dkimpy does.
    as_valid, as_note = _passes(fast.verify_signature(
        view, seal, sealed, b"ARC-Seal", b" " + one[_AS], fetcher, keys=KEYS,
        default_c=_RELAXED))
    return _SetOutcome(instance, ams_valid, as_valid, seal.tags[b"cv"], ams_note, as_note)


def _tags(value: bytes, mandatory: tuple[bytes, ...], now: float) -> TagList:
    tl = parse_tags(value)
    if not tl.ok:
        raise fast.Unsupported(tl.error)
    missing = [t for t in mandatory if t not in tl.tags]
    problem = (f"missing {missing[0].decode()}=" if missing
               else fast.validate_signature_tags(tl.tags, now, arc=True))
    if problem:
        raise fast.Unsupported(problem)
    return tl


def _passes(outcome: fast.FastResult) -> tuple[bool, str]:
    """(valid, why not, when dkimpy has no words for it). A key whose type is not the
    signature's is said as such: dkimpy raised there ("The signature must be exactly 64
    bytes long"), which read as a malformed chain."""
    if outcome.dkimpy_raises:
        raise fast.Unsupported(outcome.reason)
    return outcome.status == "pass", outcome.reason if outcome.key_mismatch else ""


def _chain_status(outcomes: list[_SetOutcome]) -> tuple[str, str]:
    """RFC 8617 section 5.2 steps 2, 4-6, with dkimpy's order and wording."""
    if not outcomes[0].ams_valid:
        return "fail", "Most recent ARC-Message-Signature did not validate" + _note(
            outcomes[0].ams_note)
    for out in outcomes:
        if out.cv == b"fail":
            return "fail", (f"chain terminated: ARC-Seal[{out.instance}] reported failure, "
                            "the chain is terminated")
        if not out.as_valid:
            return "fail", f"ARC-Seal[{out.instance}] did not validate" + _note(out.as_note)
        if (out.instance == 1) != (out.cv == b"none"):
            return "fail", f"ARC-Seal[{out.instance}] reported invalid status {out.cv!r}"
    return "pass", ""


def _note(why: str) -> str:
    return f" ({why})" if why else ""


def oldest_aar(msg: ParsedMessage) -> tuple[str, tuple[CheckResult, ...]]:
    """(authserv-id, results) of the ARC-Authentication-Results with the lowest i=."""
    best: tuple[int, str] | None = None
    for h in msg.headers:
        if h.lname != "arc-authentication-results":
            continue
        instance, rest = _split_instance(h.value)
        if instance is not None and (best is None or instance < best[0]):
            best = (instance, rest)
    if best is None:
        return "", ()
    return parse_results(best[1])


def _split_instance(value: str) -> tuple[int | None, str]:
    num, rest = split_arc_instance(value)
    num = num.strip()
    if not num.isascii() or not num.isdigit() or len(num) > 5:
        return None, value
    return int(num), rest


def parse_results(text: str) -> tuple[str, tuple[CheckResult, ...]]:
    """``authserv-id; method=result ...`` read by the one Authentication-Results reader
    (``parse.authres``), with a result's first comment as its reason when it gives no
    ``reason=``. Never raises; what it cannot read it leaves out."""
    ar = parse_authentication_results(text)
    out = []
    for c in ar.results:
        comment = str(c.props.get("comment") or "")
        if not c.reason and comment:
            c = replace(c, reason=comment.split("; ")[0])
        out.append(c)
    return ar.authserv_id or "", tuple(out)
