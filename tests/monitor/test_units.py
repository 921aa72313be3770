"""The systemd units verify, score 2.0 or lower, and the polkit rule grants exactly what it should."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail_in_ci

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIR = ROOT / "systemd"
SERVICES = ["studybuddy-web.service", "studybuddy-worker.service", "studybuddy-monitor.service"]
FAILURE_INSTANCE = "studybuddy-failure-mail@studybuddy-web.service.service"
ANALYZE = shutil.which("systemd-analyze")



@pytest.fixture
def analyze_tool() -> str:
    """systemd-analyze; its absence fails the run in CI (CI=true) and skips it elsewhere."""
    if ANALYZE is None:
        skip_or_fail_in_ci("systemd-analyze missing: apt-get install systemd")
    return ANALYZE


needs_analyze = pytest.mark.usefixtures("analyze_tool")


def _unit_text(name: str) -> str:
    return (UNIT_DIR / name).read_text(encoding="utf-8")


def _settings(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in _unit_text(name).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the host's system units, our units and an executable /usr/bin/studybuddy."""
    root = tmp_path_factory.mktemp("root")
    (root / "usr/bin").mkdir(parents=True)
    exe = root / "usr/bin/studybuddy"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for path in UNIT_DIR.iterdir():
        if path.suffix in (".service", ".target"):
            shutil.copy(path, target / path.name)
    return root


