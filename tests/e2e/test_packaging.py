"""Fast checks of the packaging and the playbook that need no container (run by `make test`)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studybuddy.config import describe_settings, load_config

TOP = Path(__file__).resolve().parents[2]
PACKAGING = TOP / "packaging"


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _needs(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not installed (apt-get install {tool})")
        pytest.skip(f"{tool} is not installed")
    return found


def test_man_pages_are_current() -> None:
    manpages = _load(PACKAGING / "docs/make-manpages.py", "make_manpages")
    assert (PACKAGING / "docs/studybuddy.1").read_text() == manpages.studybuddy_1(), \
        "studybuddy.1 is stale: run .venv/bin/python packaging/docs/make-manpages.py"
    assert (PACKAGING / "docs/studybuddy.yaml.5").read_text() == manpages.studybuddy_yaml_5(), \
        "studybuddy.yaml.5 is stale: run .venv/bin/python packaging/docs/make-manpages.py"


def test_every_setting_and_command_is_in_the_man_pages() -> None:
    page5 = (PACKAGING / "docs/studybuddy.yaml.5").read_text()
    for dotted, _default, _secret in describe_settings():
        section, key = dotted.split(".", 1)
        assert f"SECTION {section}".replace("_", "_") in page5.replace("\\-", "-")
        assert f"\\fB{key}\\fR" in page5, dotted
    page1 = (PACKAGING / "docs/studybuddy.1").read_text().replace("\\-", "-")
    for command in ("web", "worker", "monitor", "status", "probe", "check-config", "create-admin", "run"):
        assert f".SS {command}\n" in page1, command


def test_packaged_config_loads_and_points_at_the_host(tmp_path: Path) -> None:
    conffile = _load(PACKAGING / "make-conffile.py", "make_conffile")
    text = conffile.packaged_config((TOP / "config.example.yaml").read_text())
    path = tmp_path / "config.yaml"
    path.write_text(text)
    cfg = load_config(path, env={})
    assert cfg.app.state_dir == "/var/lib/studybuddy"
    assert cfg.broker.url.startswith("amqp://")
    assert cfg.web.secure_cookies is True
    # Everything else keeps the example's defaults (and its comments).
    assert text.count("\n#") == (TOP / "config.example.yaml").read_text().count("\n#")


def test_packaged_config_refuses_an_example_without_the_sections() -> None:
    conffile = _load(PACKAGING / "make-conffile.py", "make_conffile")
    with pytest.raises(SystemExit, match="broker.url"):
        conffile.packaged_config("app:\n  state_dir: x\n")


def test_requirements_pin_every_dependency_with_hashes() -> None:
    setup = configparser.ConfigParser()
    setup.read(TOP / "setup.cfg")
    wanted = {re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
              for line in setup["options"]["install_requires"].splitlines() if line.strip()}
    text = (PACKAGING / "requirements.txt").read_text()
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", text, re.MULTILINE)}
    missing = wanted - pinned
    assert not missing, f"not pinned in packaging/requirements.txt: {missing} (packaging/compile-requirements.sh)"
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if "==" in block.split("\n")[0]:
            assert "--hash=sha256:" in block, block.split("\n")[0]


def test_rules_install_the_unit_files_that_exist() -> None:
    rules = (PACKAGING / "debian/rules").read_text()
    for name in re.findall(r"(?<![/\w])systemd/([\w@.\-]+)", rules):
        assert (TOP / "systemd" / name).is_file(), f"debian/rules installs systemd/{name}, which is missing"
    for unit in (TOP / "systemd").glob("*.service"):
        assert unit.name in rules, f"{unit.name} is not installed by the package"


def test_playbook_passes_ansible_lint_production() -> None:
    _needs("ansible-lint")
    result = subprocess.run(["ansible-lint", "--profile", "production", "--nocolor"], cwd=TOP / "ansible",
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("inventory", ["single", "multi"])
def test_playbook_syntax(inventory: str) -> None:
    _needs("ansible-playbook")
    result = subprocess.run(
        ["ansible-playbook", "--syntax-check", "-i", f"inventories/{inventory}/hosts.yml", "site.yml"],
        cwd=TOP / "ansible", capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(TOP / "ansible/ansible.cfg")})
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_is_pinned_to_debian_3_11() -> None:
    rules = (PACKAGING / "debian/rules").read_text()
    control = (PACKAGING / "debian/control").read_text()
    assert "--python=/usr/bin/python3.11" in rules
    assert re.search(r"^\s+python3\.11,", control, re.MULTILINE)
    assert sys.version_info[:2] == (3, 11)
