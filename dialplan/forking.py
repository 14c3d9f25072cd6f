"""Whether this process may start a child by ``fork``: only while it runs one thread.

Forking copies one thread and every lock as it stands; a lock another thread held at that moment
stays held in the child forever. Python's ``threading.active_count()`` does not see threads that
native extensions start (the SMPP library's Rust runtime, for one), so the operating system's
count of this process's threads decides where it is known (Linux: ``/proc/self/task``).
"""

from __future__ import annotations

import os


def threads_now() -> int:
    """This process's threads, native ones included where the system says (else Python's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def start_method(otherwise: str) -> str:
    """``fork`` (fast: the parent's imports are inherited) in a single-threaded process, else
    ``otherwise`` (``spawn`` or ``forkserver``)."""
    return "fork" if threads_now() == 1 else otherwise
