"""Options and limits for one audit. Plain frozen data, passed explicitly to every stage."""

from __future__ import annotations

from dataclasses import field

from mailaudit.records import record


@record
class Limits:
    """Resource limits. Hitting one is a finding on that message ("truncated at ..."), never a crash.

    The defaults are sized for real mail (the largest legitimate messages are tens of MB) while
    keeping one hostile message from taking the batch down.
    """

    max_message_bytes: int = 50 * 1024 * 1024
    max_headers: int = 2_000
    max_header_bytes: int = 256 * 1024  # one (unfolded) header field
    max_mime_depth: int = 50
    max_mime_parts: int = 2_000
    max_decoded_body_bytes: int = 20 * 1024 * 1024
    max_dns_lookups: int = 60  # per message, across SPF, DKIM, DMARC, ARC
    max_signatures: int = 20  # DKIM signatures verified per message (RFC 6376 §6.1 allows a cap)
    max_seconds: float = 30.0  # per message wall time (enforced by the batch driver)
    max_snapshot_bytes: int = 256 * 1024 * 1024  # a --dns-snapshot file (loaded once per run)


def has_time_budget(seconds: float) -> bool:
    """``max_seconds`` is a budget when positive and finite; 0, inf or NaN means none."""
    return 0 < seconds < float("inf")


@record
class AuditOptions:
    """What one audit may do. ``recompute`` False: recorded results only (no DNS needed)."""

    recompute: bool = True
    trust_authserv_ids: tuple[str, ...] = ()
    ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None
    # The one evaluation time (Unix seconds) for t=/x= in DKIM and ARC: set by --at. None:
    # a snapshot's captured_at when replaying one, else the clock (live DNS).
    now: float | None = None
    limits: Limits = field(default_factory=Limits)
    expand_attachments: bool = True  # audit attached message/rfc822 parts as their own records
    # False for a message found inside another (a forwarded message/rfc822 part): anything
    # recorded in it was written before the forward, by hosts that are not our receiver.
    trust_recorded: bool = True
