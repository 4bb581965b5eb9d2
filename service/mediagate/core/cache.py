"""The media cache: content-addressed files, bounded in size, written atomically.

Layout under `root`::

    ab/abcdef…            content, named by its sha256 (no extension)
    cd/cdef….mp3          a *key* (e.g. "<input sha256>.mp3" for a conversion): a hard link to
                          its content, so the path handed to callers has a useful extension
    .tmp/                 files being written; cleared at start, never served

Why this shape:

* Content addressing makes identical downloads, base64 payloads and conversions one file, and
  lets a token (which carries the sha256) find its bytes again.
* Writers write a temp file in `.tmp/` (same file system), fsync it and `os.replace` it into
  place, so no half-written file ever has a servable name.
* Keys are hard links rather than sidecar files: no extra state to keep consistent, and a
  restart rebuilds the key index by matching inode numbers. Where hard links are not supported
  the key lives in memory only and resolves to the content path.
* Total size is bounded by `max_bytes` with least-recently-used eviction (recency is kept in
  memory, seeded from file mtimes at start). An entry being read is *pinned* (`pin`) and is never
  evicted; the newest entry is not evicted by its own insertion, so the cache may exceed the
  bound by one entry plus pinned entries until later insertions make room.
* `get_or_create` is single-flight per key: concurrent identical requests run the producer once
  and all wait for it; a failing producer leaves nothing behind and its error reaches them all.
* All blocking file I/O runs in worker threads (`asyncio.to_thread`), never on the event loop.

One process owns a cache directory; several processes sharing one is not supported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections import OrderedDict
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog

from mediagate.core.localfile import hash_blocks
from mediagate.core.singleflight import SingleFlight
from mediagate.core.threads import to_thread_settled as _thread

__all__ = ["CacheEntryTooLarge", "CachedFile", "MediaCache", "Producer"]

log = structlog.get_logger(__name__)

_TMP_DIR: Final = ".tmp"
_WRITE_BUFFER: Final = 1024 * 1024
_SHA256_NAME: Final = re.compile(r"[0-9a-f]{64}")
_KEY_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,199}")

Producer = Callable[[Path], Awaitable[None]]
"""Writes the entry's bytes to the given (temporary) path; the cache moves it into place."""


class CacheEntryTooLarge(Exception):
    """`put_stream` got more than its `max_bytes`; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class CachedFile:
    path: Path
    sha256: str
    size: int


@dataclass
class _Entry:
    size: int
    pins: int = 0
    # Key names hard-linked to this content (removed together with it).
    links: set[str] = field(default_factory=set)


def _fsync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_and_sync(path: Path) -> tuple[str, int]:
    """sha256 and size of a producer's output, fsynced so the rename publishes whole bytes."""
    digest = hashlib.sha256()
    with open(path, "rb+") as f:
        size = hash_blocks(f, digest)
        f.flush()
        os.fsync(f.fileno())
    return digest.hexdigest(), size


class MediaCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        # Resolved once, so `holds` compares like with like even when root is a symlink.
        self._root = Path(root).resolve()
        self._tmp = self._root / _TMP_DIR
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # LRU first
        self._keys: dict[str, str] = {}  # key -> content sha256
        self._total = 0
        self._flights: SingleFlight[str, CachedFile] = SingleFlight()
        self._started = False

    @classmethod
    async def open(cls, root: Path, max_bytes: int) -> MediaCache:
        cache = cls(root, max_bytes)
        await cache.start()
        return cache

    @property
    def root(self) -> Path:
        return self._root

    @property
    def tmp_dir(self) -> Path:
        """Where partial files live; never serve anything under it."""
        return self._tmp

    @property
    def total_bytes(self) -> int:
        return self._total

    async def start(self) -> None:
        """Create the directories, drop leftovers of a crash, index what is there. Idempotent."""
        if self._started:
            return
        contents, links = await _thread(self._scan)
        for sha, size, _mtime in sorted(contents, key=lambda c: c[2]):
            self._entries[sha] = _Entry(size)
            self._total += size
        for key, sha in links:
            self._keys[key] = sha
            self._entries[sha].links.add(key)
        self._started = True
        log.info("media_cache_opened", root=str(self._root), entries=len(self._entries),
                 bytes=self._total, max_bytes=self.max_bytes)  # fmt: skip
        await self._evict(keep=None)

    def _scan(self) -> tuple[list[tuple[str, int, float]], list[tuple[str, str]]]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()
        contents: list[tuple[str, int, float]] = []
        by_inode: dict[tuple[int, int], str] = {}
        candidates: list[tuple[Path, os.stat_result]] = []
        for shard in self._root.iterdir():
            if shard.name == _TMP_DIR or not shard.is_dir() or shard.is_symlink():
                continue
            for path in shard.iterdir():
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode):
                    continue
                if _SHA256_NAME.fullmatch(path.name) and shard.name == path.name[:2]:
                    contents.append((path.name, st.st_size, st.st_mtime))
                    by_inode[(st.st_dev, st.st_ino)] = path.name
                elif _KEY_NAME.fullmatch(path.name):
                    candidates.append((path, st))
        links: list[tuple[str, str]] = []
        for path, st in candidates:
            sha = by_inode.get((st.st_dev, st.st_ino))
            if sha is None:
                # A key whose content was evicted or never finished: useless, drop it.
                with contextlib.suppress(OSError):
                    path.unlink()
            else:
                links.append((path.name, sha))
        return contents, links

    def path_for(self, sha256: str) -> Path:
        """Where content with this sha256 lives (whether or not it is cached)."""
        if not _SHA256_NAME.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self._root / sha256[:2] / sha256

    def _key_path(self, key: str) -> Path:
        return self._root / key[:2] / key

    def lookup(self, sha256: str) -> CachedFile | None:
        """The cached content with this sha256 (marked recently used), or None.

        The path is a key's (e.g. "….mp3") when one links to the content, since its extension
        helps whoever opens it; otherwise the sha256-named file.
        """
        entry = self._entries.get(sha256) if _SHA256_NAME.fullmatch(sha256) else None
        if entry is None:
            return None
        self._entries.move_to_end(sha256)
        path = self._key_path(min(entry.links)) if entry.links else self.path_for(sha256)
        return CachedFile(path, sha256, entry.size)

    def lookup_key(self, key: str) -> CachedFile | None:
        """The entry stored under `key` by `get_or_create` (marked recently used), or None."""
        sha = self._keys.get(key)
        if sha is None:
            return None
        entry = self._entries.get(sha)
        if entry is None:  # an in-memory alias whose content was evicted
            del self._keys[key]
            return None
        self._entries.move_to_end(sha)
        path = self._key_path(key) if key in entry.links else self.path_for(sha)
        return CachedFile(path, sha, entry.size)

    def holds(self, path: Path) -> bool:
        """True when `path` (already resolved) is one of the cache's servable files."""
        try:
            rel = path.relative_to(self._root)
        except ValueError:
            return False
        return len(rel.parts) == 2 and rel.parts[0] != _TMP_DIR

    @contextlib.contextmanager
    def pin(self, sha256: str) -> Iterator[None]:
        """Keep this content from being evicted while the block runs (no-op when not cached)."""
        entry = self._entries.get(sha256)
        if entry is not None:
            entry.pins += 1
        try:
            yield
        finally:
            if entry is not None:
                entry.pins -= 1

    @contextlib.contextmanager
    def scratch(self, suffix: str = "") -> Iterator[Path]:
        """A fresh path in the cache's temp directory, removed when the block ends."""
        path = self._new_tmp(suffix)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    def _new_tmp(self, suffix: str = "") -> Path:
        return self._tmp / f"{secrets.token_hex(12)}{suffix}"

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> CachedFile:
        """Store a byte stream under its sha256 (hashed while writing).

        Raises CacheEntryTooLarge, leaving nothing behind, once more than `max_bytes` arrive.
        """
        tmp = self._new_tmp()
        digest = hashlib.sha256()
        size = 0
        fd = await _thread(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        closed = False
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise CacheEntryTooLarge(max_bytes)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= _WRITE_BUFFER:
                    await _thread(_write_all, fd, digest, pending)
                    pending, buffered = [], 0
            await _thread(_write_all, fd, digest, pending)
            closed = True
            await _thread(_fsync_close, fd)
            return await self._commit(tmp, digest.hexdigest(), size)
        except BaseException:
            if not closed:
                os.close(fd)
            await _thread(tmp.unlink, missing_ok=True)
            raise

    async def get_or_create(self, key: str, producer: Producer) -> CachedFile:
        """The entry for `key`, made by `producer` (once, however many callers) when absent.

        `key` is a file name such as "<sha256>.mp3" (letters, digits, '.', '_', '-'; not a bare
        sha256). The returned path carries the key's name, hence its extension.
        """
        if not _KEY_NAME.fullmatch(key) or _SHA256_NAME.fullmatch(key):
            raise ValueError(f"invalid cache key {key!r}")
        hit = self.lookup_key(key)
        if hit is not None:
            return hit
        return await self._flights.run(key, lambda: self._create(key, producer))

    async def _create(self, key: str, producer: Producer) -> CachedFile:
        hit = self.lookup_key(key)  # made by a flight that finished while this one was queued
        if hit is not None:
            return hit
        tmp = self._new_tmp(Path(key).suffix)
        try:
            await producer(tmp)
            if not await _thread(tmp.is_file):
                raise RuntimeError(f"cache producer for {key!r} wrote no file")
            sha, size = await _thread(_hash_and_sync, tmp)
            content = await self._commit(tmp, sha, size)
        except BaseException:
            await _thread(tmp.unlink, missing_ok=True)
            raise
        linked = await _thread(self._link, content.path, key)
        entry = self._entries.get(sha)
        if entry is None:  # evicted meanwhile (only possible under a tiny bound)
            return content
        self._keys[key] = sha
        if linked:
            entry.links.add(key)
            return CachedFile(self._key_path(key), sha, size)
        return content

    def _link(self, content: Path, key: str) -> bool:
        target = self._key_path(key)
        target.parent.mkdir(exist_ok=True)
        staged = self._new_tmp()
        try:
            os.link(content, staged)
            os.replace(staged, target)
        except OSError as exc:
            log.warning("media_cache_link_failed", key=key, error=str(exc))
            with contextlib.suppress(OSError):
                staged.unlink()
            return False
        return True

    async def _commit(self, tmp: Path, sha: str, size: int) -> CachedFile:
        """Publish a finished temp file as content `sha`, then make room."""
        final = self.path_for(sha)
        if sha in self._entries:
            await _thread(tmp.unlink, missing_ok=True)
        else:
            await _thread(_publish, tmp, final)
            if sha not in self._entries:  # another writer of the same bytes may have won
                self._entries[sha] = _Entry(size)
                self._total += size
        self._entries.move_to_end(sha)
        await self._evict(keep=sha)
        return CachedFile(final, sha, size)

    async def _evict(self, *, keep: str | None) -> None:
        doomed: list[Path] = []
        for sha in list(self._entries):
            if self._total <= self.max_bytes:
                break
            entry = self._entries[sha]
            if entry.pins or sha == keep:
                continue
            del self._entries[sha]
            self._total -= entry.size
            doomed.append(self.path_for(sha))
            for key in entry.links:
                self._keys.pop(key, None)
                doomed.append(self._key_path(key))
            log.debug("media_cache_evicted", sha256=sha, size=entry.size)
        if doomed:
            await _thread(_unlink_all, doomed)


def _write_all(fd: int, digest: hashlib._Hash, chunks: list[bytes]) -> None:
    for chunk in chunks:
        digest.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def _publish(tmp: Path, final: Path) -> None:
    final.parent.mkdir(exist_ok=True)
    os.replace(tmp, final)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
