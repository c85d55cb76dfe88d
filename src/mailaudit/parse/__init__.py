"""Read one message: headers and summary fields now, the MIME body when first asked for.

Every message is written by an attacker: nothing here raises on message content, every step is
linear in the input, and every problem becomes a ``Finding``.
"""

from __future__ import annotations

from functools import partial

from mailaudit.model import Address, Finding, Severity
from mailaudit.options import Limits
from mailaudit.parse.addresses import parse_address, parse_address_list
from mailaudit.parse.headers import split_header_block
from mailaudit.parse.message import Body, Header, ParsedMessage
from mailaudit.parse.received import ReceivedChain, to_iso_date
from mailaudit.parse.rfc2047 import decode_words

__all__ = ["Body", "Header", "ParsedMessage", "parse_message"]


_MAX_RECEIVED = 200  # hops beyond this are not read (mail loops are cut far earlier by MTAs)

_DEFAULT_LIMITS = Limits()


def load_body(raw: bytes, headers: tuple[Header, ...], body_offset: int, limits: Limits) -> Body:
    """``parse.body.load_body``, imported when a body is first needed: most audits never read
    one (no claimed sender, no attachment), and the MIME and HTML code is not light."""
    from mailaudit.parse.body import load_body as load

    return load(raw, headers, body_offset, limits)


def _first(headers: tuple[Header, ...], lname: str) -> str | None:
    for h in headers:
        if h.lname == lname:
            return h.value
    return None


def _addresses(headers: tuple[Header, ...], lname: str, findings: list[Finding]
               ) -> tuple[Address, ...]:
    out: list[Address] = []
    problems: list[str] = []
    count = 0
    for h in headers:
        if h.lname == lname:
            count += 1
            addrs, probs = parse_address_list(h.value)
            out.extend(addrs)
            problems.extend(probs)
    if lname == "from" and count > 1:
        # RFC 5322 §3.6: one From field. Two is a classic way to fool a display (DMARC §6.6.1).
        findings.append(Finding("multiple-from", Severity.HIGH,
                                f"{count} From header fields; a message may have only one"))
    if problems:
        findings.append(_problem_finding(lname, problems))
    return tuple(out)


def _problem_finding(lname: str, problems: list[str]) -> Finding:
    return Finding("address-malformed", Severity.WARNING,
                   f"{lname} header: {'; '.join(dict.fromkeys(problems))}"[:300])


def _single(headers: tuple[Header, ...], lname: str, findings: list[Finding]) -> Address | None:
    value = _first(headers, lname)
    if value is None:
        return None
    addr, problems = parse_address(value)
    if problems:
        findings.append(_problem_finding(lname, problems))
    return addr


def parse_message(raw: bytes, *, limits: Limits = _DEFAULT_LIMITS) -> ParsedMessage:
    """Parse the header block of ``raw`` and set up the lazy body. Never raises on content."""
    split = split_header_block(raw, limits=limits)
    headers, body_offset, findings = split.headers, split.body_offset, split.findings

    subject: str | None = None
    raw_subject = _first(headers, "subject")
    if raw_subject is not None:
        subject, problems = decode_words(raw_subject)
        if problems:
            findings.append(Finding("subject-encoding", Severity.INFO,
                                    "subject: " + "; ".join(dict.fromkeys(problems))[:300]))

    raw_date = _first(headers, "date")
    date = None if raw_date is None else (to_iso_date(raw_date) or raw_date)
    message_id = _first(headers, "message-id")
    if message_id is not None:
        message_id = message_id.strip()

    received: list[str] = []
    for h in headers:
        if h.lname == "received":
            if len(received) >= _MAX_RECEIVED:
                findings.append(Finding("limit-received", Severity.WARNING,
                                        f"Received chain truncated at {_MAX_RECEIVED} hops"))
                break
            received.append(h.value)

    msg = ParsedMessage(
        raw=raw,
        headers=headers,
        from_=_addresses(headers, "from", findings),
        sender=_single(headers, "sender", findings),
        reply_to=_addresses(headers, "reply-to", findings),
        return_path=_single(headers, "return-path", findings),
        to=_addresses(headers, "to", findings),
        cc=_addresses(headers, "cc", findings),
        subject=subject,
        date=date,
        message_id=message_id,
        received=ReceivedChain(received),
        findings=(),
        body_offset=body_offset,
        spans=split.spans,
        spans_complete=split.spans_complete,
    )
    msg.findings = tuple(findings)

    # A partial of a module-level function (not a closure) keeps ParsedMessage picklable.
    msg._body_loader = partial(load_body, raw, headers, body_offset, limits)
    return msg
