"""The Dask engine: the audit of the process pool, as tasks on a Dask cluster (the ``dask`` extra).

Work is sharded, not streamed through the client. The client plans shards from the paths
alone (a stat, a directory listing, a few KiB around each split point of a large mbox); a
shard names a file, a Maildir folder or a byte range of an mbox that starts at a From_ line,
and the worker that runs it opens the input by path (every worker must see the inputs at the
same path: a shared file system). Workers send back payloads made by the encode function the
command line hands in (this module knows no output format); the client
writes them, in input order unless ``ordered=False``.

* Same records as ``--jobs``: a shard reads its input with the same source readers, so refs,
  bytes and verdicts are those of a local run (a range of an mbox gives the same messages,
  with the same absolute offsets, as reading the whole file).
* A worker that dies loses no message: the scheduler runs its shard again on another worker
  (``distributed.scheduler.allowed-failures``, 1 on the cluster we start). A shard that kills
  a worker twice is then run one message per task, so only the message that kills workers
  twice more becomes an error record (``worker-crashed``); the others are audited.
* ``--resume``: keys already written are sent to the shards of their file and skipped there.
* A scheduler that does not answer within ``CONNECT_TIMEOUT`` seconds is an ``EngineError``
  (exit code 4: a service the run needs is unusable), not a hang; so is a scheduler lost in
  the middle of the run (the client cancels every task when the connection drops, and stops
  reconnecting after ``CONNECT_TIMEOUT``): the records written before are whole, and none is
  written for the shards left undone, so ``--resume`` finishes the run.
* A path a worker cannot open is an error record per shard naming the path and the worker.
* Each message's time budget (``Limits.max_seconds``) holds on workers too: tasks run off the
  main thread, where SIGALRM cannot be used, so a timer raises ``AuditTimeout`` in the task's
  thread instead (``thread_time_budget``).
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailaudit.audit import AuditTimeout, error_result
from mailaudit.errors import MailauditError, exception_text
from mailaudit.model import AuditResult, ExitCode, MessageRef, RawMessage, SourceError
from mailaudit.options import has_time_budget
from mailaudit.records import record
from mailaudit.resume import resume_key

if TYPE_CHECKING:
    from mailaudit.run import Auditor, Encode, Encoded, RunConfig

Item = RawMessage | SourceError

EXTRA_HINT = "pip install 'mailaudit[dask]'"
CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before saying there is none
SHARD_BYTES = 32 * 1024 * 1024  # mboxes larger than this are split into byte ranges
_IN_FLIGHT_PER_THREAD = 4
_POLL = 1.0  # seconds between looks at the client while waiting for a task
_RETRIES = 10  # fetches of one result that fail by the connection before the failure counts


def _encoded(encode: Encode, results: Sequence[AuditResult]) -> list[Encoded]:
    """One group of records as the writer takes them: (verdict, payload) per result."""
    return [(r.verdict, encode(r)) for r in results]


class EngineError(MailauditError):
    """The engine cannot run: the extra is missing or the scheduler cannot be reached."""

    exit_code = ExitCode.DNS  # 4: a service the run needs is unusable


@record
class Shard:
    """One task: what a worker opens and reads, and where its records go in the output.

    ``kind``: ``file`` (a path named on the command line, or a file found in a directory
    when ``member``), ``maildir`` (a Maildir folder's own messages), ``range`` (the mbox bytes
    [start, end) of ``path``; ``end`` None means to the end of the file).
    """

    index: int
    path: str
    kind: str = "file"
    member: bool = False
    start: int = 0
    end: int | None = None
    only: int | None = None  # after a worker crash: audit just this item of the shard
    skip: frozenset[str] = frozenset()  # --resume: keys already in the report

    def ref(self) -> MessageRef:
        return MessageRef(self.path, f"mbox:offset={self.start}" if self.kind == "range" else "")


@record
class ShardResult:
    groups: list[list[Encoded]]
    keys: list[str] = field(default_factory=list)  # the keys of the items read (listing only)
    skipped: dict[tuple[str, str], int] = field(default_factory=dict)  # PST non-mail items


@dataclass(slots=True)
class _Input:
    """Bookkeeping for one command-line path, to say "no mail" for an empty directory."""

    path: str
    is_dir: bool
    shards_left: int = 0
    records: int = 0


def require_dask() -> None:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise EngineError(f"--engine dask needs the optional extra: {EXTRA_HINT}") from None


# --- planning (client side, cheap) ------------------------------------------------------------

def plan(paths: Sequence[str], *, shard_bytes: int = SHARD_BYTES,
         skip: frozenset[str] | set[str] = frozenset()) -> tuple[list[Shard | SourceError], list[int]]:
    """Shards (and the errors planning found) in input order, and for each one the index of
    the command-line path it came from."""
    from mailaudit.sources import stdin as stdin_source

    out: list[Shard | SourceError] = []
    owners: list[int] = []
    by_path: dict[str, set[str]] = {}
    for key in skip:
        by_path.setdefault(key.split("\x00", 1)[0], set()).add(key)

    def add(unit: Shard | SourceError, owner: int) -> None:
        if isinstance(unit, Shard):
            keys = by_path.get(unit.path, set())
            if unit.kind == "range":
                keys = {k for k in keys if _in_range(k, unit.start, unit.end)}
            unit = Shard(len(out), unit.path, unit.kind, unit.member, unit.start, unit.end,
                         skip=frozenset(keys))
        out.append(unit)
        owners.append(owner)

    for owner, path in enumerate(paths):
        if stdin_source.detect(path):
            add(_plan_error(path, "not-shardable", "standard input cannot be handed to Dask "
                            "workers; save it to a file they can read"), owner)
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError:
            add(Shard(0, path), owner)  # perhaps only the workers see it; they will say
            continue
        if stat.S_ISDIR(mode):
            for unit in _directory_units(path):
                add(unit, owner)
        elif stat.S_ISREG(mode):
            for unit in _file_units(path, shard_bytes):
                add(unit, owner)
        else:
            add(_plan_error(path, "not-shardable", "a pipe or device cannot be handed to Dask "
                            "workers; save its content to a file they can read"), owner)
    return out, owners


def _plan_error(path: str, code: str, message: str) -> SourceError:
    return SourceError(MessageRef(path), code, f"{path}: {message}")


def _in_range(key: str, start: int, end: int | None) -> bool:
    locator = key.split("\x00", 1)[1]
    first = locator.split(";", 1)[0]
    if not first.startswith("mbox:offset="):
        return start == 0
    try:
        offset = int(first[len("mbox:offset="):])
    except ValueError:
        return False
    return offset >= start and (end is None or offset < end)


def _file_units(path: str, shard_bytes: int) -> list[Shard]:
    from mailaudit.sources import mbox

    ranges = mbox.byte_ranges(path, shard_bytes)
    if ranges is None:
        return [Shard(0, path)]  # one message, a .msg, a PST, or a small mbox: one task
    return [Shard(0, path, "range", start=start, end=end) for start, end in ranges]


def _directory_units(root: str) -> Iterator[Shard | SourceError]:
    """The files and Maildir folders under ``root``, walked by ``sources.directory`` itself,
    so that the records come out as in a local run."""
    from mailaudit.sources.directory import walk_units

    for unit in walk_units(root):
        if isinstance(unit, SourceError):
            yield unit
        elif unit[0] == "maildir":
            yield Shard(0, unit[1], "maildir")
        else:
            yield Shard(0, unit[1], member=True)


# --- the task (worker side) -------------------------------------------------------------------

_AUDITORS: dict[bytes, Auditor] = {}
_AUDITORS_LOCK = threading.Lock()


def _auditor(config: RunConfig) -> Auditor:
    """One auditor (resolver, catalog) per worker process and configuration."""
    import pickle

    from mailaudit.run import Auditor

    key = pickle.dumps(config)
    with _AUDITORS_LOCK:
        auditor = _AUDITORS.get(key)
        if auditor is None:
            auditor = _AUDITORS[key] = Auditor(config)
        return auditor


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        import socket

        return socket.gethostname()


def _items(shard: Shard, config: RunConfig) -> Iterator[Item]:
    """The shard's messages, read as the local engine reads them: a reader that raises ends
    the shard with a read-failed record and keeps what was read before it."""
    from mailaudit.sources import MboxRange, guarded, iter_messages, maildir
    from mailaudit.sources.file import iter_file

    limits = config.options.limits
    if shard.kind == "range":
        return MboxRange(shard.path, shard.start, shard.end).items(limits=limits)
    if shard.kind == "maildir":
        return guarded(shard.path, maildir.iter_maildir(shard.path, limits=limits))
    if shard.member:
        return guarded(shard.path, iter_file(shard.path, limits=limits, member=True))
    return iter_messages([shard.path], limits=limits)


def _unseen(shard: Shard) -> SourceError | None:
    """The error record for a shard whose path this worker cannot see, else None."""
    if os.path.exists(shard.path):
        return None
    where = f" [{shard.ref().locator}]" if shard.ref().locator else ""
    return SourceError(shard.ref(), "not-on-worker",
                       f"{shard.path}{where}: not found on Dask worker {_worker_name()}; "
                       "workers open inputs by path: put them on a file system every worker "
                       "mounts at the same path")


def run_shard(shard: Shard, config: RunConfig, encode: Encode) -> ShardResult:
    """Read the shard's input and audit every item (the Dask task)."""
    from mailaudit.sources import pst

    missing = _unseen(shard)
    auditor = _auditor(config)
    if missing is not None:
        return ShardResult([_encoded(encode, auditor.audit(missing))])
    before = pst.skipped_counts()
    groups: list[list[Encoded]] = []
    seconds = config.options.limits.max_seconds
    for number, item in enumerate(_items(shard, config)):
        if shard.only is not None and number != shard.only:
            if number > shard.only:
                break
            continue
        if resume_key(item.ref) in shard.skip:
            continue
        group: list[Encoded] | None = None
        try:
            with thread_time_budget(seconds):
                group = _encoded(encode, auditor.audit(item))
        except AuditTimeout:  # the alarm landed outside the audit's own handlers
            if group is None:
                group = _encoded(encode, [error_result(
                    item.ref, "time-budget", f"audit stopped after {seconds:g} s (limit "
                    "max_seconds); the message is left unjudged")])
        groups.append(group)
    # Only this shard's file: other threads of the worker may be reading other PSTs.
    after = pst.skipped_counts()
    skipped = {k: n - before.get(k, 0) for k, n in after.items()
               if k[0] == shard.path and n > before.get(k, 0)}
    return ShardResult(groups, skipped=skipped if shard.only is None else {})


