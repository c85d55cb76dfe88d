"""DNS for the checks: live (dnspython), recording, snapshot replay, offline.

``make_resolver`` is the one place the command line turns its DNS options into a resolver.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailaudit.dns.base import Resolver

__all__ = ["make_resolver"]


def make_resolver(*, mode: str = "live", snapshot: str | None = None, record: str | None = None,
                  offline: bool = False, nameservers: Sequence[str] | None = None) -> Resolver:
    """Replay when a snapshot is given; offline never opens a socket; else live DNS.

    ``record`` wraps the resolver in a ``RecordingResolver``; the caller saves it to that path
    when the run ends. ``mode`` is ``"live"`` or ``"offline"`` (the same as ``offline=True``).
    """
    from mailaudit.errors import MailauditError
    from mailaudit.model import ExitCode

    if mode not in ("live", "offline", "replay"):
        raise MailauditError(f"unknown DNS mode {mode!r}; use live or offline.",
                             exit_code=ExitCode.USAGE)
    offline = offline or mode == "offline"
    resolver: Resolver
    if snapshot:
        from mailaudit.dns.snapshot import SnapshotResolver

        resolver = SnapshotResolver.from_file(snapshot)
    elif offline or mode == "replay":
        from mailaudit.dns.budget import OfflineResolver

        resolver = OfflineResolver()
    else:
        from mailaudit.dns.budget import CachingResolver
        from mailaudit.dns.live import LiveResolver

        resolver = CachingResolver(LiveResolver(nameservers=nameservers or None))
    if record:
        if snapshot or offline:
            raise MailauditError("recording DNS needs live DNS; leave out --offline and "
                                 "--dns-snapshot.", exit_code=ExitCode.USAGE)
        from mailaudit.dns.record import RecordingResolver

        resolver = RecordingResolver(resolver)
    return resolver
