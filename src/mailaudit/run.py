"""The run driver: sources -> audit -> the ``encode`` it is given -> the writer it is given.

It owns the pool, resume skipping, the per-message time budget, the counts and the exit code,
and knows nothing about output formats: the command line hands it ``encode`` (one result to
what the writer writes; it runs in the worker, because sending a finished string between
processes costs a fraction of pickling nested results) and a ``Sink``.

* The engine seam: an ``Engine`` takes work items and yields, per item and in input order,
  the encoded group (the message and its attachments). ``inline_engine`` audits in this
  process, ``pool_engine`` in a process pool; another engine only has to keep that contract.
* Bounded memory: at most ``jobs * 4`` chunks are in flight; sources are read lazily.
* A large mbox reaches a pool's workers as byte ranges (``sources.iter_units``) that each
  worker reads and splits itself, so this process reads a few KiB around each split point
  instead of handing every message's bytes through a pipe.
* A worker that dies (segfault, OOM kill) breaks the pool: the pool is rebuilt and the
  in-flight chunks are retried one message at a time, so only the message that kills a worker
  again gets an error record. Workers die with the parent (PR_SET_PDEATHSIG on Linux).
* Each message has a wall-time budget (``Limits.max_seconds``), enforced with SIGALRM in the
  process that audits it.
* Stopping: Ctrl-C (130) and SIGTERM (143) end the run between two groups; work not yet
  handed to a worker is cancelled, the workers finish what they hold and exit, and the sink is
  closed, so the output so far is complete and valid. A reader that goes away (``| head -1``) ends the
  run quietly with 141, like git.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mailaudit.audit import AuditTimeout, audit_item, error_result
from mailaudit.dns import DnsConfig
from mailaudit.model import AuditResult, ExitCode, RawMessage, SourceError, Verdict
from mailaudit.options import AuditOptions, Limits, has_time_budget
from mailaudit.records import record
from mailaudit.resume import resume_key
from mailaudit.sources import MboxRange

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mailaudit.dns.base import Resolver
    from mailaudit.templates.catalog import Catalog

Item = RawMessage | SourceError
# What an engine is fed: messages read here, or byte ranges of an mbox for a worker to read
# itself (``sources.iter_units``).
Unit = Item | MboxRange
# (verdict, payload): the verdict for counting and exit codes, the payload for the sink.
Encoded = tuple[Verdict, Any]
# One result to what the sink writes. Runs in the workers, so it must pickle: a module-level
# function (or a functools.partial of one).
Encode = Callable[[AuditResult], Any]
Engine = Callable[[Iterable[Unit]], Iterator[list[Encoded]]]

CHUNK_MESSAGES = 64
CHUNK_BYTES = 4 * 1024 * 1024
# The size of the mbox byte ranges a pool's workers read themselves (``sources.iter_units``),
# large enough that the few KiB read around each split point stay a rounding error; the last
# ones are smaller, so that no core waits long at the end (``sources.mbox.split_points``).
RANGE_BYTES = 2 * 1024 * 1024


class Sink(Protocol):
    """Where encoded groups go (the report writers)."""

    def write_group(self, group: Sequence[Encoded]) -> None: ...

    def close(self, *, seconds: float = 0.0, flagged: frozenset[Verdict] = frozenset()) -> None: ...


@record
class RunConfig:
    """Everything a worker needs to build its own resolver and catalog (it must pickle)."""

    options: AuditOptions = field(default_factory=AuditOptions)
    dns: DnsConfig = field(default_factory=DnsConfig)
    templates: tuple[str, ...] = ()
    use_catalog: bool = True

    def build(self) -> tuple[Resolver | None, Catalog | None]:
        resolver = self.dns.resolver() if self.options.recompute else None
        catalog = None
        if self.use_catalog:
            from mailaudit.templates.catalog import load_catalog

            catalog = load_catalog(self.templates)
        return resolver, catalog


_MIN_TICK = 0.01  # seconds between watchdog ticks at the least


class Watchdog:
    """The per-message time budget (``Limits.max_seconds``) in this (main) thread, from one
    periodic SIGALRM timer: each ``tick`` it raises AuditTimeout if the message being audited
    (``started``) has had ``seconds``, and again every tick after that, because a bare
    ``except:`` (pyspf has two) can swallow one alarm and one swallowed alarm must not mean no
    budget at all.

    A run keeps one watchdog for all its messages: arming a timer around each message took
    four system calls (the handler in, the timer on, the timer off, the handler back) and cost
    26-42 us a message in all, measured, more than the calls themselves, as each system call
    also leaves the caches colder. A budget ends at most one tick late (a quarter of it, at
    most 0.5 s and at least 10 ms). Off the main thread, or without ``setitimer``, it stays
    inactive: Dask's worker threads use ``engines.dask.thread_time_budget`` instead."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.active = False
        self._previous: Any = None

    def __enter__(self) -> Watchdog:
        if not has_time_budget(self.seconds) or not hasattr(signal, "setitimer"):
            return self
        try:
            self._previous = signal.signal(signal.SIGALRM, self._tick)
        except ValueError:  # not the main thread
            return self
        # The timer ticks between messages too, while sources are read, some by C libraries
        # (libpff): their reads restart instead of failing with EINTR. Waits in select/poll
        # (live DNS) are still interrupted, so a budget also ends a message waiting on DNS.
        signal.siginterrupt(signal.SIGALRM, False)
        # Never under _MIN_TICK: a 1 us budget ticked every 250 ns, a signal storm in which
        # the process spent all its time in the kernel and audited nothing.
        tick = max(_MIN_TICK, min(0.5, self.seconds / 4))
        signal.setitimer(signal.ITIMER_REAL, tick, tick)
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)

    def _tick(self, signum: int, frame: object) -> None:
        started = self.started
        if started is not None and time.monotonic() - started >= self.seconds:
            raise AuditTimeout()