@needs_analyze
@pytest.mark.slow
def test_every_unit_verifies_without_warnings(unit_root: Path) -> None:
    units = SERVICES + ["studybuddy.target", FAILURE_INSTANCE]
    proc = subprocess.run(
        [ANALYZE or "", "verify", f"--root={unit_root}", *units],
        check=False, capture_output=True, text=True, timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    ours = [line for line in output.splitlines() if "studybuddy" in line]
    assert ours == [], "\n".join(ours)


@needs_analyze
@pytest.mark.slow
def test_verify_reports_a_broken_unit(unit_root: Path, tmp_path: Path) -> None:
    """The check above can fail: a misspelled directive is reported."""
    broken = unit_root / "etc/systemd/system/studybuddy-broken.service"
    broken.write_text(_unit_text("studybuddy-web.service").replace("Restart=", "Restartt="))
    try:
        proc = subprocess.run(
            [ANALYZE or "", "verify", f"--root={unit_root}", "studybuddy-broken.service"],
            check=False, capture_output=True, text=True, timeout=120,
        )
    finally:
        broken.unlink()
    assert "Restartt" in proc.stdout + proc.stderr


@needs_analyze
@pytest.mark.parametrize("unit", SERVICES + ["studybuddy-failure-mail@.service"])
def test_security_exposure_is_at_most_2(unit: str, tmp_path: Path) -> None:
    for path in UNIT_DIR.glob("*.service"):
        shutil.copy(path, tmp_path / path.name)
    name = FAILURE_INSTANCE if unit.endswith("@.service") else unit
    proc = subprocess.run(
        [ANALYZE or "", "security", "--offline=true", "--no-pager", name],
        check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", output)
    assert match, output
    assert float(match.group(1)) <= 2.0, output


@pytest.mark.parametrize("unit", SERVICES)
def test_service_contract(unit: str) -> None:
    s = _settings(unit)
    assert s["Type"] == ["notify"]
    assert s["Restart"] == ["on-failure"]
    assert s["WatchdogSec"] and s["RestartSec"]
    if unit == "studybuddy-monitor.service":
        # Shares the store without StateDirectory= (which would chown it to the monitor's user).
        assert "StateDirectory" not in s and s["ReadWritePaths"] == ["/var/lib/studybuddy"]
    else:
        assert s["StateDirectory"] == ["studybuddy"]
    assert s["Group"] == ["studybuddy"], "files in the shared state directory stay group-usable"
    assert s["UMask"] == ["0007"]
    assert s["RuntimeDirectory"]
    assert s["MemoryDenyWriteExecute"] == ["yes"]
    assert s["OnFailure"] == ["studybuddy-failure-mail@%n.service"]
    assert s["LoadCredential"], "secrets come from systemd credentials"
    text = _unit_text(unit)
    unit_section = text.split("[Service]")[0]
    assert "StartLimitIntervalSec=" in unit_section and "StartLimitBurst=" in unit_section


def test_start_limit_matches_the_monitor_budget() -> None:
    """The monitor's restart budget stays inside what systemd's start limit allows."""
    from studybuddy.config import MonitorConfig

    mc = MonitorConfig()
    for unit in SERVICES:
        s = _settings(unit)
        interval = s["StartLimitIntervalSec"][0]
        seconds = int(interval[:-3]) * 60 if interval.endswith("min") else int(interval.rstrip("s"))
        assert seconds == mc.start_limit_interval_seconds
        assert int(s["StartLimitBurst"][0]) == mc.start_limit_burst
    assert mc.cooldown_seconds * (mc.start_limit_burst - 1) >= mc.start_limit_interval_seconds


def test_target_wants_all_services() -> None:
    wants = _settings("studybuddy.target")["Wants"][0].split()
    assert sorted(wants) == sorted(SERVICES)


def test_sysusers_and_tmpfiles() -> None:
    users = (UNIT_DIR / "studybuddy.sysusers.conf").read_text()
    assert re.search(r"^u studybuddy ", users, re.MULTILINE)
    assert re.search(r"^u studybuddy-monitor ", users, re.MULTILINE)
    assert re.search(r"^m studybuddy-monitor studybuddy$", users, re.MULTILINE)
    tmp = (UNIT_DIR / "studybuddy.tmpfiles.conf").read_text()
    assert re.search(r"^d /var/lib/studybuddy 0770 studybuddy studybuddy", tmp, re.MULTILINE)
    for unit in SERVICES:
        user = _settings(unit)["User"][0]
        assert user in ("studybuddy", "studybuddy-monitor")
    assert _settings("studybuddy-monitor.service")["User"] == ["studybuddy-monitor"]


def test_sysusers_and_tmpfiles_apply_to_a_fresh_root(tmp_path: Path) -> None:
    if shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None:
        skip_or_fail_in_ci("systemd-sysusers/systemd-tmpfiles missing: apt-get install systemd")
    (tmp_path / "etc").mkdir()
    proc = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(UNIT_DIR / "studybuddy.sysusers.conf")],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()}
    assert passwd["studybuddy"][6] == "/usr/sbin/nologin"
    assert "studybuddy-monitor" in groups["studybuddy"][3].split(",")
    proc = subprocess.run(["systemd-tmpfiles", f"--root={tmp_path}", "--create",
                           str(UNIT_DIR / "studybuddy.tmpfiles.conf")],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    state = (tmp_path / "var/lib/studybuddy").stat()
    assert oct(state.st_mode & 0o7777) == "0o770"
    assert state.st_uid == int(passwd["studybuddy"][2]) and state.st_gid == int(groups["studybuddy"][2])


POLKIT_HARNESS = textwrap.dedent(
    """
    const fs = require("fs");
    let rule = null;
    const polkit = {
      Result: {YES: "yes", NO: "no", NOT_HANDLED: "not_handled", AUTH_ADMIN: "auth_admin"},
      addRule: (f) => { rule = f; },
    };
    eval(fs.readFileSync(process.argv[2], "utf8"));
    const cases = JSON.parse(process.argv[3]);
    const out = cases.map(([id, user, unit, verb]) => rule(
      {id: id, lookup: (k) => ({unit: unit, verb: verb})[k]},
      {user: user},
    ));
    process.stdout.write(JSON.stringify(out));
    """
)


def test_polkit_rule_text_names_only_our_units_and_verbs() -> None:
    rule = (UNIT_DIR / "50-studybuddy-monitor.rules").read_text()
    code = re.sub(r"//[^\n]*", "", rule)
    assert sorted(re.findall(r'"([\w.@-]+\.service)"', code)) == sorted(SERVICES)
    verbs = re.search(r"var verbs = \[([^\]]*)\]", code)
    assert verbs and sorted(re.findall(r'"([\w-]+)"', verbs.group(1))) == ["reset-failed", "restart", "try-restart"]
    assert re.findall(r'subject\.user !== "([\w-]+)"', code) == ["studybuddy-monitor"]
    assert "polkit.Result.YES" in code and code.count("polkit.Result.YES") == 1


def test_polkit_rule_grants_only_our_units_and_verbs(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        skip_or_fail_in_ci("node missing (apt-get install nodejs)")
    harness = tmp_path / "harness.js"
    harness.write_text(POLKIT_HARNESS)
    manage = "org.freedesktop.systemd1.manage-units"
    cases = []
    expected = []
    for unit in SERVICES + ["ssh.service", "rabbitmq-server.service", "studybuddy.target"]:
        for verb in ["restart", "try-restart", "reset-failed", "stop", "start", "kill", "enable"]:
            for user in ["studybuddy-monitor", "studybuddy", "root"]:
                cases.append([manage, user, unit, verb])
                ok = (
                    unit in SERVICES
                    and verb in ("restart", "try-restart", "reset-failed")
                    and user == "studybuddy-monitor"
                )
                expected.append("yes" if ok else "not_handled")
    cases.append(["org.freedesktop.systemd1.manage-unit-files", "studybuddy-monitor", SERVICES[0], "restart"])
    expected.append("not_handled")
    proc = subprocess.run(
        ["node", str(harness), str(UNIT_DIR / "50-studybuddy-monitor.rules"), json.dumps(cases)],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected


# What our services load, exercised after the restriction is in place.
LOAD_OUR_STACK = """
import ctypes
import pypdfium2, pydantic_core, nh3, pydantic
pdf = pypdfium2.PdfDocument.new()
page = pdf.new_page(200, 200)
assert page.render(scale=1).to_pil().size == (200, 200)
class M(pydantic.BaseModel):
    x: int
assert M.model_validate({"x": "3"}).x == 3
assert nh3.clean("<b>a</b><script>x</script>") == "<b>a</b>"
import ssl, sqlite3, kombu, flask, jinja2, yaml, psutil, waitress, openai, google.genai
ssl.create_default_context()
sqlite3.connect(":memory:").execute("select 1")
# ctypes callbacks (libffi closures) are what would need W+X pages on an old libffi.
CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
assert CB(lambda v: v + 1)(1) == 2
import studybuddy.web, studybuddy.worker.consumer, studybuddy.monitor.service
print("ok")
"""

# The kernel's own switch (Linux 6.3+), which newer systemd uses for MemoryDenyWriteExecute=.
MDWE_PRCTL = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        print("unsupported", ctypes.get_errno()); sys.exit(3)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        print("W+X mapping allowed"); sys.exit(4)
    except OSError:
        pass
    """
) + LOAD_OUR_STACK

# The seccomp filter systemd 252 (Debian 12) installs for MemoryDenyWriteExecute=: mmap with
# PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect with PROT_EXEC and shmat with SHM_EXEC fail (EPERM).
MDWE_SECCOMP = textwrap.dedent(
    """
    import ctypes, mmap, platform, sys
    if platform.machine() != "x86_64":
        print("unsupported architecture"); sys.exit(3)
    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]
    LD, JEQ, AND, RET = 0x20, 0x15, 0x54, 0x06
    ALLOW, DENY = 0x7FFF0000, 0x00050000 | 1   # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    ARG2 = 16 + 2 * 8                          # seccomp_data.args[2], low 32 bits
    prog = [
        (LD, 0, 0, 4), (JEQ, 0, 5, 0xC000003E),                        # AUDIT_ARCH_X86_64
        (LD, 0, 0, 0), (JEQ, 4, 0, 9), (JEQ, 6, 0, 10), (JEQ, 5, 0, 329), (JEQ, 7, 0, 30),
        (RET, 0, 0, ALLOW),
        (LD, 0, 0, ARG2), (AND, 0, 0, 6), (JEQ, 7, 6, 6),              # mmap: PROT_WRITE|PROT_EXEC
        (LD, 0, 0, ARG2), (AND, 0, 0, 4), (JEQ, 4, 3, 4),              # mprotect: PROT_EXEC
        (LD, 0, 0, ARG2), (AND, 0, 0, 0x8000), (JEQ, 1, 0, 0x8000),    # shmat: SHM_EXEC
        (RET, 0, 0, ALLOW), (RET, 0, 0, DENY),
    ]
    filters = (SockFilter * len(prog))(*[SockFilter(*i) for i in prog])
    fprog = SockFprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
        print("seccomp unavailable", ctypes.get_errno()); sys.exit(3)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        print("W+X mapping allowed"); sys.exit(4)
    except OSError:
        pass
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(ctypes.addressof(ctypes.c_char.from_buffer(m)), 4096, 5) == 0:
        print("mprotect to executable allowed"); sys.exit(4)
    """
) + LOAD_OUR_STACK


@pytest.mark.parametrize("probe", [MDWE_PRCTL, MDWE_SECCOMP], ids=["prctl-mdwe", "seccomp-systemd252"])
def test_memory_deny_write_execute_does_not_break_what_we_load(probe: str) -> None:
    """Run our native dependencies in a process refused W+X memory, as MemoryDenyWriteExecute= does."""
    proc = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    if proc.returncode == 3:
        skip_or_fail_in_ci(f"this kernel cannot apply the restriction: {proc.stdout}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.parametrize("unit", SERVICES + ["studybuddy-failure-mail@.service"])
def test_exec_start_names_a_real_command(unit: str) -> None:
    """ExecStart= runs `studybuddy --config FILE <command>`, and that command exists."""
    from click.testing import CliRunner

    from studybuddy.cli import main

    argv = _settings(unit)["ExecStart"][0].split()
    assert argv[0] == "/usr/bin/studybuddy" and argv[1:3] == ["--config", "/etc/studybuddy/config.yaml"]
    result = CliRunner().invoke(main, [argv[3], "--help"])
    assert result.exit_code == 0, result.output
