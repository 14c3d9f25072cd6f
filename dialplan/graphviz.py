"""SVG from DOT text through Graphviz ``dot`` (one place for the CLI and the service)."""

from __future__ import annotations

import shutil
import subprocess

from .errors import DialplanError

#: Seconds Graphviz may take for one picture before it is stopped.
DOT_TIMEOUT_S = 60


def render_svg(dot_text: str) -> bytes:
    """SVG from DOT text through Graphviz ``dot`` (must be on PATH)."""
    exe = shutil.which("dot")
    if exe is None:
        raise DialplanError(
            "Graphviz 'dot' not found on PATH: install graphviz (apt-get install graphviz) "
            "or use --format dot|mermaid"
        )
    try:
        done = subprocess.run(
            [exe, "-Tsvg"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DialplanError(f"Graphviz 'dot' failed: {exc}") from None
    if done.returncode != 0:
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[0]
        raise DialplanError(f"Graphviz 'dot' failed: {first}")
    return done.stdout
