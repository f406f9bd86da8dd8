"""experiments.jobs: keys, atomic records, resume, the output lock, clean stops, the pool, and a
fault test (a job set SIGKILLed at random moments and resumed)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import jobs as J
from jobs_support import toy, toy_jobs

SUPPORT = Path(__file__).with_name("jobs_support.py")


def test_key_is_stable_and_depends_on_config_and_function():
    a = J.Job(toy, {"i": 1, "size": 3})
    assert a.key == J.Job(toy, {"size": 3, "i": 1}).key  # key order does not matter
    assert a.key != J.Job(toy, {"i": 2, "size": 3}).key
    assert a.key != J.job_key("other.fn", {"i": 1, "size": 3})
    assert len(a.key) == 16


def test_write_json_atomic_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "r.json"
    J.write_json_atomic(path, {"a": 1})
    J.write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(ValueError):  # NaN is refused, not written as invalid JSON
        J.write_json_atomic(path, {"a": float("nan")})


def test_validate_out_dir(tmp_path):
    assert J.validate_out_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(J.OutputError, match=r"--out '.*f' is a file"):
        J.validate_out_dir(tmp_path / "f")
    with pytest.raises(J.OutputError, match="cannot be created"):
        J.validate_out_dir(tmp_path / "f" / "sub")
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == []  # the write probe is gone


def test_run_jobs_resumes_and_fresh_starts_over(tmp_path, capsys):
    jobs = toy_jobs(4)
    first = J.run_jobs(jobs, tmp_path, progress=False)
    assert (first.ran, first.skipped, first.complete) == (4, 0, True)
    (tmp_path / "records" / f"{jobs[2].key}.json").unlink()
    second = J.run_jobs(jobs, tmp_path, progress=False)
    assert (second.ran, second.skipped) == (1, 3)
    assert "4 jobs, 3 already done" in capsys.readouterr().out
    assert second.records == first.records
    assert J.run_jobs(jobs, tmp_path, progress=False, fresh=True).ran == 4
    doc = json.loads((tmp_path / "records" / f"{jobs[0].key}.json").read_text())
    assert doc["config"] == jobs[0].config and doc["label"] == "toy 0" and doc["record"] == toy(jobs[0].config)


def test_a_failing_job_gets_no_record_and_the_others_go_on(tmp_path):
    result = J.run_jobs(toy_jobs(3, fail=(1,)), tmp_path, progress=False)
    assert result.ran == 2 and list(result.failed) == [toy_jobs(3, fail=(1,))[1].key]
    assert result.missing == ["toy 1"] and "fails on purpose" in next(iter(result.failed.values()))


def test_run_jobs_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        J.run_jobs(toy_jobs(1), tmp_path, workers=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        J.run_jobs(toy_jobs(1), tmp_path, engine="spark")
    with pytest.raises(ValueError, match="same key"):
        J.run_jobs(toy_jobs(1) * 2, tmp_path)
    assert not (tmp_path / "records").exists()  # nothing written before the checks


def test_threads_per_worker():
    assert J.threads_per_worker(1, cores=8) == 8
    assert J.threads_per_worker(3, cores=8) == 2
    assert J.threads_per_worker(16, cores=8) == 1
    assert J.threads_per_worker(1, cap=1, cores=8) == 1


def test_second_lock_names_the_holder_and_release_frees_it(tmp_path):
    with J.OutputLock(tmp_path):
        with pytest.raises(J.LockHeld, match=rf"in use by pid {os.getpid()} on host "):
            J.OutputLock(tmp_path).acquire()
    with J.OutputLock(tmp_path) as lock:  # released: free again
        assert lock.took_over is None
    assert not (tmp_path / J.LOCK_FILE).exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / J.LOCK_FILE).write_text(json.dumps({"pid": pid, "host": "h", "started": "t", "command": "c"}))
    with J.OutputLock(tmp_path) as lock:
        assert lock.took_over["pid"] == pid
        assert json.loads((tmp_path / J.LOCK_FILE).read_text())["pid"] == os.getpid()
    assert f"taking over a stale lock on {tmp_path}: pid {pid}" in capsys.readouterr().err


def _start(out: Path, n: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SUPPORT), str(out), str(n), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_records(out: Path, k: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while len(list((out / "records").glob("*.json"))) < k:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "no records appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_with_one_line_and_nonzero_exit(tmp_path, sig, code):
    proc = _start(tmp_path, 50, "--sleep", "0.1")
    _wait_for_records(tmp_path, 2, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert f"stopped by {sig.name}" in err and "to resume, rerun the same command" in err
    assert not (tmp_path / J.LOCK_FILE).exists()
    done = len(list((tmp_path / "records").glob("*.json")))
    assert 2 <= done < 50


def test_second_process_on_the_same_folder_exits_naming_the_holder(tmp_path):
    first = _start(tmp_path, 50, "--sleep", "0.1")
    _wait_for_records(tmp_path, 1, first)
    second = subprocess.run([sys.executable, str(SUPPORT), str(tmp_path), "3"], capture_output=True, text=True,
                            timeout=60)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    assert second.returncode == 2
    assert f"in use by pid {first.pid} on host" in second.stderr and "jobs_support.py" in second.stderr


@pytest.mark.slow
def test_fault_sigkill_at_random_moments_then_resume_equals_uninterrupted(tmp_path):
    """Big records (≈ 0.25 MB of JSON each) so that a kill often lands in a write: a non-atomic
    write would leave a truncated record file, which the check after each kill finds."""
    n, size = 30, 10_000
    rng = random.Random(19)
    out = tmp_path / "killed"
    for k in range(3):  # each kill lands at a random moment after the run has made some progress
        proc = _start(out, n, "--size", str(size))
        _wait_for_records(out, 1 + 6 * k, proc)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.communicate()
        for p in (out / "records").glob("*.json"):  # every record file is complete JSON
            json.loads(p.read_text())
    proc = _start(out, n, "--size", str(size))
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "taking over a stale lock" in stderr
    skipped = int(stdout.split("skipped ")[1])
    assert 0 < skipped < n, stdout  # some work was kept, some was left to do
    expected = J.run_jobs(toy_jobs(n, size), tmp_path / "clean", progress=False).records
    assert J.run_jobs(toy_jobs(n, size), out, progress=False).records == expected
    assert not list((out / "records").glob(".*.tmp"))


def test_pool_gives_the_same_records_as_one_process(tmp_path):
    jobs = toy_jobs(4)
    pooled = J.run_jobs(jobs, tmp_path / "p", workers=2, progress=False, threads=1)
    assert pooled.ran == 4 and pooled.records == J.run_jobs(jobs, tmp_path / "s", progress=False).records


@pytest.mark.slow
def test_dask_engine_on_a_local_cluster_gives_the_same_records(tmp_path):
    pytest.importorskip("dask.distributed")
    jobs = toy_jobs(4)
    result = J.run_jobs(jobs, tmp_path / "d", workers=2, engine="dask", progress=False, threads=1)
    assert result.ran == 4 and result.records == J.run_jobs(jobs, tmp_path / "s", progress=False).records
    failing = J.run_jobs(toy_jobs(3, fail=(1,)), tmp_path / "f", workers=2, engine="dask", progress=False)
    assert failing.ran == 2 and failing.missing == ["toy 1"]
