"""Ingest one file as the worker would and print its own memory: idle, peak and after (JSON).

Run as a script so that the measurement is this process alone (the parser child is apart).
The peak is sampled (ru_maxrss would carry over the parent's peak through fork and exec).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import psutil


def main(path: str, state: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from studybuddy.config import load_config
    from studybuddy.ingest.detect import detect_kind
    from studybuddy.ingest.extract import ExtractionError
    from studybuddy.ingest.pipeline import ingest_document
    from studybuddy.store.models import Course, Document, User, new_id
    from studybuddy.store.sqlite import SqliteStore

    Path(state).mkdir(parents=True, exist_ok=True)
    cfg = load_config(env={}).replace(app={"state_dir": state})
    store = SqliteStore(Path(state) / "probe.db", Path(state) / "blobs")
    user = store.users.add(User(id=new_id(), email="probe@example.com", password_hash="x"))
    course = store.courses.add(Course(id=new_id(), owner_id=user.id, name="probe"))
    data = Path(path).read_bytes()
    blob_id = store.blobs.put(data)
    kind = detect_kind(data, Path(path).name).kind
    document = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=user.id,
                                            display_name=Path(path).name, blob_id=blob_id, kind=kind))
    process = psutil.Process()
    idle = process.memory_info().rss
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        ingest_document(store, cfg, document.id)
    except ExtractionError:
        pass
    done.set()
    sampler.join()
    after = process.memory_info().rss
    status = store.documents.get(document.id).status  # type: ignore[union-attr]
    mb = 1024 * 1024
    print(json.dumps({"status": status, "idle_mb": idle / mb, "after_mb": after / mb, "peak_mb": peak[0] / mb}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
