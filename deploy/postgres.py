"""A PostgreSQL cluster of our own for tests and benchmarks: Debian's `postgresql` binaries,
initdb and pg_ctl in a folder of ours (temporary, or kept as a bench fixture), on a port of
127.0.0.1, never the system service.

PostgreSQL refuses to run as root; as root (CI, the developers' machines) the cluster runs as
the `postgres` account the Debian package creates, in a folder handed to it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.stack import StackError

DEBIAN_PACKAGE = "postgresql"
SERVICE_ACCOUNT = "postgres"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps initdb off the PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parent.parent.name)
                   if path.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


class LocalPostgres:
    """`with LocalPostgres(port) as db:` a running cluster with database `db.name`, owned by
    `db.user`, password-checked on 127.0.0.1; stopped on exit. Without `kept_in` it lives in a
    temporary folder, deleted on exit; with it, in that folder, made on the first start and
    started again with its data on the next."""

    def __init__(self, port: int, name: str = "suban", user: str = "suban",
                 password: str = "suban-test", kept_in: Path | None = None):
        self.port, self.name, self.user, self.password = port, name, user, password
        self.kept_in = kept_in
        self.folder: Path | None = None

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{self.name}"

    def engine_env(self) -> dict[str, str]:
        """The variables that point the engine at this database."""
        return {"SUBAN_DB_URL": self.jdbc_url, "SUBAN_DB_USER": self.user,
                "SUBAN_DB_PASSWORD": self.password}

    def _run(self, tool: str, *args: str) -> None:
        binaries = bin_dir()
        if binaries is None:
            raise StackError(f"PostgreSQL is not installed (Debian: apt-get install "
                             f"{DEBIAN_PACKAGE}); `suban test` installs it when it runs as root")
        command = [str(binaries / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_ACCOUNT, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                env=os.environ | {"PGPASSWORD": self.password})
        if result.returncode != 0:
            raise StackError(f"PostgreSQL {tool} failed ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()[-2000:]}")

    def start(self) -> "LocalPostgres":
        if self.kept_in is None:
            self.folder = Path(tempfile.mkdtemp(prefix="suban-pg-"))
        else:
            self.folder = self.kept_in
            self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
        data = self.folder / "data"
        made = not data.exists()
        if made:
            password_file = self.folder / "password"
            password_file.write_text(self.password)
            if os.geteuid() == 0:
                shutil.chown(password_file, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
            self._run("initdb", "-D", str(data), "-U", self.user, "--pwfile",
                      str(password_file), "--auth", "scram-sha-256", "--encoding", "UTF8",
                      "--locale", "C")
        # Sockets in the cluster's own folder: /var/run/postgresql belongs to the system service.
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", "60", "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
                  f"-k {self.folder} -c max_connections=200", "start")
        if made:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                      self.name)
        return self

    def stop(self) -> None:
        if self.folder is None:
            return
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w",
                          "stop")
        finally:
            if self.kept_in is None:
                shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "LocalPostgres":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
