"""The built wheel carries templates and static files: install it outside the checkout, render a page."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_wheel_installed_in_a_fresh_venv_renders_a_page(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("studybuddy-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    # The dependencies come from the test environment's site-packages (no network needed);
    # StudyBuddy itself must come from the wheel.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = textwrap.dedent(f"""
        import studybuddy, pathlib
        from studybuddy.config import load_config
        from studybuddy.web import create_app
        here = pathlib.Path(studybuddy.__file__).resolve()
        assert str(here).startswith({str(venv.resolve())!r}), here
        assert (here.parent / "templates" / "base.html").is_file()
        assert not (here.parent / "templates").is_symlink()
        cfg = load_config(env={{}}).replace(app={{"state_dir": {str(tmp_path / 'state')!r}}},
                                             web={{"secret_key": "k"}})
        client = create_app(cfg).test_client()
        page = client.get("/signup")
        assert page.status_code == 200, page.status_code
        assert "csrf_token" in page.get_data(as_text=True)
        assert client.get("/static/css/app.css").status_code == 200
        print("rendered", len(page.data))
    """)
    out = subprocess.run([str(py), "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("rendered")
    help_out = subprocess.run([str(venv / "bin" / "studybuddy"), "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "run" in help_out.stdout
