"""A throw-away PostgreSQL server from Debian's package, on a private loopback port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from ketenzicht_common.processes import free_port, wait_for_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise FileNotFoundError(
            "PostgreSQL is not installed: `make test` installs Debian's postgresql package"
        )
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ketenzicht-pg-"))
        self.data = self.root / "data"
        self.bin = _bin_dir()
        # PostgreSQL refuses to run as root; Debian's package creates the postgres user.
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @property
    def dsn(self) -> str:
        return f"postgresql://ketenzicht:ketenzicht@127.0.0.1:{self.port}/ketenzicht"

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, self.user)
        password_file = self.root / "pw"
        password_file.write_text("ketenzicht\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, self.user)
        self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            "ketenzicht",
            "--auth=md5",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
        )
        self._run(
            self.bin / "pg_ctl",
            "-D",
            self.data,
            "-w",
            "-l",
            self.root / "log",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200",
            "start",
        )
        wait_for_port(self.port)
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"postgresql://ketenzicht:ketenzicht@127.0.0.1:{self.port}/postgres",
            autocommit=True,
        ) as connection:
            connection.execute("CREATE DATABASE ketenzicht")

    def stop(self) -> None:
        try:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
