"""The batch driver: stream items through ``audit_item`` in this process or a process pool.

* Bounded memory: at most ``jobs * 4`` chunks are in flight; sources are read lazily.
* Output order is input order unless ``ordered=False``.
* A worker that dies (segfault, OOM kill) breaks the pool: the pool is rebuilt and the
  in-flight chunks are retried one message at a time, so only the message that kills a worker
  again gets an error record.
* Each message has a wall-time budget (``Limits.max_seconds``), enforced with SIGALRM in the
  process that audits it.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailaudit.audit import AuditTimeout, audit_item, error_result
from mailaudit.model import AuditResult, RawMessage, SourceError
from mailaudit.options import AuditOptions
from mailaudit.report import OutputFormat, Prepared, prepare

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mailaudit.dns.base import Resolver
    from mailaudit.templates.matcher import Catalog

Item = RawMessage | SourceError

CHUNK_MESSAGES = 64
CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """Everything a worker needs to build its own resolver and catalog (it must pickle)."""

    options: AuditOptions = field(default_factory=AuditOptions)
    dns_snapshot: str | None = None
    offline: bool = False
    dns_mode: str = "live"  # "live" or "offline"; a snapshot means replay either way
    nameservers: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    use_catalog: bool = True
    output: str = "human"  # the report format: workers prepare its payloads (report.prepare)

    def build(self) -> tuple[Resolver | None, Catalog | None]:
        resolver: Resolver | None = None
        if self.options.recompute:
            from mailaudit.dns import make_resolver

            resolver = make_resolver(mode=self.dns_mode, snapshot=self.dns_snapshot, record=None,
                                     offline=self.offline, nameservers=self.nameservers or None)
        catalog = None
        if self.use_catalog:
            from mailaudit.templates.matcher import load_catalog

            catalog = load_catalog(self.templates)
        return resolver, catalog


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise AuditTimeout in this (main) thread after ``seconds``. No-op off the main thread."""
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise AuditTimeout()

    try:
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main thread
        yield
        return
    # Re-fire every half second until the audit returns: a bare ``except:`` (pyspf has two)
    # can still swallow one alarm, and one swallowed alarm must not mean no budget at all.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Auditor:
    """Audits items with one resolver and catalog (one per process)."""

    def __init__(self, config: AuditConfig,
                 record_hook: Callable[[Resolver], Resolver] | None = None) -> None:
        self.config = config
        self.fmt = OutputFormat(config.output)
        resolver, self.catalog = config.build()
        self.resolver = record_hook(resolver) if (record_hook and resolver) else resolver

    def audit_prepared(self, item: Item) -> list[Prepared]:
        """Audit and turn the results into what the report format writes."""
        return prepare(self.fmt, self.audit(item))

    def audit(self, item: Item) -> list[AuditResult]:
        try:
            with time_budget(self.config.options.limits.max_seconds):
                return audit_item(item, resolver=self.resolver, catalog=self.catalog,
                                  options=self.config.options)
        except AuditTimeout:
            # The alarm fired outside audit_message's own handler (e.g. in an attachment).
            return [error_result(item.ref, "time-budget",
                                 f"audit stopped after {self.config.options.limits.max_seconds:g} s "
                                 "(limit max_seconds)")]


_WORKER: Auditor | None = None


def _worker_init(config: AuditConfig) -> None:
    # Ctrl-C goes to the whole process group; the parent decides how to stop, workers must not
    # die half-way through a chunk and break the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _WORKER
    _WORKER = Auditor(config)


def _worker_run(chunk: list[Item]) -> list[list[Prepared]]:
    assert _WORKER is not None
    return [_WORKER.audit_prepared(item) for item in chunk]


def _chunks(items: Iterable[Item]) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item.data) if isinstance(item, RawMessage) else 0
        if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def run_inline(items: Iterable[Item], auditor: Auditor) -> Iterator[list[Prepared]]:
    for item in items:
        yield auditor.audit_prepared(item)


def run_pool(items: Iterable[Item], config: AuditConfig, *, jobs: int,
             ordered: bool = True) -> Iterator[list[Prepared]]:
    """Yield, per input item, its list of results (the message and its attachments)."""
    # Imported here: a single-file check never starts a pool and should not pay for it.
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    max_in_flight = jobs * 4
    source = _chunks(items)
    pending: deque[tuple[Future[Any], list[Item]]] = deque()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(config,))
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_in_flight:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append((pool.submit(_worker_run, chunk), chunk))
            if not pending:
                return
            if ordered:
                fut, chunk = pending[0]
                wait([fut])
                done = [pending.popleft()]
            else:
                finished, _ = wait([f for f, _ in pending], return_when=FIRST_COMPLETED)
                done = [p for p in pending if p[0] in finished]
                for p in done:
                    pending.remove(p)
            for fut, chunk in done:
                try:
                    groups = fut.result()
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    retry = [chunk] + [c for _, c in pending]
                    pending.clear()
                    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                               initializer=_worker_init, initargs=(config,))
                    for c in retry:
                        yield from _retry_one_by_one(c, config, ctx)
                    break
                yield from groups
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _retry_one_by_one(chunk: list[Item], config: AuditConfig,
                      ctx: Any) -> Iterator[list[Prepared]]:
    """After a worker died: each message alone in a fresh single worker, to find the culprit."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_worker_init,
                               initargs=(config,))
    try:
        for item in chunk:
            try:
                yield pool.submit(_worker_run, [item]).result()[0]
            except BrokenProcessPool:
                yield prepare(OutputFormat(config.output), [error_result(
                    item.ref, "worker-crashed", "the process auditing this message died (crash "
                    "or out of memory); the batch went on without it")])
                pool.shutdown(wait=False, cancel_futures=True)
                pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                           initializer=_worker_init, initargs=(config,))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def default_jobs(paths: list[str]) -> int:
    """Cores for large inputs, 1 for a single small file (a pool costs more than it saves)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    total = 0
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        if not os.path.isfile(p):
            return cores  # a directory or Maildir: assume many messages
        total += st.st_size
    return cores if total > 2 * 1024 * 1024 else 1


class Rate:
    """Messages per second over the run, for the progress bar and the summary."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.count = 0

    def add(self, n: int = 1) -> None:
        self.count += n

    @property
    def per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.count / elapsed if elapsed > 0 else 0.0