class Auditor:
    """Audits items with one resolver and catalog (one per process). Built from the config,
    or handed ones already built (the parent's, shared with forked workers). ``watchdog``:
    the run's, when one is active; else each message gets a watchdog of its own."""

    def __init__(self, config: RunConfig, *,
                 built: tuple[Resolver | None, Catalog | None] | None = None) -> None:
        self.config = config
        self.resolver, self.catalog = built if built is not None else config.build()
        self.watchdog: Watchdog | None = None

    def audit(self, item: Item) -> list[AuditResult]:
        watchdog = self.watchdog
        try:
            if watchdog is not None and watchdog.active:
                return self._timed(item, watchdog)
            # Outside a run (one message from the command line, a library caller): a watchdog
            # for this message only.
            # (An inactive one, off the main thread or without setitimer, never ticks.)
            with Watchdog(self.config.options.limits.max_seconds) as own:
                return self._timed(item, own)
        except AuditTimeout:
            # The alarm fired outside audit_message's own handler (e.g. in an attachment).
            return [error_result(item.ref, "time-budget",
                                 f"audit stopped after {self.config.options.limits.max_seconds:g} s "
                                 "(limit max_seconds)")]

    def _timed(self, item: Item, watchdog: Watchdog) -> list[AuditResult]:
        watchdog.started = time.monotonic()
        try:
            return self._audit(item)
        finally:
            watchdog.started = None

    def _audit(self, item: Item) -> list[AuditResult]:
        return audit_item(item, resolver=self.resolver, catalog=self.catalog,
                          options=self.config.options)

    def encoded(self, item: Item, encode: Encode) -> list[Encoded]:
        return [(r.verdict, encode(r)) for r in self.audit(item)]


def unit_items(unit: Unit, *, limits: Limits, skip: frozenset[str]) -> Iterator[Item]:
    """The messages of a unit, less those whose key is in ``skip`` (``--resume``: the messages
    of a byte range are only known to the process that reads it)."""
    if not isinstance(unit, MboxRange):
        yield unit
        return
    for item in unit.items(limits=limits):
        if not skip or resume_key(item.ref) not in skip:
            yield item


# --- engines -----------------------------------------------------------------------------------

def inline_engine(auditor: Auditor, encode: Encode, *,
                  skip: frozenset[str] = frozenset()) -> Engine:
    def run(units: Iterable[Unit]) -> Iterator[list[Encoded]]:
        limits = auditor.config.options.limits
        with Watchdog(limits.max_seconds) as watchdog:
            auditor.watchdog = watchdog
            try:
                for unit in units:
                    for item in unit_items(unit, limits=limits, skip=skip):
                        yield auditor.encoded(item, encode)
            finally:
                auditor.watchdog = None
    return run


_WORKER: tuple[Auditor, Encode, frozenset[str]] | None = None
# Set in the parent just before a fork-started pool is created: forked workers inherit the
# resolver and catalog already loaded (a large snapshot is then in memory once, shared
# copy-on-write, instead of once per worker). Spawn-started workers build their own.
_SHARED: tuple[Resolver | None, Catalog | None] | None = None


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel sends SIGKILL to this worker when the parent dies (kill -9 included),
    so no worker is left running, re-parented to init."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _worker_init(config: RunConfig, encode: Encode, parent: int, skip: frozenset[str]) -> None:
    # Ctrl-C goes to the whole process group; the parent decides how to stop, workers must not
    # die half-way through a chunk and break the pool. SIGTERM: the parent's handler (inherited
    # through fork) is not for workers; the parent terminates them when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    global _WORKER
    auditor = Auditor(config, built=_SHARED)
    # For the worker's whole life: it audits nothing else, and exits with the pool.
    auditor.watchdog = Watchdog(config.options.limits.max_seconds).__enter__()
    _WORKER = (auditor, encode, skip)


