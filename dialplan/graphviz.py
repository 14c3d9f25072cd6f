"""SVG from DOT text through Graphviz ``dot``: a size limit before it runs, a memory cap and a
timeout while it runs (its layout time and memory grow far faster than the picture)."""

from __future__ import annotations

import shutil
import subprocess

from .errors import DialplanError

#: Largest picture (shapes plus arrows) drawn as SVG: Graphviz's layout of 300 takes 0.5 s, of
#: 600 11 s, of 8,800 gigabytes. DOT and Mermaid text have no limit.
SVG_MAX_ELEMENTS = 250
#: Graphviz runs with at most this much address space and this many seconds (CPU and wall).
DOT_MEMORY_BYTES = 512 * 1024 * 1024
DOT_TIMEOUT_S = 10


def _limit_dot() -> None:  # pragma: no cover - runs in the child between fork and exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (DOT_MEMORY_BYTES, DOT_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (DOT_TIMEOUT_S, DOT_TIMEOUT_S + 1))


def render_svg(dot_text: str) -> bytes:
    """SVG from DOT text through Graphviz ``dot`` (must be on PATH), within
    :data:`DOT_MEMORY_BYTES` and :data:`DOT_TIMEOUT_S`."""
    exe = shutil.which("dot")
    if exe is None:
        raise DialplanError(
            "Graphviz 'dot' not found on PATH: install graphviz (apt-get install graphviz) "
            "or use --format dot|mermaid"
        )
    too_big = (
        f"Graphviz could not draw this flow within {DOT_TIMEOUT_S} s and "
        f"{DOT_MEMORY_BYTES // 2**20} MB; use --format dot|mermaid"
    )
    try:
        done = subprocess.run(
            [exe, "-Tsvg"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            preexec_fn=_limit_dot,
        )
    except subprocess.TimeoutExpired:
        raise DialplanError(too_big) from None
    except OSError as exc:
        raise DialplanError(f"Graphviz 'dot' failed: {exc}") from None
    if done.returncode < 0:  # killed by a signal: the CPU limit, or out of memory
        raise DialplanError(too_big)
    if done.returncode != 0:
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[0]
        raise DialplanError(f"Graphviz 'dot' failed: {first}")
    return done.stdout
