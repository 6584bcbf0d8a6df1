"""Real services the fleet tests start and stop themselves: OpenSSH "boards" and a PostgreSQL cluster.

A board is an ``sshd`` on a loopback port with its own host key, its own authorized key, its own
HOME and EDGEPROF_HOME (sshd_config ``SetEnv``), and THIS checkout's edgeprof first on the login's
PATH and PYTHONPATH — the remote side runs the code under test. We run as root here, so the test
sshd permits root login by key only (no password, no keyboard-interactive). Cutting a board off
kills its listener AND every process of its sessions (stopping the listener alone leaves them).

The PostgreSQL cluster is ``initdb`` in a temporary directory, listening on a loopback port with
trust authentication; initdb refuses to run as root, so as root it runs as the ``postgres`` user.

A binary that is absent skips the test with the reason, unless ``CI`` is set: then it fails (CI
installs openssh-server and postgresql, so an absent one is a broken CI, not a skip).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SSHD = Path("/usr/sbin/sshd")
PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexistent"))


def need(path: Path | None, what: str, install: str) -> Path:
    """The binary, or a skip naming the install command (a failure under CI)."""
    if path is not None and path.exists():
        return path
    msg = f"{what} is not installed ({path}); install it with: {install}"
    if os.environ.get("CI"):
        pytest.fail(msg + " (CI is set: .ci/run installs it)")
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


# -- SSH boards --------------------------------------------------------------------------------
@dataclass
class Board:
    name: str
    dir: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    host_key: Path = field(init=False)

    def __post_init__(self) -> None:
        self.host_key = self.dir / "ssh_host_ed25519_key"

    @property
    def home(self) -> Path:
        return self.dir / "home"

    @property
    def edgeprof_home(self) -> Path:
        return self.dir / "edgeprof-home"

    @property
    def target(self) -> str:
        """This user at the board (root here; an unprivileged sshd can only log in its own user)."""
        import getpass

        return f"{getpass.getuser()}@127.0.0.1:{self.port}"

    def known_hosts_line(self) -> str:
        kind, key = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {key}\n"

    def setup(self, client_pub: Path, probe_from: Path | None = None) -> "Board":
        need(SSHD, "OpenSSH server (sshd)", "apt-get install -y openssh-server")
        self.dir.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.edgeprof_home, self.dir / "bin"):
            d.mkdir(exist_ok=True)
        if not self.host_key.exists():
            keygen(self.host_key, f"{self.name}-host")
        shutil.copy(client_pub, self.dir / "authorized_keys")
        wrapper = self.dir / "bin" / "edgeprof"   # this checkout's edgeprof, with the test's interpreter
        wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m edgeprof \"$@\"\n")
        wrapper.chmod(0o755)
        if probe_from is not None and probe_from.is_dir():   # the bandwidth probe, measured once per machine
            shutil.copytree(probe_from, self.edgeprof_home / "devices", dirs_exist_ok=True)
        self.port = self.port or free_port()
        path = f"{self.dir / 'bin'}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
        (self.dir / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}", f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "LogLevel ERROR",
            "Subsystem sftp internal-sftp", "MaxStartups 30", "MaxSessions 30",
            f"SetEnv HOME={self.home} EDGEPROF_HOME={self.edgeprof_home} PATH={path} PYTHONPATH={ROOT} "
            f"EDGEPROF_BOARD_NAME={self.name}",
        ]) + "\n")
        return self

    def start(self) -> "Board":
        try:
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)   # privilege separation directory (as root)
        except PermissionError:
            pass
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.dir / "sshd.log", "ab"))
        wait_port(self.port)
        return self

    def session_pids(self) -> list[int]:
        """Every process of this board's sessions (the per-connection sshd and all below it)."""
        import psutil

        if self.proc is None:
            return []
        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cut_off(self) -> list[int]:
        """Kill the listener and every session process (SIGKILL: no goodbye reaches the laptop)."""
        pids = self.session_pids()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        return pids

    def stop(self) -> None:
        self.cut_off()


def laptop_home(root: Path, boards: list[Board]) -> Path:
    """A HOME for the client side: ~/.ssh/id_ed25519 and a known_hosts naming the boards."""
    ssh = root / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    ssh.chmod(0o700)
    if not (ssh / "id_ed25519").exists():
        keygen(ssh / "id_ed25519", "laptop")
    (ssh / "known_hosts").write_text("".join(b.known_hosts_line() for b in boards if b.host_key.exists()))
    return root


def laptop_env(laptop: Path, home: Path, **more: str) -> dict:
    """The environment of the edgeprof CLI on the "laptop": its HOME (~/.ssh), its EDGEPROF_HOME,
    this checkout first on the path, no SSH agent and no history store from the caller."""
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "EDGEPROF_HISTORY")}
    return {**env, "HOME": str(laptop), "EDGEPROF_HOME": str(home),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **more}


def cli(*args: str, env: dict, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# -- PostgreSQL ------------------------------------------------------------------------------
@dataclass
class Postgres:
    dir: Path
    port: int = 0
    running: bool = False

    @property
    def url(self) -> str:
        return self.url_of("edgeprof")

    def url_of(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def init(self) -> "Postgres":
        need(PG_BIN / "initdb", "PostgreSQL (initdb)", "apt-get install -y postgresql")
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(self._as_owner([str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                                       "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, cwd="/")
        self.port = self.port or free_port()
        return self

    def start(self) -> "Postgres":
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(self._as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-o", opts, "-l",
                                       str(self.dir / "log"), "-w", "start"]), check=True, capture_output=True,
                       cwd="/")
        self.running = True
        return self

    def create_db(self, name: str = "edgeprof") -> str:
        """A database of that name (created when missing); returns its URL."""
        import psycopg

        with psycopg.connect(self.url_of("postgres"), autocommit=True) as con:
            if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                con.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def stop(self) -> None:
        if self.running:
            subprocess.run(self._as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                                           "-w", "stop"]), capture_output=True, cwd="/")
            self.running = False


def pg_cluster() -> Postgres:
    """A started cluster with an ``edgeprof`` database, in a fresh temporary directory (outside
    pytest's tmp, which the postgres user may not enter)."""
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edgeprof-pg-")))
    pg.init().start()
    pg.create_db()
    return pg


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