def _worker_run(chunk: list[Unit]) -> list[list[Encoded]]:
    assert _WORKER is not None
    auditor, encode, skip = _WORKER
    limits = auditor.config.options.limits
    return [auditor.encoded(item, encode)
            for unit in chunk for item in unit_items(unit, limits=limits, skip=skip)]


def _chunks(items: Iterable[Unit]) -> Iterator[list[Unit]]:
    """Messages in chunks of at most CHUNK_MESSAGES or CHUNK_BYTES; a byte range alone."""
    chunk: list[Unit] = []
    size = 0
    for item in items:
        if isinstance(item, MboxRange):
            if chunk:
                yield chunk
                chunk, size = [], 0
            yield [item]
            continue
        chunk.append(item)
        size += len(item.data) if isinstance(item, RawMessage) else 0
        if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def preload(config: RunConfig) -> None:
    """Load in this process what every worker would otherwise load for its first message:
    the checks, pyspf, OpenSSL's RSA and the Public Suffix List (measured: about 0.1 s of CPU
    per worker). A forked worker then starts with them, shared copy-on-write, instead of each
    worker paying for them again."""
    from mailaudit.checks import authenticate  # noqa: F401
    from mailaudit.checks.recorded import trust  # noqa: F401
    from mailaudit.parse.domains import psl

    psl()
    if config.options.recompute:
        from mailaudit.checks.arc import check as arc_check  # noqa: F401
        from mailaudit.checks.dkim import check as dkim_check  # noqa: F401
        from mailaudit.checks.dkim.fast import ARITHMETIC
        from mailaudit.checks.dmarc import check as dmarc_check  # noqa: F401
        from mailaudit.checks.recorded import compare, envelope  # noqa: F401
        from mailaudit.checks.spf.check import preload as preload_spf

        preload_spf()
        ARITHMETIC.load()  # a batch's workers verify RSA in OpenSSL from their first message
    if config.use_catalog:
        from mailaudit.templates import claims, matcher  # noqa: F401
    from mailaudit import verdict  # noqa: F401


class _Pool:
    """A ProcessPoolExecutor whose workers are always gone when it is closed."""

    def __init__(self, config: RunConfig, encode: Encode, jobs: int,
                 skip: frozenset[str] = frozenset()) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                            initializer=_worker_init,
                                            initargs=(config, encode, os.getpid(), skip))

    def submit(self, chunk: list[Unit]) -> Future[list[list[Encoded]]]:
        return self.executor.submit(_worker_run, chunk)

    def close(self, *, finished: bool) -> None:
        """Stop the pool and wait until every worker has exited. ``finished`` False (stopped,
        broken): work not yet handed to a worker is cancelled; a worker finishes the chunk it
        holds (at most two chunks each, every message within its time budget). Workers are
        not killed: one killed while sending its result leaves the executor reading a cut
        message forever (CPython 3.11), which is a hang instead of an exit."""
        self.executor.shutdown(wait=True, cancel_futures=not finished)


def pool_engine(config: RunConfig, encode: Encode, *, jobs: int, ordered: bool = True,
                shared: tuple[Resolver | None, Catalog | None] | None = None,
                skip: frozenset[str] = frozenset()) -> Engine:
    """Audit in ``jobs`` worker processes. ``shared``: resolver and catalog built in this
    process, inherited by forked workers instead of being loaded again in each. ``skip``:
    keys the workers leave out of the byte ranges they read (``--resume``)."""

    def run(items: Iterable[Unit]) -> Iterator[list[Encoded]]:
        global _SHARED
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        max_in_flight = jobs * 4
        source = _chunks(items)
        pending: deque[tuple[Future[list[list[Encoded]]], list[Unit]]] = deque()
        _SHARED = shared
        if os.name == "posix":  # forked workers inherit what is loaded here
            preload(config)
        pool = _Pool(config, encode, jobs, skip)
        finished = False
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < max_in_flight:
                    chunk = next(source, None)
                    if chunk is None:
                        exhausted = True
                        break
                    pending.append((pool.submit(chunk), chunk))
                if not pending:
                    finished = True
                    return
                if ordered:
                    fut, chunk = pending[0]
                    wait([fut])
                    done = [pending.popleft()]
                else:
                    ready, _ = wait([f for f, _ in pending], return_when=FIRST_COMPLETED)
                    done = [p for p in pending if p[0] in ready]
                    for p in done:
                        pending.remove(p)
                for fut, chunk in done:
                    try:
                        groups = fut.result()
                    except BrokenProcessPool:
                        retry = [chunk] + [c for _, c in pending]
                        pending.clear()
                        pool.close(finished=False)
                        for c in retry:
                            yield from _retry_one_by_one(c, config, encode, skip)
                        pool = _Pool(config, encode, jobs, skip)
                        break
                    yield from groups
        finally:
            pool.close(finished=finished)
            _SHARED = None

    return run


