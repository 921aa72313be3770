"""Backup and restore throughput of a 1 GB store (rows + blobs), against `sqlite3 .backup` + `tar`
of the same data, measured in the same run. Aim (issue 16): within 1.5x of the baseline.

The store is made once: about a fifth of it rows (courses, documents, pages, chunks, items), the
rest uploaded files, half of them incompressible like a PDF's streams, half text. Each figure is
the median of BENCH_REPEAT runs (default 3); BENCH_BACKUP_MB sets the size (default 1024).

  ours      `studybuddy backup` (online backup API, gzip'd tar, SHA-256 of every member, manifest)
            and `studybuddy restore` (every checksum verified, migrations, counts checked)
  baseline  sqlite3 DB ".backup SNAP" then tar -czf of SNAP and the blobs; tar -xzf to restore
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studybuddy.backup import SqliteTarget, create_backup, restore_backup  # noqa: E402
from studybuddy.backup.sources import SqliteSource  # noqa: E402
from studybuddy.config import load_config  # noqa: E402
from studybuddy.store.models import Chunk, Course, Document, Item, Page, User, new_id  # noqa: E402
from studybuddy.store.sqlite import SqliteStore  # noqa: E402

AIM = 1.5
MB = 1024 * 1024
TEXT = ("הפוטוסינתזה היא התהליך שבו צמחים הופכים אור לאנרגיה כימית. "
        "Photosynthesis converts light into chemical energy; chlorophyll absorbs red and blue light. ").encode()


def make_store(root: Path, total_mb: int) -> tuple[Path, Path, int, int]:
    db, blobs = root / "studybuddy.db", root / "blobs"
    store = SqliteStore(db, blobs)
    user = store.users.add(User(id=new_id(), email="bench@example.com", password_hash="x"))
    course = store.courses.add(Course(id=new_id(), owner_id=user.id, name="bench"))
    rows_target, blob_target = total_mb * MB // 5, total_mb * MB * 4 // 5
    blob_bytes = 0
    size = 2 * MB
    n = 0
    while blob_bytes < blob_target:
        data = os.urandom(size) if n % 2 == 0 else (TEXT * (size // len(TEXT) + 1))[:size - n]
        blob_id = store.blobs.put(data)
        blob_bytes += len(data)
        doc = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=user.id,
                                           display_name=f"file {n}.pdf", blob_id=blob_id, size=len(data)))
        n += 1
        store.pages.replace_for_document(doc.id, [Page(doc.id, p, (TEXT * 20).decode()) for p in range(1, 11)])
    docs = store.documents.list_for_course(course.id)
    i = 0
    while db.stat().st_size < rows_target:
        doc = docs[i % len(docs)]
        store.chunks.replace_for_document(doc.id, [
            Chunk(new_id(), doc.id, course.id, k, 1, (TEXT * 6).decode() + str(i), (TEXT * 6).decode())
            for k in range(200)])
        for k in range(50):
            store.items.add(Item(id=new_id(), kind="review_log", owner_id=user.id, course_id=course.id,
                                 data={"rating": k % 4 + 1, "card": new_id(), "note": (TEXT * 2).decode()}))
        i += 1
    store.close()
    return db, blobs, db.stat().st_size, blob_bytes


def one_run(work: Path, cfg: Any, db: Path, blobs: Path, sqlite3_cli: str, sizes: dict[str, int]) -> list[float]:
    """[ours backup, ours restore, baseline backup, baseline restore] in seconds, each cleaned up."""
    times = []
    started = time.perf_counter()
    archive, _ = create_backup(cfg, work / "ours", source=SqliteSource(db, blobs))
    times.append(time.perf_counter() - started)
    sizes["ours"] = archive.stat().st_size
    target = work / "ours-restored"
    started = time.perf_counter()
    restore_backup(archive, SqliteTarget(target / "studybuddy.db", target / "blobs"))
    times.append(time.perf_counter() - started)
    shutil.rmtree(work / "ours")
    shutil.rmtree(target)

    base = work / "base"
    base.mkdir()
    tgz = base / "backup.tar.gz"
    started = time.perf_counter()
    subprocess.run([sqlite3_cli, str(db), f".backup {base / 'snap.db'}"], check=True)
    subprocess.run(["tar", "-czf", str(tgz), "-C", str(base), "snap.db", "-C", str(db.parent), "blobs"], check=True)
    times.append(time.perf_counter() - started)
    sizes["baseline"] = tgz.stat().st_size
    restored = base / "restored"
    restored.mkdir()
    started = time.perf_counter()
    subprocess.run(["tar", "-xzf", str(tgz), "-C", str(restored)], check=True)
    times.append(time.perf_counter() - started)
    shutil.rmtree(base)
    return times


def main() -> int:
    total_mb = int(os.environ.get("BENCH_BACKUP_MB", "1024"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    sqlite3_cli = shutil.which("sqlite3")
    if not sqlite3_cli:
        print("bench/backup.py needs the sqlite3 command line tool (apt-get install sqlite3)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="sb-bench-backup-", dir=os.environ.get("BENCH_TMP")))
    try:
        db, blobs, db_bytes, blob_bytes = make_store(work / "store", total_mb)
        total = db_bytes + blob_bytes
        cfg = load_config(env={}).replace(app={"state_dir": str(work / "store")})
        sizes: dict[str, int] = {}
        runs = [one_run(work, cfg, db, blobs, sqlite3_cli, sizes) for _ in range(repeat)]
        ours_b, ours_r, base_b, base_r = ([r[i] for r in runs] for i in range(4))
        mbs = total / MB

        def line(what: str, ours: list[float], base: list[float]) -> str:
            o, b = statistics.median(ours), statistics.median(base)
            ratio = o / b
            verdict = "meets" if ratio <= AIM else "MISSES"
            return (f"{what:<8} studybuddy {mbs / o:6.1f} MB/s ({o:5.1f} s)   tar + sqlite3 .backup "
                    f"{mbs / b:6.1f} MB/s ({b:5.1f} s)   ratio {ratio:.2f}x   aim: within {AIM}x ({verdict})")

        print(f"store: {mbs:.0f} MB = rows {db_bytes / MB:.0f} MB + blobs {blob_bytes / MB:.0f} MB; "
              f"median of {repeat} runs each")
        print(line("backup", ours_b, base_b))
        print(line("restore", ours_r, base_r))
        print(f"archive  studybuddy {sizes['ours'] / MB:.0f} MB, baseline {sizes['baseline'] / MB:.0f} MB "
              f"(ratio {sizes['ours'] / sizes['baseline']:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
