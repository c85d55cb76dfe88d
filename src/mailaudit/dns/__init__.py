"""DNS for the checks: live (dnspython), recording, snapshot replay, offline.

``DnsConfig`` is the one description of where answers come from, and ``make_resolver`` the one
place it becomes a resolver. There is one way to say "offline": ``offline=True``. A snapshot
always replays and never opens a socket, offline or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailaudit.dns.base import Resolver
from mailaudit.records import record

__all__ = ["DnsConfig", "make_resolver"]

DEFAULT_MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024


@record
class DnsConfig:
    """Where DNS answers come from (plain data: it is handed to worker processes)."""

    snapshot: str | None = None  # replay this snapshot file
    offline: bool = False  # never open a socket; without a snapshot, every name is not captured
    nameservers: tuple[str, ...] = ()  # live: ask these instead of the system's servers
    record: bool = False  # live, and remember every answer (RecordingResolver)
    max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES

    @property
    def live(self) -> bool:
        return self.snapshot is None and not self.offline

    def resolver(self) -> Resolver:
        return make_resolver(snapshot=self.snapshot, offline=self.offline,
                             nameservers=self.nameservers, record=self.record,
                             max_snapshot_bytes=self.max_snapshot_bytes)


def make_resolver(*, snapshot: str | None = None, offline: bool = False,
                  nameservers: Sequence[str] | None = None, record: bool = False,
                  max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES) -> Resolver:
    """Replay when a snapshot is given; offline never opens a socket; else live DNS (with a
    cache for the batch). ``record`` wraps live DNS in a ``RecordingResolver``; the caller
    saves it when the run ends."""
    from mailaudit.errors import MailauditError
    from mailaudit.model import ExitCode

    resolver: Resolver
    if record and (snapshot or offline):
        raise MailauditError("recording DNS needs live DNS; leave out --offline and "
                             "--dns-snapshot.", exit_code=ExitCode.USAGE)
    if snapshot:
        from mailaudit.dns.snapshot import SnapshotResolver

        resolver = SnapshotResolver.from_file(snapshot, max_bytes=max_snapshot_bytes)
    elif offline:
        from mailaudit.dns.offline import OfflineResolver

        resolver = OfflineResolver()
    else:
        from mailaudit.dns.cache import CachingResolver
        from mailaudit.dns.live import LiveResolver

        resolver = CachingResolver(LiveResolver(nameservers=nameservers or None))
    if record:
        from mailaudit.dns.record import RecordingResolver

        resolver = RecordingResolver(resolver)
    return resolver
