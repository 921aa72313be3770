"""Every bad input gives a clear error and leaves the target exactly as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from studybuddy.backup import BackupError, MongoTarget, SqliteTarget, create_backup, restore_backup, verify_backup
from studybuddy.backup.sources import SqliteSource, code_schema_version
from studybuddy.cli import main
from studybuddy.store.sqlite import SqliteStore
from tests.conftest import make_config

from .helpers import populate, rewrite_archive, tree_digest


@pytest.fixture
def archive(tmp_path: Path, sqlite_store: SqliteStore) -> Path:
    populate(sqlite_store)
    path, _ = create_backup(make_config(tmp_path), tmp_path / "archives",
                            source=SqliteSource(Path(sqlite_store.path), tmp_path / "src" / "blobs"))
    return path


@pytest.fixture
def target(tmp_path: Path) -> tuple[SqliteTarget, Path]:
    """A target that already holds a store of its own (restored with --force in these tests)."""
    root = tmp_path / "target"
    store = SqliteStore(root / "studybuddy.db", root / "blobs")
    populate(store, blobs=1)
    store.close()
    return SqliteTarget(root / "studybuddy.db", root / "blobs"), root


def _refused(archive: Path, target: tuple[SqliteTarget, Path], match: str, force: bool = True) -> None:
    before = tree_digest(target[1])
    with pytest.raises(BackupError, match=match):
        restore_backup(archive, target[0], force=force)
    assert tree_digest(target[1]) == before, "the target changed"
    assert not [p for p in target[1].iterdir() if p.name.startswith(".restore-")], "staging left behind"


def test_truncated_archive(tmp_path: Path, archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    _refused(cut, target, "truncated or damaged")
    with pytest.raises(BackupError, match="truncated"):
        verify_backup(cut)


def test_archive_cut_before_its_manifest(tmp_path: Path, archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    """Whole members, cleanly ended, but no manifest: still refused."""
    import gzip
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(archive, "r:gz") as src, tarfile.open(fileobj=buf, mode="w") as out:
        for member in src:
            if member.name != "manifest.json":
                out.addfile(member, src.extractfile(member))
    cut = tmp_path / "no-manifest.tar.gz"
    cut.write_bytes(gzip.compress(buf.getvalue()))
    _refused(cut, target, "no manifest")


def test_tampered_member(tmp_path: Path, archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    bad = tmp_path / "tampered.tar.gz"

    def flip(name: str, data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] ^ 1]) if name.startswith("blobs/") else data

    rewrite_archive(archive, bad, member=flip)
    _refused(bad, target, r"blobs/[0-9a-f]+ does not match its SHA-256")
    result = CliRunner().invoke(main, ["backup", "--verify", str(bad)])
    assert result.exit_code == 1 and "does not match its SHA-256" in result.output


def test_member_the_manifest_does_not_list(tmp_path: Path, archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    bad = tmp_path / "extra.tar.gz"
    rewrite_archive(archive, bad, manifest=lambda m: {**m, "members": {
        k: v for k, v in m["members"].items() if not k.startswith("config/")}})
    _refused(bad, target, "which its manifest does not list")


def test_archive_from_a_newer_version(tmp_path: Path, archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    newer = tmp_path / "newer.tar.gz"

    def future(m: dict[str, Any]) -> dict[str, Any]:
        m["store"]["schema_version"] = code_schema_version() + 1
        m["app_version"] = "9.0.0"
        return m

    rewrite_archive(archive, newer, manifest=future, rehash=True)
    _refused(newer, target, r"made by StudyBuddy 9\.0\.0 with schema \d+; this StudyBuddy knows schema \d+ at most")
    newer_format = tmp_path / "newer-format.tar.gz"
    rewrite_archive(archive, newer_format, manifest=lambda m: {**m, "format_version": 99}, rehash=True)
    _refused(newer_format, target, "uses format 99, newer than this StudyBuddy reads")


def test_not_an_archive(tmp_path: Path, target: tuple[SqliteTarget, Path]) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not gzip at all" * 100)
    _refused(junk, target, "truncated or damaged")


def test_non_empty_target_needs_force(archive: Path, target: tuple[SqliteTarget, Path]) -> None:
    _refused(archive, target, r"the target store is not empty \(.*users 2.*\).*--force", force=False)
    restore_backup(archive, target[0], force=True)  # the positive control


def test_non_empty_mongodb_target_needs_force(tmp_path: Path, archive: Path, mongo_client: tuple[Any, str]) -> None:
    client, name = mongo_client
    client[name].users.insert_one({"_id": "someone", "email": "x@example.com"})
    with pytest.raises(BackupError, match=r"not empty \(users 1\)"):
        restore_backup(archive, MongoTarget(client, name, tmp_path / "scratch"))
    assert list(client[name].list_collection_names()) == ["users"]
    assert client[name].users.count_documents({}) == 1


def test_restore_into_a_running_system_is_refused_with_the_command_to_stop_it(
        tmp_path: Path, archive: Path) -> None:
    fake = tmp_path / "systemctl"
    fake.write_text("#!/bin/sh\n[ \"$1\" = is-active ] || exit 2\necho active\necho active\necho inactive\nexit 0\n")
    fake.chmod(0o755)
    state = tmp_path / "state"
    config = tmp_path / "c.yaml"
    config.write_text(f"app:\n  state_dir: {state}\nmonitor:\n  systemctl: {fake}\n")
    store = SqliteStore(state / "studybuddy.db", state / "blobs")
    store.close()
    before = tree_digest(state)
    result = CliRunner().invoke(main, ["-c", str(config), "restore", "--force", str(archive)], env={})
    assert result.exit_code == 1
    assert "StudyBuddy is running (studybuddy-web.service, studybuddy-worker.service)" in result.output
    assert "sudo systemctl stop 'studybuddy*'" in result.output
    assert tree_digest(state) == before
    # Once stopped, the same command restores.
    fake.write_text("#!/bin/sh\necho inactive\necho inactive\necho inactive\nexit 3\n")
    result = CliRunner().invoke(main, ["-c", str(config), "restore", "--force", str(archive)], env={})
    assert result.exit_code == 0, result.output
    assert "records:" in result.output and "users 2" in result.output


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="a small tmpfs needs root and unshare(1)")
def test_full_disk_during_backup_leaves_no_partial_archive(tmp_path: Path, sqlite_store: SqliteStore) -> None:
    """A real full disk: the backup directory is a 1 MiB tmpfs, the store holds more than that."""
    populate(sqlite_store, blobs=2)
    for n in range(6):
        sqlite_store.blobs.put(os.urandom(300_000) + bytes([n]))
    state = Path(sqlite_store.path).parent
    config = tmp_path / "c.yaml"
    config.write_text(f"app:\n  state_dir: {state}\n")
    full = tmp_path / "full"
    full.mkdir()
    script = (f"mount -t tmpfs -o size=1m tmpfs {full} && "
              f"{sys.executable} -m studybuddy.cli -c {config} backup --to {full}; rc=$?; "
              f"echo LEFT:; ls -A {full}; exit $rc")
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    if "mount:" in proc.stderr and "permission denied" in proc.stderr.lower():
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no space left in" in proc.stderr and "the backup was not written" in proc.stderr, proc.stderr
    assert proc.stdout.split("LEFT:")[1].strip() == "", f"left behind: {proc.stdout}"


def test_backup_of_a_missing_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="there is no StudyBuddy database at"):
        create_backup(make_config(tmp_path), tmp_path / "a",
                      source=SqliteSource(tmp_path / "nothing.db", tmp_path / "blobs"))
    assert list((tmp_path / "a").iterdir()) == []


def test_verify_prints_what_the_archive_holds(archive: Path) -> None:
    result = CliRunner().invoke(main, ["backup", "--verify", str(archive)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "users 2" in result.output and "sqlite store" in result.output
    manifest = verify_backup(archive)
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())
    assert json.dumps(manifest)  # plain JSON
