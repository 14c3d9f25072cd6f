"""A throwaway local PostgreSQL server: initdb in a temporary folder, loopback only, removed after.

Used by the test suite and ``tools/bench`` (and handy for trying workers on one machine). The
Debian binaries are not on PATH: :func:`find_bindir` asks ``pg_config --bindir`` and falls back
to ``/usr/lib/postgresql/*/bin``. ``initdb`` refuses to run as root, so as root every server
command runs as the ``postgres`` user (``runuser``) in a ``mkdtemp`` folder handed to it (pytest's
own temp folders are mode 0700 and unreachable for ``postgres``). The server listens on
127.0.0.1 on a free port with ``fsync=off`` (its data is thrown away) and is stopped with
``pg_ctl -m immediate``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresUnavailable", "ThrowawayServer", "find_bindir"]


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (``initdb``, ``pg_ctl``) are not installed."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` — ``$DIALPLAN_PG_BINDIR`` when set (and only
    it), else ``pg_config --bindir``, else the newest ``/usr/lib/postgresql/*/bin`` — or raise
    :class:`PostgresUnavailable`."""
    if os.environ.get("DIALPLAN_PG_BINDIR"):
        folder = Path(os.environ["DIALPLAN_PG_BINDIR"])
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
        raise PostgresUnavailable(f"DIALPLAN_PG_BINDIR={folder}: no initdb and pg_ctl there")
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)[::-1]
    ]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin);"
        " install Debian's `postgresql` package"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ThrowawayServer:
    """One running server; :meth:`start` makes it, :meth:`stop` removes every trace of it."""

    bindir: Path
    folder: Path
    port: int = 0

    @classmethod
    def start(
        cls, bindir: Path | None = None, settings: dict[str, str] | None = None
    ) -> ThrowawayServer:
        server = cls(bindir or find_bindir(), Path(tempfile.mkdtemp(prefix="dialplan-pg-")))
        try:
            server._init()
            server._launch(settings or {})
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A server command, as ``postgres`` when we are root (initdb refuses root)."""
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    def _init(self) -> None:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root, and there is no `postgres` user to run initdb as"
                ) from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        done = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")

    def _launch(self, settings: dict[str, str]) -> None:
        options = {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "full_page_writes": "off",
            "unix_socket_directories": str(self.folder),
            "max_connections": "200",
            **settings,
        }
        for _ in range(5):  # the free port can be taken between probing and binding
            self.port = _free_port()
            opts = f"-p {self.port} " + " ".join(f"-c {k}={v}" for k, v in options.items())
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", opts, "start",
            )  # fmt: skip
            if done.returncode == 0:
                self._watch()
                return
        log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{log}")

    def _watch(self) -> None:
        """A detached watchdog: should the process that started the server die without
        stopping it (a test run killed with SIGKILL), the server is stopped and its folder
        removed within seconds. After a normal :meth:`stop` the folder is gone and it exits."""
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if os.geteuid() == 0:
            pg_ctl = ["runuser", "-u", "postgres", "--", *pg_ctl]
        folder = shlex.quote(str(self.folder))
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null && [ -d {folder} ]; do sleep 1; done;"
            f" [ -f {shlex.quote(str(self.data / 'postmaster.pid'))} ]"
            f" && {shlex.join(pg_ctl)} >/dev/null 2>&1; rm -rf {folder}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop at once (``-m immediate``: the data is thrown away) and delete the folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
