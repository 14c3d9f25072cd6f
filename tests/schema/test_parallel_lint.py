"""Linting many files in worker processes gives exactly the sequential result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dialplan.lint import linter
from dialplan.lint.linter import lint_paths

GOOD = '<dialplan name="r"><play type="tts">hi</play><hangup/></dialplan>'
BAD = '<dialplan><menu><play type="mp3">x</play><keypress pressed="1"/><keypress pressed="1"/></menu></dialplan>'


def _tree(tmp_path: Path, count: int) -> Path:
    for i in range(count):
        sub = tmp_path / f"d{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"p{i:03d}.xml").write_text(BAD if i % 7 == 0 else GOOD, encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<dialplan>", encoding="utf-8")
    return tmp_path


def test_parallel_lint_equals_sequential(tmp_path: Path) -> None:
    root = _tree(tmp_path, 3 * linter._CHUNK)
    sequential = lint_paths([root], jobs=1)
    parallel = lint_paths([root], jobs=2)
    assert parallel == sequential
    assert {d.code for d in sequential} >= {"E001", "E021", "E041"}
    assert sum(d.code == "E001" for d in sequential) == 1


def test_small_runs_stay_in_process(tmp_path: Path) -> None:
    assert linter._workers(linter.PARALLEL_MIN_FILES - 1, None) == 1
    assert linter._workers(10, 8) == 1  # one chunk: no pool
    assert linter._workers(10 * linter._CHUNK, 2) == 2


def test_jobs_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DIALPLAN_LINT_JOBS", "1")
    assert linter._workers(10_000, None) == 1


def test_a_process_with_threads_lints_in_a_forkserver(tmp_path: Path, monkeypatch) -> None:
    # forking beside other threads can leave a lock held forever in the child (test runs hung
    # so, once beside Python threads, once beside the SMPP library's native ones); with a thread
    # about, the pool starts from a fresh forkserver instead, same result
    import multiprocessing
    import threading

    used: list[str] = []
    real = multiprocessing.get_context

    def recording(method: str | None = None):  # type: ignore[no-untyped-def]
        used.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", recording)
    root = _tree(tmp_path, 3 * linter._CHUNK)
    sequential = lint_paths([root], jobs=1)
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        parallel = lint_paths([root], jobs=2)
    finally:
        stop.set()
        helper.join()
    assert used == ["forkserver"]
    assert parallel == sequential


_NATIVE_THREAD_PROBE = """
import _thread, threading, time
from dialplan import forking
stop = threading.Lock()
stop.acquire()
before = forking.threads_now()
_thread.start_new_thread(stop.acquire, ())
deadline = time.monotonic() + 5
while forking.threads_now() == before and time.monotonic() < deadline:
    pass
assert forking.threads_now() == before + 1, (forking.threads_now(), before)
assert forking.start_method("forkserver") == "forkserver"
stop.release()
"""


def test_native_threads_count_too() -> None:
    # threading.active_count() misses threads a native extension starts; the system's count
    # does not (a thread started below Python's threading module stands in for one). In a
    # process of its own: in the suite's process a thread an earlier test left may end
    # meanwhile and hide the new one from the count
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", _NATIVE_THREAD_PROBE], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
