"""The archive: a gzip-compressed tar, each member hashed with SHA-256 as it is written or read.

Layout (every name is checked on the way in, nothing else is ever extracted):

    store/studybuddy.db               SQLite: a snapshot made with the online backup API
    store/collections/<name>.bson     MongoDB: one file of concatenated BSON documents per collection
    blobs/<id>                        uploaded files (SQLite blob files or the GridFS "blobs" bucket)
    gridfs/<bucket>/<id>              files of any other GridFS bucket
    config/config.yaml                the effective configuration, secrets left out
    manifest.json                     last: versions, schema, counts and the SHA-256 of every member

It is written to a hidden file beside its final name (mode 0600 from the start) and renamed
only when complete, so a reader never sees half an archive.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import queue
import re
import tarfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

MANIFEST = "manifest.json"
FORMAT = "studybuddy-backup"
FORMAT_VERSION = 1
SUFFIX = ".tar.gz"
CHUNK = 1 << 20
COMPRESS_LEVEL = 6

_MEMBER = re.compile(
    r"^(?:manifest\.json"
    r"|config/config\.yaml"
    r"|store/studybuddy\.db"
    r"|store/collections/[A-Za-z0-9_][A-Za-z0-9_.$-]{0,200}\.bson"
    r"|blobs/[0-9a-f]{1,64}"
    r"|gridfs/[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}/[0-9a-f]{1,64})$"
)


class BackupError(Exception):
    """A problem the administrator can act on; the message says what and what to do."""


def member_name_ok(name: str) -> bool:
    return bool(_MEMBER.match(name)) and ".." not in name


class _HashingReader:
    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


class _ThreadedGzip:
    """A write-only gzip stream that compresses on a second thread (zlib releases the GIL), so
    reading and hashing the next member overlaps compressing the last one, as `tar | gzip` does."""

    def __init__(self, raw: BinaryIO, level: int):
        self.raw = raw
        self.buf = bytearray()
        self.written = 0
        self.todo: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.zip = zlib.compressobj(level, zlib.DEFLATED, 31)
        self.thread = threading.Thread(target=self._run, name="backup-gzip", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                block = self.todo.get()
                if block is None:
                    self.raw.write(self.zip.flush())
                    return
                self.raw.write(self.zip.compress(block))
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            self.error = exc
            while self.todo.get() is not None:  # unblock the writer until it sees the error
                pass

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, data: bytes) -> int:
        self._check()
        self.buf += data
        self.written += len(data)
        if len(self.buf) >= CHUNK:
            self.todo.put(bytes(self.buf))
            self.buf.clear()
        return len(data)

    def tell(self) -> int:
        return self.written

    def close(self) -> None:
        if self.buf:
            self.todo.put(bytes(self.buf))
            self.buf.clear()
        self.todo.put(None)
        self.thread.join()
        self._check()

    def abort(self) -> None:
        if self.thread.is_alive():
            self.todo.put(None)
            self.thread.join(timeout=30)


class _ThreadedGunzip:
    """A read-only gzip stream decompressed on a second thread, ahead of the reader (who hashes
    and writes), as `gzip -d | tar x` does. Truncation and CRC errors surface on read."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.done: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self.buf = b""
        self.pos = 0
        self.finished = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="backup-gunzip", daemon=True)
        self.thread.start()

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self.stop.is_set():
            try:
                self.done.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            unzip = zlib.decompressobj(31)
            while not self.stop.is_set():
                block = self.raw.read(CHUNK)
                if not block:
                    if not unzip.eof:
                        raise EOFError("compressed file ended before the end-of-stream marker was reached")
                    break
                while block:
                    out = unzip.decompress(block)
                    if out:
                        self._put(out)
                    block = b""
                    if unzip.eof and unzip.unused_data:
                        # Another gzip member follows (as gzip(1) writes when files are concatenated).
                        block = unzip.unused_data
                        if block.strip(b"\0"):
                            unzip = zlib.decompressobj(31)
                        else:
                            block = b""
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self._put(exc)

    def read(self, n: int = -1) -> bytes:
        parts: list[bytes] = []
        want = n if n >= 0 else 1 << 62
        while want > 0:
            if self.pos >= len(self.buf):
                if self.finished:
                    break
                item = self.done.get()
                if item is None:
                    self.finished = True
                    break
                if isinstance(item, BaseException):
                    self.finished = True
                    raise item
                self.buf, self.pos = item, 0
            piece = self.buf[self.pos:self.pos + want]
            self.pos += len(piece)
            want -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def __enter__(self) -> "_ThreadedGunzip":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _MemberWriter:
    """Hashes members' blocks, and writes them to their files, on a second thread: the reading
    thread only unpacks the tar (as `tar x` does while `gzip -d` inflates), so inflating,
    hashing and writing overlap. Results are in `digests` once the thread has joined."""

    def __init__(self) -> None:
        self.todo: queue.Queue[tuple[str, IO[bytes] | None, bytes | None] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.digests: dict[str, dict[str, Any]] = {}
        self.thread = threading.Thread(target=self._run, name="backup-write", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        sha = hashlib.sha256()
        size = 0
        while True:
            item = self.todo.get()
            if item is None:
                return
            name, out, block = item
            try:
                if block is None:
                    self.digests[name] = {"size": size, "sha256": sha.hexdigest()}
                    sha, size = hashlib.sha256(), 0
                    if out is not None:
                        out.close()
                    continue
                sha.update(block)
                size += len(block)
                if out is not None and self.error is None:
                    out.write(block)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, name: str, out: IO[bytes] | None, block: bytes) -> None:
        self._check()
        self.todo.put((name, out, block))

    def finish(self, name: str, out: IO[bytes] | None) -> None:
        self._check()
        self.todo.put((name, out, None))

    def __enter__(self) -> "_MemberWriter":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.todo.put(None)
        self.thread.join()
        if exc_type is None:
            self._check()


class ArchiveWriter:
    def __init__(self, final: Path, level: int = COMPRESS_LEVEL):
        self.final = final
        self.tmp = final.with_name(f".{final.name}.partial")
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.raw = os.fdopen(fd, "wb", buffering=CHUNK)
        self.gz = _ThreadedGzip(self.raw, level)
        self.tar = tarfile.open(fileobj=self.gz, mode="w", format=tarfile.PAX_FORMAT)  # type: ignore[call-overload]
        self.tar.copybufsize = CHUNK
        self.members: dict[str, dict[str, Any]] = {}

    def add_stream(self, name: str, stream: IO[bytes], size: int, mtime: float | None = None) -> dict[str, Any]:
        assert member_name_ok(name), name
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(mtime if mtime is not None else time.time())
        info.mode = 0o600
        reader = _HashingReader(stream)
        self.tar.addfile(info, reader)  # type: ignore[arg-type]
        entry = {"size": reader.size, "sha256": reader.sha.hexdigest()}
        self.members[name] = entry
        return entry

    def add_file(self, name: str, path: Path) -> dict[str, Any]:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            return self.add_stream(name, f, st.st_size, st.st_mtime)

    def add_bytes(self, name: str, data: bytes) -> dict[str, Any]:
        import io

        return self.add_stream(name, io.BytesIO(data), len(data))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest, close, fsync and rename into place."""
        manifest = {**manifest, "members": self.members}
        data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        import io

        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(time.time())
        info.mode = 0o600
        self.tar.addfile(info, io.BytesIO(data))
        self.tar.close()
        self.gz.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        os.replace(self.tmp, self.final)
        fsync_dir(self.final.parent)
        return self.final

    def abort(self) -> None:
        for close in (self.gz.abort, self.raw.close):
            try:
                close()
            except Exception:  # noqa: BLE001, S110 - the first error is the one reported
                pass
        self.tmp.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


MemberSink = Callable[[str, int], "IO[bytes] | None"]


def read_archive(path: Path | str | BinaryIO, sink: MemberSink) -> dict[str, Any]:
    """Stream through an archive once: check every member's name and SHA-256 against the manifest.

    `sink(name, size)` returns a file to copy the member into (closed here) or None to only
    check it. Raises BackupError, naming the problem, if anything does not match; the caller
    must then throw away whatever its sink wrote.
    """
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with _opened(path) as raw, _ThreadedGunzip(raw) as gz, _MemberWriter() as writer, \
                tarfile.open(fileobj=gz, mode="r|", bufsize=CHUNK) as tar:  # type: ignore[call-overload]
            for member in tar:
                name = member.name
                if not member.isfile() or not member_name_ok(name):
                    raise BackupError(f"the archive holds an unexpected member {name!r}: it was not made by "
                                      "`studybuddy backup`, or it was altered")
                if name in seen or (name == MANIFEST and manifest is not None):
                    raise BackupError(f"the archive holds {name!r} twice: it was altered")
                f = tar.extractfile(member)
                assert f is not None
                if name == MANIFEST:
                    manifest = _parse_manifest(f.read(16 << 20))
                    continue
                out = sink(name, member.size)
                for block in iter(lambda: f.read(CHUNK), b""):  # noqa: B023 - f is this member's
                    writer.write(name, out, block)
                writer.finish(name, out)
                seen[name] = {}
    except BackupError:
        raise
    except FileNotFoundError:
        raise BackupError(f"{path}: no such archive") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BackupError(f"the archive is truncated or damaged ({exc}); nothing was restored") from None
    seen = writer.digests
    if manifest is None:
        raise BackupError("the archive has no manifest: it is truncated, or was not made by `studybuddy backup`")
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise BackupError("the archive's manifest lists no members: it was altered")
    for name, want in sorted(listed.items()):
        got = seen.get(name)
        if got is None:
            raise BackupError(f"the archive lacks {name}, which its manifest lists: it is truncated or was altered")
        if got["sha256"] != want.get("sha256") or got["size"] != want.get("size"):
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the archive was altered "
                              "or damaged")
    extra = sorted(set(seen) - set(listed))
    if extra:
        raise BackupError(f"the archive holds {extra[0]}, which its manifest does not list: it was altered")
    return manifest


def _opened(path: Path | str | BinaryIO) -> Any:
    if hasattr(path, "read"):
        return contextlib.nullcontext(path)
    return open(path, "rb")  # noqa: SIM115 - closed by the caller's with


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BackupError("the archive's manifest is not valid JSON: it was altered or damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this is not a StudyBuddy backup (its manifest has another format)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(f"the archive uses format {version}, newer than this StudyBuddy reads "
                          f"({FORMAT_VERSION}): install the version that made it "
                          f"({manifest.get('app_version', '?')}) or newer")
    return manifest


def iter_files(root: Path) -> Iterator[Path]:
    """Regular files under root (sorted), skipping hidden ones (a blob being written)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name
