"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, reached
over a Unix socket in that folder only, so it never meets another server on the machine.

The server is installed (Debian's `postgresql` package) when this machine has none. PostgreSQL
refuses to run as root, so under root it runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL = ("apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql")
SERVICE_USER = "postgres"
START_TIMEOUT = "60"  # seconds pg_ctl waits for the server to accept connections
INITDB_OPTIONS = ("--no-sync", "-E", "UTF8", "--locale", "C")  # a scratch cluster: speed first
PORT = 5432  # names the socket file only: the server listens on no TCP port


class PostgresServer:
    """Start with `PostgresServer.start()`, stop with `stop()`; `url(db)` names a database."""

    def __init__(self, bindir: Path, folder: Path, run_as: str | None) -> None:
        self._bindir = bindir
        self.folder = folder
        self._run_as = run_as

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = _server_bindir() or _install()
        run_as = SERVICE_USER if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="stickerbot-pg-"))
        if run_as is not None:
            user = pwd.getpwnam(run_as)
            os.chown(folder, user.pw_uid, user.pw_gid)
        server = cls(bindir, folder, run_as)
        data, log = str(folder / "data"), str(folder / "server.log")
        server._run("initdb", "-D", data, "-A", "trust", "-U", "stickerbot", *INITDB_OPTIONS)
        options = f"-k {folder} -p {PORT} -c listen_addresses='' -c fsync=off"
        server._run(
            "pg_ctl", "-D", data, "-o", options, "-l", log, "-t", START_TIMEOUT, "-w", "start"
        )
        return server

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://stickerbot@/{database}?host={self.folder}&port={PORT}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._run("createdb", "-h", str(self.folder), "-p", str(PORT), "-U", "stickerbot", name)
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bindir / program), *args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")


def _server_bindir() -> Path | None:
    """The newest installed server's bin folder (Debian keeps each major version apart)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_major)
    if found:
        return Path(found[-1]).parent
    postgres = shutil.which("postgres")
    return Path(postgres).parent if postgres else None


def _major(path: str) -> int:
    version = Path(path).parts[-3]
    return int(version) if version.isdigit() else 0


def _install() -> Path:
    if os.geteuid() != 0:
        raise RuntimeError("no PostgreSQL server here: install Debian's postgresql package")
    subprocess.run(("apt-get", "update", "-q"), check=True, capture_output=True)
    subprocess.run(
        INSTALL,
        check=True,
        capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    bindir = _server_bindir()
    if bindir is None:
        raise RuntimeError("apt-get installed postgresql, but no server binary was found")
    return bindir