def list_shard(shard: Shard, config: RunConfig) -> ShardResult:
    """The keys of the shard's items, read without auditing (to retry it item by item)."""
    if _unseen(shard) is not None:
        return ShardResult([], keys=[])
    return ShardResult([], keys=[item.ref.key for item in _items(shard, config)])


@contextmanager
def thread_time_budget(seconds: float) -> Iterator[None]:
    """Raise AuditTimeout in the calling thread after ``seconds`` (and every half second
    after that, like ``run.Watchdog``: a bare ``except:`` may swallow one)."""
    if not has_time_budget(seconds):  # Event.wait(inf) raises OverflowError
        yield
        return
    import ctypes

    target = threading.get_ident()
    lock = threading.Lock()
    done = threading.Event()
    active = [True]

    def fire() -> None:
        # Event.wait raises OverflowError past threading.TIMEOUT_MAX (about 292 years).
        if done.wait(min(seconds, threading.TIMEOUT_MAX)):
            return
        while True:
            with lock:
                if not active[0]:
                    return
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target),
                                                           ctypes.py_object(AuditTimeout))
            if done.wait(0.5):
                return

    timer = threading.Thread(target=fire, name="mailaudit-time-budget", daemon=True)
    timer.start()
    try:
        yield
    finally:
        with lock:
            active[0] = False
            # An exception set but not yet raised must not fire after the budget ends.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)
        done.set()


