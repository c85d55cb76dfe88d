"""Frozen data shared by every stage of the pipeline.

Stages hand each other these values and never mutate them. Everything here is plain data:
it pickles (for the process pool). It knows no JSON: the documented schema is written by
``mailaudit.report.schema`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from enum import IntEnum, StrEnum
from typing import TypeVar, cast, overload

from mailaudit.records import record

SCHEMA_VERSION = "mailaudit/1"

PropValue = str | int | float | bool | None
_T = TypeVar("_T")


class Props(Mapping[str, PropValue]):
    """A check's properties (RFC 8601 ptype.property names, plus ours): read-only, in the
    order they were given (the JSON keeps it), hashable and picklable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, PropValue] | Iterable[tuple[str, PropValue]] = (),
                 ) -> None:
        self._items: dict[str, PropValue] = dict(items)

    def __getitem__(self, key: str) -> PropValue:
        return self._items[key]

    # ``Mapping`` answers ``get`` and ``in`` by catching the KeyError of ``[]``: about 0.5 us
    # for each property a check asks about and the result lacks, against 0.05 from the dict.
    @overload
    def get(self, key: str, /) -> PropValue: ...

    @overload
    def get(self, key: str, /, default: PropValue | _T) -> PropValue | _T: ...

    def get(self, key: str, /, default: object = None) -> object:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Props):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Props({self._items!r})"

    def as_dict(self) -> dict[str, PropValue]:
        """A new dict of the properties, in their order. ``dict(props)`` gives the same but
        goes through ``keys`` and ``[]`` in Python: 2.6 us for a record's check, against 0.45."""
        return dict(self._items)

    def __reduce__(self) -> tuple[type[Props], tuple[dict[str, PropValue]]]:
        return (Props, (self._items,))


class Verdict(StrEnum):
    """One word per message, in the field's terms (see README, "Verdicts")."""

    AUTHENTIC = "authentic"  # catalogued sender, authenticated, on template, no hostile slot
    ABUSED = "abused"  # catalogued sender, authenticated, hostile slot or scam signals
    SPOOFED = "spoofed"  # claims a catalogued sender (any header), does not authenticate as it
    UNRECOGNIZED = "unrecognized"  # catalogued sender, authenticated, wording not in the catalog
    UNAUTHENTICATED = "unauthenticated"  # not catalogued, DMARC does not pass
    UNKNOWN_SENDER = "unknown-sender"  # not catalogued, authenticates
    ERROR = "error"  # could not be read or audited


class ExitCode(IntEnum):
    OK = 0  # nothing flagged
    FLAGGED = 1  # at least one message flagged (see --fail-on)
    USAGE = 2  # bad command line
    INPUT = 3  # input or catalog could not be read at all
    DNS = 4  # DNS unusable where it was required
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    BROKEN_PIPE = 141  # the reader of standard output went away (128 + SIGPIPE, as git does)
    TERMINATED = 143  # SIGTERM (timeout, docker stop, CI cancellation)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"


@record
class MessageRef:
    """Where a message came from, stable across runs.

    ``path`` is the input path as given (directories expanded to files). ``locator`` says where
    inside that file the message sits, as ``;``-separated steps, empty for a plain file:
    ``mbox:offset=1234`` (byte offset of the "From " line), ``maildir:key=<key>``,
    ``msg:attachment=0`` (an embedded message inside an Outlook .msg),
    ``attachment=1.2`` (a message/rfc822 part, by MIME part path, inside its parent).
    """

    path: str
    locator: str = ""

    def child(self, step: str) -> MessageRef:
        return MessageRef(self.path, f"{self.locator};{step}" if self.locator else step)

    @property
    def key(self) -> str:
        """One string that identifies the message (used by --resume)."""
        return f"{self.path}\x00{self.locator}"

    def display(self) -> str:
        return f"{self.path} [{self.locator}]" if self.locator else self.path


@record
class RawMessage:
    """The bytes of one message, as read from its source. ``truncated`` is set when a size
    limit cut it; ``parent`` is the ref of the carrying message for forwarded attachments.
    ``findings`` are what the source noticed (a PST item rebuilt without transport headers);
    ``caveat`` is added to the verdict's reason: what could not be checked because of it.
    ``rebuilt``: the source made the body again from stored properties (PST, .msg), so no
    DKIM body hash can match it. Only a reader sets it, never anything in the bytes."""

    ref: MessageRef
    data: bytes
    truncated: bool = False
    parent: MessageRef | None = None
    findings: tuple[Finding, ...] = ()
    caveat: str = ""
    rebuilt: bool = False


@record
class SourceError:
    """An input item that could not be read. Becomes an ``error`` record; the batch goes on."""

    ref: MessageRef
    code: str  # e.g. "not-found", "unreadable", "empty", "not-mail", "msg-extra-missing"
    message: str  # one sentence that names the file and says what to do next


@record
class Address:
    display_name: str  # decoded (RFC 2047), may be empty
    address: str  # addr-spec as written, may be empty when unparsable
    domain: str  # lower-case domain part, "" when none


@record
class ReceivedHop:
    """One Received header, top (newest) first."""

    index: int  # 0 = topmost
    from_host: str | None  # the name the sender gave (HELO) or the reverse name
    from_ip: str | None
    by_host: str | None
    protocol: str | None  # "with" clause: SMTP, ESMTPS, LMTP, HTTP, ...
    id: str | None
    timestamp: str | None  # ISO 8601 when parsable
    raw: str


@record
class Link:
    url: str
    domain: str  # lower-case host, "" when none
    text: str = ""  # anchor text for HTML links


@record
class CheckResult:
    """One result of one method: one per DKIM signature, one for SPF, DMARC, ARC, ..."""

    method: str  # dkim, spf, dmarc, arc, compauth, iprev, ...
    result: str  # pass, fail, softfail, neutral, none, temperror, permerror, policy, ...
    reason: str = ""
    # Read-only: a dict given here is copied into ``Props``.
    props: Mapping[str, PropValue] = field(default_factory=Props)
    # DKIM: why a signature did not pass (body-hash, signature, key-missing, key-not-captured,
    # key-tempfail, key-revoked, key, tags, expired, body-rebuilt: the source rebuilt the body,
    # so it cannot match), "" when it passed or is not DKIM.
    failure: str = ""
    # DKIM: the body-hash outcome, known without key or clock: "pass", "fail", "" not computed.
    body_hash: str = ""
    # Recorded results: the result token as written when it is not an RFC 8601 keyword.
    raw_result: str = ""

    def __post_init__(self) -> None:
        # Props is a Mapping: isinstance of anything else (a dict, as most checks give) goes
        # through ABCMeta.__instancecheck__, in Python; a dict is known not to be one
        # (measured: CheckResult with a dict of props 2.05 -> 1.69 us to make).
        props = self.props
        if props.__class__ is dict or not isinstance(props, Props):
            object.__setattr__(self, "props", Props(props))

    def props_dict(self) -> dict[str, PropValue]:
        """A new dict of ``props``, in their order (``props`` is always a Props: see
        ``__post_init__``; the field is typed Mapping so that a dict may be given)."""
        return cast(Props, self.props).as_dict()

    @property
    def conclusive(self) -> bool:
        """True when this recomputed result needed nothing it lacked (RFC 8601 §2.7.1:
        temperror is "could not be verified now", so it decides nothing)."""
        return self.result != "temperror" and self.failure not in ("key-not-captured",
                                                                    "key-tempfail",
                                                                    "body-rebuilt")


@record
class RecordedResult:
    """A result someone wrote into the message (Authentication-Results and friends)."""

    check: CheckResult
    authserv_id: str  # "" for Microsoft's id-less form
    trusted: bool
    header: str  # Authentication-Results, ARC-Authentication-Results, Received-SPF, ...
    header_index: int  # position among all headers, 0 = topmost
    # A conclusive recomputation contradicts this header's record: nothing in it is evidence.
    contradicted: bool = False


@record
class Envelope:
    """What SPF needs: the connecting IP, HELO and MAIL FROM, and where each came from."""

    ip: str | None
    helo: str | None
    mail_from: str | None
    source: str  # "options", "received-spf", "authentication-results", "x-forefront", "received", "none"


@record
class ArcReport:
    cv: str  # pass, fail, none, temperror, permerror
    reason: str
    instances: int
    oldest_aar: tuple[CheckResult, ...] = ()  # what the first ARC-aware hop saw
    oldest_authserv_id: str = ""


