"""Reading a big recipients file on the second core.

A child process reads the CSV, normalises every number (phonenumbers) and encodes the
attributes (:func:`~.loader.parse_rows`); batches come back through a pipe, in file order, while
this process writes the previous batch to the store. The pipe's small buffer holds the child
back when the writer is slower, so memory stays flat. An error in the file reaches the caller
as the same :class:`~dialplan.errors.CampaignError` the serial reader raises, after every batch
before it (which the caller has committed, so a resumed load starts there).

The child is forked when this process has no other thread (nothing is imported again), else
spawned (forking a threaded process can copy a lock another thread holds).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from ..errors import CampaignError
from .loader import ParsedRow, RowSource, parse_rows

#: files this big or bigger are read by a child process (about 20,000 rows of a few columns)
PARALLEL_BYTES = 1 << 20


def _produce(src: RowSource, out: Connection, size: int) -> None:
    """The child: send ``("rows", batch)`` … then ``("end", None)`` or ``("error", text)``."""
    try:
        batch: list[ParsedRow] = []
        for row in parse_rows(src):
            batch.append(row)
            if len(batch) >= size:
                out.send(("rows", batch))
                batch = []
        if batch:
            out.send(("rows", batch))
        out.send(("end", None))
    except CampaignError as exc:
        out.send(("error", str(exc)))
    except BrokenPipeError:
        pass  # the reader stopped (its own error): nothing to say
    except Exception as exc:  # reported by the parent, which raises it
        out.send(("crash", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def batches_in_child(src: RowSource, size: int) -> Iterator[list[ParsedRow]]:
    """The batches of :func:`~.loader.parse_rows` ``(src)``, computed by a child process."""
    method = "fork" if threading.active_count() == 1 else "spawn"
    ctx: Any = multiprocessing.get_context(method)
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_produce, args=(src, send, size), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            try:
                kind, payload = recv.recv()
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
    finally:
        recv.close()
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join()
