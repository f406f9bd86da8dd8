"""Resumable job sets: every long command is a list of independent jobs whose records survive a stop.

A :class:`Job` is a picklable function of a JSON config; its key is a hash of the function's
name and the config, so the same job has the same key in every run. :func:`run_jobs` runs the
jobs of a set that have no record yet in ``OUT/records/`` and writes each record there
atomically (temp file, fsync, rename) as soon as the job finishes, so a run killed at any moment
leaves only complete records, and a rerun with the same ``OUT`` skips them (``fresh=True``
starts over). Jobs run in the calling process (``workers=1``), in a local process pool
(``workers=N``; torch threads per worker set so N workers do not oversubscribe the cores) or on
a Dask cluster (``engine="dask"``, the optional ``cluster`` extra).

:class:`OutputLock` makes one process the only writer of a folder (a second one gets
:class:`LockHeld` naming the holder; a lock left by a dead process is taken over, and says so).
:func:`stop_on_signals` turns SIGINT/SIGTERM into :class:`Stopped` (a record being written is
finished first); :func:`cli_session` wraps all of it for a script: validate ``--out``, lock it,
run, and on a stop print one line (what is done, how to resume) and exit non-zero, no traceback.
See docs/long_runs.md.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

__all__ = ["Job", "JobsResult", "OutputError", "LockHeld", "Stopped", "OutputLock", "job_key", "validate_out_dir",
           "write_json_atomic", "read_records", "run_jobs", "stop_on_signals", "cli_session", "threads_per_worker",
           "available_cores", "recorded_seconds", "records_status", "RECORDS_DIR", "LOCK_FILE", "ENGINES"]

RECORDS_DIR = "records"
LOCK_FILE = ".lock"
ENGINES = ("local", "dask")


class OutputError(ValueError):
    """An output folder that cannot be used (a file, not creatable, not writable)."""


class LockHeld(RuntimeError):
    """Another live process holds the output folder's lock."""


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, so a job's ``except Exception`` cannot swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def job_key(name: str, config: dict[str, Any]) -> str:
    """16 hex digits of the SHA-256 of ``name`` and the canonical JSON of ``config``."""
    text = json.dumps({"fn": name, "config": config}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(config)`` returns a JSON-safe record.

    ``fn`` must be a module-level function (it is pickled to worker processes); ``config`` a
    JSON-serialisable dict that determines the result (seeds included); ``label`` is for people;
    ``cost`` an estimate in seconds where one is known (summed into the announcement).
    """

    fn: Callable[[dict[str, Any]], Any]
    config: dict[str, Any]
    label: str = ""
    cost: float | None = None

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @property
    def key(self) -> str:
        return job_key(self.name, self.config)


@dataclass
class JobsResult:
    """What a job set holds after :func:`run_jobs`: ``records`` in job order (``None`` where the job
    has no record), how many were skipped (finished earlier), run now, and failed (key → error)."""

    jobs: list[Job]
    records: list[Any]
    skipped: int = 0
    ran: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def missing(self) -> list[str]:
        """Labels of the jobs without a record (not run yet, interrupted or failed)."""
        return [j.label or j.key for j, r in zip(self.jobs, self.records) if r is None]

    @property
    def complete(self) -> bool:
        return not self.missing


# ----------------------------------------------------------------------------- output folder


def validate_out_dir(path: str | Path, option: str = "--out") -> Path:
    """Create ``path`` if needed and check it is a writable folder; :class:`OutputError` names
    ``option`` and the value otherwise. Nothing else is written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {str(path)!r} cannot be created: {exc.strerror or exc}") from None
    probe = path / f".write-test.{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{option} {str(path)!r} is not writable: {exc.strerror or exc}") from None
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` through a temp file, fsync and rename: a reader (or a
    run killed midway) sees the old file or the whole new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def read_records(out: str | Path) -> dict[str, dict[str, Any]]:
    """Every complete record file in ``out/records`` (key → its document); an unreadable file
    (not written by :func:`write_json_atomic`, e.g. edited by hand) is reported and skipped."""
    folder = Path(out) / RECORDS_DIR
    found = {}
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(p.read_text())
            found[doc["key"]] = doc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"ignoring unreadable record {p}: {exc}", file=sys.stderr)
    return found


# ----------------------------------------------------------------------------- one writer


class OutputLock:
    """An exclusive lock on an output folder: ``out/.lock`` holds the holder's pid, host, start
    time and command, and the holder keeps an ``flock`` on it for its lifetime (the kernel drops
    it when the process dies, however it dies). ``acquire`` raises :class:`LockHeld` naming the
    holder; a lock file whose process is gone is taken over with a message saying so."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._fd: int | None = None
        self.took_over: dict[str, Any] | None = None

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            return None

    def acquire(self) -> "OutputLock":
        for _ in range(50):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = self._holder()
                who = (f"pid {holder.get('pid')} on host {holder.get('host')} (since {holder.get('started')}: "
                       f"{holder.get('command')})" if holder else "a process that is starting up")
                raise LockHeld(f"{self.out} is in use by {who}; wait for it to finish or choose another --out "
                               f"(lock file {self.path})") from None
            try:  # the file may have been unlinked by its releasing holder between our open and flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = self._holder()
            if previous and previous.get("pid") != os.getpid():
                self.took_over = previous
                print(f"taking over a stale lock on {self.out}: pid {previous.get('pid')} on host "
                      f"{previous.get('host')} (started {previous.get('started')}) is no longer running",
                      file=sys.stderr)
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv)}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            os.fsync(fd)
            self._fd = fd
            return self
        raise LockHeld(f"could not lock {self.path}: it keeps being replaced")  # pragma: no cover

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


# ----------------------------------------------------------------------------- clean stops


class _Signals:
    """SIGINT/SIGTERM → :class:`Stopped`, except inside :meth:`deferred` (a record being written),
    where the signal is kept and raised when the block ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: int | None = None

    def handler(self, signum: int, frame: Any) -> None:
        if self.depth:
            self.pending = signum
            return
        raise Stopped(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending is not None:
            signum, self.pending = self.pending, None
            raise Stopped(signum)


_SIGNALS = _Signals()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block SIGINT and SIGTERM raise :class:`Stopped` (main thread only)."""
    previous = {s: signal.signal(s, _SIGNALS.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# ----------------------------------------------------------------------------- running


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


def threads_per_worker(workers: int, cap: int | None = None, cores: int | None = None) -> int:
    """Torch threads per worker so ``workers`` processes do not oversubscribe the cores
    (``cores // workers``, at least 1, at most ``cap``)."""
    threads = max((cores or available_cores()) // max(workers, 1), 1)
    return min(threads, cap) if cap else threads


def _set_threads(threads: int) -> None:
    """Torch's intra-op threads, where torch is loaded (a job that imports it later gets the
    worker's ``OMP_NUM_THREADS``)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _worker_init(threads: int) -> None:
    """A pool worker: the terminal's Ctrl-C goes to the parent (which stops the pool), not here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    _set_threads(threads)


def _call(fn: Callable[[dict[str, Any]], Any], config: dict[str, Any], threads: int) -> tuple[Any, float]:
    _set_threads(threads)
    began = time.perf_counter()
    return fn(config), time.perf_counter() - began


def run_jobs(jobs: Sequence[Job], out: str | Path, workers: int = 1, fresh: bool = False, progress: bool = True,
             threads: int | None = None, engine: str = "local", scheduler: str | None = None,
             desc: str = "jobs") -> JobsResult:
    """Run the jobs of ``jobs`` that have no record in ``out/records`` and return every record.

    ``workers`` processes (1: this process); ``threads`` torch threads per worker (default
    :func:`threads_per_worker`); ``engine="dask"`` sends the jobs to the Dask scheduler at
    ``scheduler`` (an address; ``None``: a local cluster of ``workers`` processes). ``fresh``
    deletes the folder's records first. A job that raises is reported (``failed``) and gets no
    record, so a rerun tries it again; the others go on. The caller holds the folder's lock
    (:func:`cli_session` does) and handles :class:`Stopped`.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("two jobs of the set have the same name and config (the same key)")
    folder = Path(out) / RECORDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for tmp in folder.glob(".*.tmp"):  # a temp file of a run killed while writing: never a record
        tmp.unlink(missing_ok=True)
    if fresh:
        for p in folder.glob("*.json"):
            p.unlink()
    found = read_records(out)
    result = JobsResult(list(jobs), [found[k]["record"] if k in found else None for k in keys])
    result.skipped = sum(r is not None for r in result.records)
    todo = [i for i, r in enumerate(result.records) if r is None]
    threads = threads or threads_per_worker(workers)
    cost = [jobs[i].cost for i in todo]
    estimate = (f", estimated {_duration(sum(cost) / min(workers, len(todo)))} (from earlier measured rates; "
                "more on a loaded machine)" if todo and all(c is not None for c in cost) else "")
    print(f"{desc}: {len(jobs)} job{'' if len(jobs) == 1 else 's'}, {result.skipped} already done in {out} (skipped), {len(todo)} to run on "
          f"{workers} {engine} worker(s) × {threads} torch thread(s){estimate}", flush=True)
    began = time.perf_counter()
    from tqdm.auto import tqdm

    with tqdm(total=len(jobs), initial=result.skipped, desc=desc, unit="job", disable=not progress) as bar:
        def finish(i: int, record: Any, seconds: float) -> None:
            job = jobs[i]
            doc = {"key": job.key, "job": job.name, "label": job.label, "config": job.config,
                   "seconds": seconds, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "record": record}
            with _SIGNALS.deferred():
                write_json_atomic(folder / f"{job.key}.json", doc)
                result.records[i] = record
                result.ran += 1
            bar.set_postfix_str(job.label[-40:])
            bar.update(1)

        def fail(i: int, error: str) -> None:
            result.failed[jobs[i].key] = error
            bar.write(f"job {jobs[i].label or jobs[i].key} failed (no record; a rerun tries it again):\n{error}")

        try:
            if not todo:
                pass
            elif engine == "dask":
                _run_dask(jobs, todo, workers, threads, scheduler, finish, fail)
            elif workers == 1:
                _run_serial(jobs, todo, threads, finish, fail)
            else:
                _run_pool(jobs, todo, workers, threads, finish, fail)
        finally:
            result.seconds = time.perf_counter() - began
    return result


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _run_serial(jobs, todo, threads, finish, fail) -> None:
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    try:
        for i in todo:
            try:
                record, seconds = _call(jobs[i].fn, jobs[i].config, threads)
            except Exception:
                fail(i, traceback.format_exc(limit=4))
                continue
            finish(i, record, seconds)
    finally:
        if previous is not None:
            _set_threads(previous)


def _run_pool(jobs, todo, workers, threads, finish, fail) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)) or 1, initializer=_worker_init,
                               initargs=(threads,), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_call, jobs[i].fn, jobs[i].config, threads): i for i in todo}
        for fut in as_completed(futures):
            try:
                record, seconds = fut.result()
            except Exception as exc:  # includes a worker that died (BrokenProcessPool)
                fail(futures[fut], "".join(traceback.format_exception_only(type(exc), exc)))
                continue
            finish(futures[fut], record, seconds)
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):  # stop running jobs now
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(jobs, todo, workers, threads, scheduler, finish, fail) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RuntimeError("engine='dask' needs dask.distributed: pip install 'mbi-envs[cluster]'") from None
    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                   dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = {client.submit(_call, jobs[i].fn, jobs[i].config, threads, key=f"job-{jobs[i].key}", pure=False): i
                   for i in todo}
        for fut in as_completed(list(futures)):
            try:
                record, seconds = fut.result()
            except Exception as exc:
                fail(futures[fut], "".join(traceback.format_exception_only(type(exc), exc)))
                continue
            finish(futures[fut], record, seconds)
    finally:
        client.cancel(list(futures)) if "futures" in locals() else None
        client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------- a script's session


def recorded_seconds(out: str | Path, jobs: Sequence[Job]) -> float:
    """The seconds the jobs of ``jobs`` with a record in ``out`` took, summed over every session."""
    found = read_records(out)
    return sum(found[j.key]["seconds"] for j in jobs if j.key in found)


def records_status(out: str | Path, jobs: Sequence[Job], noun: str = "runs") -> Callable[[], str]:
    """The ``status`` of :func:`cli_session` for a job set: "K of M <noun> have records in OUT/records"."""
    keys = {j.key for j in jobs}
    return lambda: f"{len(keys & set(read_records(out)))} of {len(jobs)} {noun} have records in {Path(out) / RECORDS_DIR}"


@contextlib.contextmanager
def cli_session(out: str | Path, error: Callable[[str], Any], resume_hint: str = "rerun the same command",
                status: Callable[[], str] | None = None) -> Iterator[Path]:
    """A long command's frame: validate and lock ``out`` (``error(message)`` on a bad folder or a
    held lock, e.g. ``parser.error``), turn SIGINT/SIGTERM into a clean stop, and on a stop print
    one line (``status()``: what is done; how to resume) and exit with 128 + the signal number."""
    try:
        out = validate_out_dir(out, option="folder")
        lock = OutputLock(out).acquire()
    except (OutputError, LockHeld) as exc:
        error(str(exc))
        raise SystemExit(2)  # pragma: no cover - error() exits
    try:
        with stop_on_signals():
            yield out
    except Stopped as stop:
        done = status() if status is not None else f"finished records are in {out / RECORDS_DIR}"
        print(f"\nstopped by {signal.Signals(stop.signum).name}: {done}; to resume, {resume_hint} "
              f"(same --out {out})", file=sys.stderr, flush=True)
        raise SystemExit(128 + stop.signum) from None
    finally:
        lock.release()