def _retry_one_by_one(chunk: list[Unit], config: RunConfig, encode: Encode,
                      skip: frozenset[str]) -> Iterator[list[Encoded]]:
    """After a worker died: each message alone in a fresh single worker, to find the culprit
    (the messages of a byte range are read here for that)."""
    from concurrent.futures.process import BrokenProcessPool

    limits = config.options.limits
    pool = _Pool(config, encode, 1)
    finished = False
    try:
        for item in (it for unit in chunk for it in unit_items(unit, limits=limits, skip=skip)):
            try:
                yield pool.submit([item]).result()[0]
            except BrokenProcessPool:
                crashed = error_result(
                    item.ref, "worker-crashed", "the process auditing this message died (crash "
                    "or out of memory); the batch went on without it")
                yield [(crashed.verdict, encode(crashed))]
                pool.close(finished=False)
                pool = _Pool(config, encode, 1)
        finished = True
    finally:
        pool.close(finished=finished)


# --- the run -----------------------------------------------------------------------------------

class Terminated(BaseException):
    """SIGTERM arrived; raised in the main thread between two statements, like Ctrl-C."""


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    def on_term(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def default_jobs(large: bool) -> int:
    """Cores for large inputs, 1 otherwise (a pool costs more than it saves)."""
    if not large:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class RunOutcome:
    """How a run ended. ``counts`` holds every record of the report, including those an
    earlier run wrote when resuming (the exit code covers the whole report)."""

    exit_code: ExitCode
    total: int = 0  # records written by this run
    counts: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # messages already in the resumed report
    stopped: ExitCode | None = None  # INTERRUPTED, TERMINATED or BROKEN_PIPE


def run(items: Iterable[Unit], *, engine: Engine, sink: Sink, flagged: frozenset[str],
        skip: set[str] | None = None, key: Callable[[Item], str] | None = None,
        previous: Counter[str] | None = None,
        on_group: Callable[[list[Encoded]], None] | None = None) -> RunOutcome:
    """Feed ``items`` (less those whose ``key`` is in ``skip``) through ``engine`` to ``sink``
    and decide the exit code: INPUT when every record is an error, FLAGGED when any verdict is
    in ``flagged``, else OK; or how the run was stopped."""
    if skip:
        assert key is not None
        # Byte ranges pass: the engine leaves out the keys of their messages as it reads them.
        items = (it for it in items if isinstance(it, MboxRange) or key(it) not in skip)
    counts: Counter[str] = Counter(previous or {})
    started = time.monotonic()
    total = 0
    stopped: ExitCode | None = None
    try:
        with _sigterm_stops():
            groups = engine(items)
            try:
                for group in groups:
                    sink.write_group(group)
                    for verdict, _ in group:
                        total += 1
                        counts[verdict.value] += 1
                    if on_group is not None:
                        on_group(group)
            except KeyboardInterrupt:
                stopped = ExitCode.INTERRUPTED
            except Terminated:
                stopped = ExitCode.TERMINATED
            finally:
                # Stops the engine now (a pool's workers are terminated), not whenever the
                # generator happens to be collected.
                close = getattr(groups, "close", None)
                if close is not None:
                    close()
                # Closed in every case: the output so far stays complete and valid.
                try:
                    sink.close(seconds=time.monotonic() - started,
                               flagged=frozenset(Verdict(v) for v in flagged))
                except BrokenPipeError:
                    stopped = ExitCode.BROKEN_PIPE
    except BrokenPipeError:
        stopped = ExitCode.BROKEN_PIPE
    if stopped is ExitCode.BROKEN_PIPE:
        _quiet_stdout()
    skipped = len(skip or ())
    outcome = RunOutcome(ExitCode.OK, total=total, counts=counts, skipped=skipped, stopped=stopped)
    if stopped is not None:
        outcome.exit_code = stopped
    elif counts and counts.get(Verdict.ERROR.value, 0) == sum(counts.values()):
        outcome.exit_code = ExitCode.INPUT
    elif any(counts.get(v, 0) for v in flagged):
        outcome.exit_code = ExitCode.FLAGGED
    return outcome


def _quiet_stdout() -> None:
    """The reader of standard output is gone: point it at /dev/null, so that the flush at
    interpreter exit does not print "Exception ignored ... BrokenPipeError" (the recipe of the
    Python documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