@record
class Disagreement:
    method: str
    recorded: str
    recomputed: str
    explanation: str  # plain words: "body changed after delivery", ...


@record
class ExchangeVerdict:
    """What the receiving Exchange Online tenant itself concluded, decoded into plain words.

    Only filled when Exchange Online was the trusted receiver (its headers are the receiver's
    own only then; see checks/recorded/exchange.py).
    """

    statements: tuple[str, ...]  # "Exchange Online marked this spam (SCL 5, SFV:SPM)", ...
    fields: tuple[tuple[str, str], ...] = ()  # the values read: ("SCL", "5"), ("SFV", "SPM"), ...
    sending_tenant: str = ""  # the sender's tenant (domain or tenant id) from cross-tenant headers
    spam: bool | None = None  # Exchange's spam decision: True spam/phish, False clean, None unknown


@record
class AuthReport:
    recomputed: tuple[CheckResult, ...] = ()
    recorded: tuple[RecordedResult, ...] = ()
    arc: ArcReport | None = None
    disagreements: tuple[Disagreement, ...] = ()
    envelope: Envelope | None = None
    recomputed_ran: bool = False  # False: verdict rests on recorded results only
    evaluated_at: float | None = None  # Unix time signatures were judged at (t=, x=)
    clock: str = ""  # where evaluated_at came from: "live", "snapshot", "--at"
    exchange: ExchangeVerdict | None = None  # Exchange Online's own verdict, when trusted

    def recomputed_of(self, method: str) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.recomputed if r.method == method)

    def trusted_of(self, method: str) -> tuple[CheckResult, ...]:
        return tuple(r.check for r in self.recorded if r.trusted and r.check.method == method)

    def credible_of(self, method: str) -> tuple[RecordedResult, ...]:
        """Trusted records no conclusive recomputation contradicts: the only recorded evidence
        a verdict may rest on."""
        return tuple(r for r in self.recorded
                     if r.trusted and not r.contradicted and r.check.method == method)


@record
class Signal:
    kind: str  # phone, money, brand, link, wallet, urgency, confusable, ...
    value: str  # what was found, as normalised text
    where: str  # "slot:<name>", "subject", "off-template", "body"


@record
class SlotValue:
    name: str
    type: str
    value: str
    valid: bool  # fits its type
    problems: tuple[str, ...] = ()  # why it does not fit, or why it is hostile
    signals: tuple[Signal, ...] = ()
    user_controlled: bool = True  # a customer can type anything here (tenant, team name, ...)

    @property
    def hostile(self) -> bool:
        return not self.valid or bool(self.signals)


@record
class TemplateMatch:
    """How a message from a catalogued sender compares with that sender's templates."""

    sender: str  # catalog sender id
    template_id: str | None  # closest template, None when no template came close
    matched: bool  # every fixed phrase found in order (on template)
    score: float  # 0..1, share of the template's fixed text found in order
    slots: tuple[SlotValue, ...] = ()
    off_template: tuple[str, ...] = ()  # text outside the template, normalised
    signals: tuple[Signal, ...] = ()
    source: str = ""  # where the template's facts come from
    # The template as this message filled it: subject, an empty line, then the body lines, as
    # (slot name, text) pieces; the name is "" for the template's own fixed text (which holds
    # the spaces and line breaks between pieces).
    filled: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()  # fixed phrases of the closest template not found

    @property
    def hostile(self) -> bool:
        return any(s.hostile for s in self.slots) or bool(self.signals)


@record
class Finding:
    code: str  # stable, kebab-case: "dkim-l-tag", "body-changed", "limit-headers", ...
    severity: Severity
    message: str
    evidence: str = ""


@record
class ErrorInfo:
    code: str
    message: str


@record
class AuditResult:
    ref: MessageRef
    verdict: Verdict
    reason: str  # the verdict's reason in one line
    message_id: str | None = None
    date: str | None = None
    from_: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    subject: str | None = None
    auth: AuthReport = field(default_factory=AuthReport)
    template: TemplateMatch | None = None
    findings: tuple[Finding, ...] = ()
    error: ErrorInfo | None = None
    parent: MessageRef | None = None
    seconds: float = 0.0