# --- the client ---------------------------------------------------------------------------------

@contextmanager
def connect(scheduler: str | None, *, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler``, or to a LocalCluster sized to the machine
    (one single-threaded worker process per core, on 127.0.0.1)."""
    require_dask()
    import logging
    import warnings

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(f"no Dask scheduler at {scheduler} ({exception_text(exc)}); start one "
                              "with `dask scheduler` or check the address") from None
        # The client's side of Dask logs a lost connection, and each failed reconnection
        # with a traceback; a scheduler lost mid-run is said once instead, as an EngineError
        # (``run_dask``). Dask's logging configuration sets both loggers' levels.
        quiet = [logging.getLogger(name) for name in ("distributed", "distributed.client")]
        levels = [log.level for log in quiet]
        for log in quiet:
            log.setLevel(logging.CRITICAL)
        try:
            yield client
        finally:
            client.close()
            for log, level in zip(quiet, levels, strict=True):
                log.setLevel(level)
        return
    cores = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else (os.cpu_count() or 1))
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            warnings.catch_warnings():
        # The scheduler's HTTP routes (health, metrics) move to a free port when 8787 is
        # taken and say so on stderr; nothing here uses them.
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR)
        try:
            client = Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


def run_dask(paths: Sequence[str], config: RunConfig, *, client: Any, encode: Encode,
             ordered: bool = True,
             skip: frozenset[str] | set[str] = frozenset(),
             shard_bytes: int = SHARD_BYTES) -> Iterator[list[Encoded]]:
    """Yield, per input item, its list of results, like ``batch.run_pool``."""
    from mailaudit.sources import pst

    units, owners = plan(paths, shard_bytes=shard_bytes, skip=skip)
    inputs = [_Input(p, os.path.isdir(p)) for p in paths]
    for owner in owners:
        inputs[owner].shards_left += 1
    threads = sum(client.nthreads().values()) or 1
    max_in_flight = max(4, threads * _IN_FLIGHT_PER_THREAD)
    # The configuration goes with every task (about 250 bytes pickled), not scattered once: a
    # scattered value lives only on the workers that held it, and once they have all left
    # (killed, scaled down) every task still to run would be cancelled with it.

    def submit(unit: Shard | SourceError) -> Any:
        if isinstance(unit, Shard):
            return client.submit(run_shard, unit, config, encode, pure=False)
        return None

    def results(unit: Shard | SourceError, future: Any) -> Iterator[list[Encoded]]:
        if not isinstance(unit, Shard):
            if unit.ref.key not in skip:
                yield _encoded(encode, [error_result(unit.ref, unit.code, unit.message)])
            return
        result, failure = _result(client, future)
        if failure is not None:
            if _killed(failure):
                yield from _retry_items(client, unit, config, encode)
            else:  # the task itself failed: this shard is lost, the batch goes on
                yield _encoded(encode, [_task_failed(unit, failure)])
            return
        pst.add_skipped(result.skipped)
        yield from result.groups

    def finish(number: int, groups: Iterator[list[Encoded]]) -> Iterator[list[Encoded]]:
        entry = inputs[owners[number]]
        for group in groups:
            entry.records += 1
            yield group
        entry.shards_left -= 1
        if entry.shards_left == 0 and entry.records == 0 and entry.is_dir:
            from mailaudit.sources.directory import NO_MAIL
            from mailaudit.sources.sniff import source_error

            # Nothing under it was mail: the same "no-mail" record a local run gives.
            item = source_error(entry.path, "no-mail", NO_MAIL)
            if item.ref.key not in skip:
                yield _encoded(encode, [error_result(item.ref, item.code, item.message)])

    source = iter(enumerate(units))
    pending: deque[tuple[int, Shard | SourceError, Any]] = deque()  # ordered: in input order
    by_future: dict[Any, tuple[int, Shard | SourceError]] = {}  # unordered: as they finish
    exhausted = False
    try:
        if ordered:
            while True:
                while not exhausted and len(pending) < max_in_flight:
                    nxt = next(source, None)
                    if nxt is None:
                        exhausted = True
                        break
                    pending.append((nxt[0], nxt[1], submit(nxt[1])))
                if not pending:
                    return
                number, unit, future = pending.popleft()
                yield from finish(number, results(unit, future))
        else:
            finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
            in_flight = 0
            while True:
                while not exhausted and in_flight < max_in_flight:
                    nxt = next(source, None)
                    if nxt is None:
                        exhausted = True
                        break
                    fut = submit(nxt[1])
                    if fut is None:
                        yield from finish(nxt[0], results(nxt[1], None))
                        continue
                    by_future[fut] = nxt
                    fut.add_done_callback(finished.put)
                    in_flight += 1
                if in_flight == 0:
                    return
                fut = _next_done(client, finished)
                in_flight -= 1
                number, unit = by_future.pop(fut)
                yield from finish(number, results(unit, fut))
    finally:
        for future in [f for _n, _u, f in pending] + list(by_future):
            if future is not None:
                with suppress(Exception):  # a client that lost its scheduler cannot cancel
                    future.cancel()


def _lost(client: Any) -> EngineError:
    address = getattr(getattr(client, "scheduler", None), "address", None) or "?"
    return EngineError(f"lost the Dask scheduler at {address} in the middle of the run; the "
                       "records written before are complete: with --output, run the same "
                       "command again with --resume and that report to finish")


def _gone(client: Any, exc: BaseException | None = None) -> bool:
    """Has the client lost its scheduler? (``exc``: a future's failure, cancelled for it.)"""
    if exc is not None and getattr(exc, "reason", None) == "scheduler-connection-lost":
        return True
    return str(getattr(client, "status", "")) in ("closing", "closed")


def _result(client: Any, future: Any) -> tuple[Any, Exception | None]:
    """(the task's result, None), or (None, its failure); ``EngineError`` once the client
    has lost its scheduler: a future submitted after that never finishes, and a bare
    ``result()`` would wait for ever.

    A failure that is not the task's own (its future does not say "error"), such as fetching
    the result over a connection that just broke, is retried while the client is connected."""
    broken = 0
    while True:
        done = future.done()
        try:
            return (future.result() if done else future.result(timeout=_POLL)), None
        except TimeoutError as exc:
            if done:  # the task's own TimeoutError, not the wait's
                return None, exc
            if _gone(client):
                raise _lost(client) from None
        except Exception as exc:
            if _gone(client, exc):
                raise _lost(client) from None
            if getattr(future, "status", "error") == "error" or broken >= _RETRIES:
                return None, exc
            broken += 1
            time.sleep(_POLL)  # time for the client to notice a connection that broke


def _next_done(client: Any, finished: queue.SimpleQueue[Any]) -> Any:
    """The next future to finish (its done callback puts it in ``finished``), or
    ``EngineError`` once the client has lost its scheduler."""
    while True:
        try:
            return finished.get(timeout=_POLL)
        except queue.Empty:
            if _gone(client):
                raise _lost(client) from None


def _task_failed(shard: Shard, exc: BaseException) -> AuditResult:
    where = f" [{shard.ref().locator}]" if shard.ref().locator else ""
    return error_result(shard.ref(), "engine-error",
                        f"{shard.path}{where}: the Dask task reading this input failed "
                        f"({type(exc).__name__}: {exception_text(exc)}); the batch went on without it, "
                        "please report this")


def _killed(exc: BaseException) -> bool:
    return type(exc).__name__ == "KilledWorker"


def _retry_items(client: Any, shard: Shard, config: RunConfig,
                 encode: Encode) -> Iterator[list[Encoded]]:
    """The shard killed workers twice: run it one item per task, so that only the item that
    kills workers again is lost, as an error record."""
    listed, failure = _result(client, client.submit(list_shard, shard, config, pure=False))
    if failure is not None:
        if not _killed(failure):
            yield _encoded(encode, [_task_failed(shard, failure)])
            return
        yield _encoded(encode, [error_result(shard.ref(), "worker-crashed",
                                         "reading this input killed Dask workers twice (crash "
                                         "or out of memory); the batch went on without it")])
        return
    keys = listed.keys
    futures = [client.submit(run_shard, _only(shard, number), config, encode, pure=False)
               for number, key in enumerate(keys) if key not in shard.skip]
    wanted = [key for key in keys if key not in shard.skip]
    for key, future in zip(wanted, futures, strict=True):
        done, failure = _result(client, future)
        if failure is None:
            yield from done.groups
            continue
        path, _, locator = key.partition("\x00")
        if not _killed(failure):
            yield _encoded(encode, [error_result(MessageRef(path, locator), "engine-error",
                                             f"the Dask task auditing this message failed "
                                             f"({type(failure).__name__}: "
                                             f"{exception_text(failure)}); the batch went on "
                                             "without it, please report this")])
            continue
        yield _encoded(encode, [error_result(MessageRef(path, locator), "worker-crashed",
                                         "the Dask worker auditing this message died twice "
                                         "(crash or out of memory); the batch went on "
                                         "without it")])


def _only(shard: Shard, number: int) -> Shard:
    return Shard(shard.index, shard.path, shard.kind, shard.member, shard.start, shard.end,
                 only=number, skip=shard.skip)
