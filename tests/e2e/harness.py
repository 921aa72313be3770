"""A Debian bookworm host under a real systemd, for the end-to-end test.

The tree made by build-rootfs.sh is copied, given the test's SSH key, and booted with
``systemd-nspawn -b`` inside a network namespace of our own (a veth pair: the host side is
HOST_IP, the container is CONTAINER_IP), so its RabbitMQ, nginx and SMTP ports never meet the
host's. Commands run inside with ``nsenter -t <pid of the container's systemd> -a``; Ansible
reaches it over SSH like any other host.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
NETNS = "studybuddy-e2e"
HOST_IF = "sbe2e-host"
HOST_IP = "10.231.7.1"
CONTAINER_IP = "10.231.7.2"
MACHINE = "studybuddy-e2e"


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> CommandResult:
        if self.returncode != 0:
            raise AssertionError(f"exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}")
        return self


def run(argv: list[str], *, timeout: float = 600, check: bool = True,
        input_text: str | None = None, env: dict[str, str] | None = None) -> CommandResult:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input_text,
                          env=env, stdin=None if input_text is not None else subprocess.DEVNULL, check=False)
    result = CommandResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return result


class Network:
    """A network namespace with a veth pair to the host; no route beyond the pair."""

    def up(self) -> None:
        self.down()
        run(["ip", "netns", "add", NETNS])
        run(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", "host0", "netns", NETNS])
        run(["ip", "addr", "add", f"{HOST_IP}/24", "dev", HOST_IF])
        run(["ip", "link", "set", HOST_IF, "up"])
        run(["ip", "netns", "exec", NETNS, "ip", "addr", "add", f"{CONTAINER_IP}/24", "dev", "host0"])
        run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "host0", "up"])
        run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"])

    def down(self) -> None:
        run(["ip", "link", "del", HOST_IF], check=False)
        run(["ip", "netns", "del", NETNS], check=False)

    @property
    def path(self) -> str:
        return f"/run/netns/{NETNS}"


class Container:
    """One booted container. ``sh`` runs a shell command inside it through nsenter."""

    def __init__(self, root: Path, workdir: Path, network: Network):
        self.root = root
        self.workdir = workdir
        self.network = network
        self.proc: subprocess.Popen[bytes] | None = None
        self.init_pid = 0
        self.key = workdir / "id_ed25519"

    # -- lifecycle -----------------------------------------------------------------------------
    def prepare(self, cached_root: Path) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.parent.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", str(cached_root), str(self.root)])
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "studybuddy-e2e", "-f", str(self.key)])
        ssh_dir = self.root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(Path(f"{self.key}.pub").read_text())
        os.chmod(ssh_dir / "authorized_keys", 0o600)

    def boot(self, timeout: float = 120) -> None:
        console = self.workdir / "console.log"
        with console.open("wb") as out:
            self.proc = subprocess.Popen(
                ["systemd-nspawn", "-D", str(self.root), "-b", "--register=no", "--keep-unit",
                 f"--network-namespace-path={self.network.path}", "-M", MACHINE, "--console=read-only"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.init_pid:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited {self.proc.returncode}; see {console}")
            self.init_pid = self._find_init()
            time.sleep(0.2)
        if not self.init_pid:
            raise AssertionError("the container's systemd did not appear")
        state = ""
        while state not in ("running", "degraded"):
            # Early on systemctl cannot reach the manager yet and prints nothing.
            state = self.sh("systemctl is-system-running --wait", check=False,
                            timeout=max(5, deadline - time.monotonic())).stdout.strip()
            if time.monotonic() > deadline:
                raise AssertionError(f"the container's systemd is {state!r}")
            if state not in ("running", "degraded"):
                time.sleep(0.5)
        self.wait_for_ssh(deadline)

    def _find_init(self) -> int:
        assert self.proc is not None
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                try:
                    if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                        return int(child)
                except OSError:
                    continue
        return 0

    def wait_for_ssh(self, deadline: float) -> None:
        while True:
            result = self.ssh("true", check=False, timeout=10)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no SSH into the container: {result.stderr}")
            time.sleep(0.5)

    def shutdown(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None and self.init_pid:
            self.sh("systemctl poweroff --no-block", check=False, timeout=15)
            try:
                self.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                log.warning("the container did not power off in time; killing it")
        if self.proc.poll() is None:
            # SIGKILL to the init of a PID namespace ends every process in it; killing only
            # systemd-nspawn would leave the container running without a parent.
            if self.init_pid:
                try:
                    os.kill(self.init_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None
        self.init_pid = 0

    # -- commands ------------------------------------------------------------------------------
    def sh(self, command: str, *, timeout: float = 120, check: bool = True,
           input_text: str | None = None) -> CommandResult:
        """Run a shell command inside the container (all its namespaces, as its root)."""
        return run(["nsenter", "-t", str(self.init_pid), "-a", "/bin/sh", "-c", command],
                   timeout=timeout, check=check, input_text=input_text,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "",
                        "SYSTEMD_COLORS": "0"})

    def ssh_args(self) -> list[str]:
        return ["-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"]

    def ssh(self, command: str, *, timeout: float = 60, check: bool = True) -> CommandResult:
        return run(["ssh", *self.ssh_args(), f"root@{CONTAINER_IP}", command], timeout=timeout, check=check)

    def in_netns(self, argv: list[str]) -> list[str]:
        """A host command line that runs inside the container's network namespace."""
        return ["ip", "netns", "exec", NETNS, *argv]

    # -- systemd -------------------------------------------------------------------------------
    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.sh(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def main_pid(self, unit: str) -> int:
        return int(self.show(unit, "MainPID")["MainPID"])

    def wait_until(self, what: str, predicate: callable[[], bool], timeout: float,  # type: ignore[valid-type]
                   interval: float = 0.25) -> float:
        """Poll until predicate() is true; returns the seconds it took."""
        started = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)

    def journal(self, args: str) -> str:
        return self.sh(f"journalctl --no-pager {args}", check=False, timeout=60).stdout
