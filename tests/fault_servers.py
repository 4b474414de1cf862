"""A private PostgreSQL cluster that a test may crash and restart, and which process owns a TCP connection.

The fault suite restarts PostgreSQL on purpose. It does so on a cluster of its own (``initdb``
into a temporary directory, the same server binaries as the system cluster), never on the
shared one at 127.0.0.1:5432: that would cut the connections of every other test process and
benchmark using it at that moment. Connections are traced through ``/proc`` (Linux), so a kill
can hit the worker that was sending and a duplicate can be traced to the process that sent it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text


@dataclass
class PrivateCluster:
    bindir: Path
    workdir: Path
    port: int
    prefix: tuple[str, ...]  # ("runuser", "-u", "postgres", "--") as root: initdb refuses root

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://zielflow@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        result = subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {result.stdout} {result.stderr}")

    def stop(self, mode: str) -> None:
        """``fast`` is an orderly restart, ``immediate`` a crash followed by recovery."""
        self._ctl("stop", "-m", mode, "-w")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c unix_socket_directories={self.workdir} -c max_connections=200"
        )
        self._ctl("start", "-w", "-o", options, "-l", str(self.workdir / "server.log"))
        self.wait_ready()

    def is_up(self) -> bool:
        result = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            timeout=10,
        )
        return result.returncode == 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the private PostgreSQL on {self.port} did not come back")
            time.sleep(0.1)

    def ensure_up(self) -> None:
        if not self.is_up():
            try:
                self.start()
            except RuntimeError:
                self.wait_ready()  # it was still recovering: "already running"

    def create_database(self, name: str, template: str | None = None) -> str:
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._ctl("stop", "-m", "immediate", "-w")
        shutil.rmtree(self.workdir, ignore_errors=True)


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def start_private_cluster(port: int) -> PrivateCluster | None:
    """initdb and start a throw-away cluster on ``port``; None where the binaries are missing."""
    bindir = _bindir()
    if bindir is None:
        return None
    workdir = Path(tempfile.mkdtemp(prefix="zielflow-faults-pg-"))
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return None
        shutil.chown(workdir, user="postgres", group="postgres")
        prefix = ("runuser", "-u", "postgres", "--")
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(workdir / "data"),
            "-U",
            "zielflow",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-N",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = PrivateCluster(bindir, workdir, port, prefix)
    cluster.start()
    return cluster


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def client_ports(pgid: int, remote_port: int) -> set[int]:
    """Local ports of the TCP connections that processes of group ``pgid`` hold to ``remote_port``."""
    inodes: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
        except OSError:
            continue
        inodes |= _socket_inodes(int(entry.name))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports
