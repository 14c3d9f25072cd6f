"""Reading a big recipients file on the second core.

A child process reads the CSV, normalises every number (phonenumbers) and encodes the
attributes (:func:`~.loader.parse_rows`); batches come back through a pipe, in file order, while
this process writes the previous batch to the store. The pipe's small buffer holds the child
back when the writer is slower, so memory stays flat.

The child is started at once, but this process does not wait for it: it reads the first
batches itself until the child says it is ready, then hands over — "start after data row N" —
and only writes from then on. A small file is done before the child is up (it is then stopped);
a child that cannot start leaves the whole file to this process. An error in the file reaches
the caller as the same :class:`~dialplan.errors.CampaignError` the serial reader raises, after
every batch before it (which the caller has committed, so a resumed load starts there).

The child is forked when this process has no other thread (nothing is imported again), else
spawned (forking a threaded process can copy a lock another thread holds).
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import multiprocessing
from collections.abc import Generator, Iterator
from multiprocessing.connection import Connection
from typing import Any

from ..errors import CampaignError
from ..forking import start_method
from .loader import ParsedRow, RowSource, parse_rows

#: files this big or bigger are read with the help of a child process (≈ 20,000 short rows)
PARALLEL_BYTES = 1 << 20


def _produce(src: RowSource, conn: Connection, size: int) -> None:
    """The child: say ``ready``, learn how many data rows the parent has read, then send
    ``("rows", batch)`` … and ``("end", None)`` or ``("error", text)``."""
    # a forked child shares the parent's heap: keep the collector off it (walking it would
    # touch, and so copy, every page of it)
    gc.freeze()
    try:
        conn.send(("ready", None))
        start = conn.recv()
        if start is None:
            return  # the parent read the whole file itself
        batch: list[ParsedRow] = []
        for row in parse_rows(dataclasses.replace(src, skip=start)):
            batch.append(row)
            if len(batch) >= size:
                conn.send(("rows", batch))
                batch = []
        if batch:
            conn.send(("rows", batch))
        conn.send(("end", None))
    except CampaignError as exc:
        conn.send(("error", str(exc)))
    except (BrokenPipeError, EOFError):
        pass  # the parent stopped reading (its own error): nothing to say
    except Exception as exc:  # reported by the parent, which raises it
        conn.send(("crash", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def batches_in_child(
    src: RowSource, size: int, *, patient: bool = False
) -> Iterator[list[ParsedRow]]:
    """The batches of :func:`~.loader.parse_rows` ``(src)``, the most of them computed by a
    child process (see the module doc). ``patient``: wait for the child before reading
    anything here (every row then comes from the child, unless it cannot start)."""
    method = start_method("spawn")
    ctx: Any = multiprocessing.get_context(method)
    conn, child_end = ctx.Pipe()
    proc = ctx.Process(target=_produce, args=(src, child_end, size), daemon=True)
    local = parse_rows(src)
    try:
        proc.start()
    except (AssertionError, OSError):  # a daemonic process may not have children; no fork
        conn.close()
        child_end.close()
        yield from _read_here(local, None, size, src.skip)
        return
    child_end.close()
    finished = False
    try:
        if patient and _ready(conn, timeout=None):
            conn.send(src.skip)
            handed = True
        else:
            handed = yield from _read_here(local, conn, size, src.skip)
        local.close()
        if handed:
            yield from _from_child(conn, proc, src)
            finished = True  # the child has sent everything and is ending
    finally:
        local.close()
        conn.close()
        if not finished and proc.is_alive():
            proc.kill()  # not needed (or this process failed): stop it
        proc.join()


def _read_here(
    local: Iterator[ParsedRow], conn: Connection | None, size: int, read: int
) -> Generator[list[ParsedRow], None, bool]:
    """Batches read by this process until the child (if any) is ready, which is then told to
    start after data row ``read``; returns whether it was (else the whole file was read here)."""
    while True:
        batch = list(itertools.islice(local, size))
        read += len(batch)
        if batch:
            yield batch
        if len(batch) < size:
            return False
        if conn is not None and _ready(conn):
            conn.send(read)
            return True


def _ready(conn: Connection, timeout: float | None = 0.0) -> bool:
    """Whether the child said it is ready (a child that died never is)."""
    try:
        return bool(conn.poll(timeout)) and conn.recv()[0] == "ready"
    except (EOFError, OSError):
        return False


def _from_child(
    conn: Connection, proc: multiprocessing.process.BaseProcess, src: RowSource
) -> Iterator[list[ParsedRow]]:
    while True:
        try:
            kind, payload = conn.recv()
        except EOFError:
            proc.join(5)
            raise CampaignError(
                f"{src.path}: the process reading the recipients ended unexpectedly"
                f" (exit code {proc.exitcode})"
            ) from None
        if kind == "rows":
            yield payload
        elif kind == "end":
            return
        elif kind == "error":
            raise CampaignError(payload)
        else:
            raise RuntimeError(f"{src.path}: reading the recipients failed: {payload}")
