"""On-disk spool for APPEND segments, so a 512 MiB upload never sits in memory.

Each emulator owns one temp directory. A segment is written to a fresh uniquely named file while
it streams in and only then attached to its media (a retried segment_index swaps files), so a
refused or faulted APPEND leaves nothing behind. FINALIZE concatenates the segments into one file
while hashing it; all file I/O runs in worker threads to keep the event loop responsive.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

_COPY_BLOCK: Final = 1024 * 1024
_WRITE_BATCH: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Assembled:
    path: Path
    size: int
    md5: str
    sha256: str


def _assemble(parts: list[Path], target: Path) -> Assembled:
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(_COPY_BLOCK):
                    md5.update(block)
                    sha256.update(block)
                    out.write(block)
                    size += len(block)
    return Assembled(path=target, size=size, md5=md5.hexdigest(), sha256=sha256.hexdigest())


def _unlink_all(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    async def create(cls, parent: Path | None) -> Spool:
        root = await asyncio.to_thread(tempfile.mkdtemp, prefix="mediagate-emulator-", dir=parent)
        return cls(Path(root))

    def new_path(self, suffix: str = ".part") -> Path:
        return self.root / f"{uuid.uuid4().hex}{suffix}"

    async def open_writer(self) -> SpoolWriter:
        path = self.new_path()
        handle = await asyncio.to_thread(path.open, "wb")
        return SpoolWriter(path, handle)

    async def write_bytes(self, data: bytes) -> Path:
        path = self.new_path()
        await asyncio.to_thread(path.write_bytes, data)
        return path

    async def assemble(self, parts: list[Path]) -> Assembled:
        return await asyncio.to_thread(_assemble, parts, self.new_path(".bin"))

    async def delete(self, *paths: Path) -> None:
        if paths:
            await asyncio.to_thread(_unlink_all, paths)

    async def reset(self) -> None:
        """Delete every spooled file but keep the directory."""
        await asyncio.to_thread(self._reset_sync)

    def _reset_sync(self) -> None:
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    async def remove(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self.root, True)


class SpoolWriter:
    """Buffered writer that hands disk writes to a thread in ~1 MiB batches."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self.size = 0
        self._handle = handle
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= _WRITE_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self._buffer:
            block = bytes(self._buffer)
            self._buffer.clear()
            await asyncio.to_thread(self._handle.write, block)

    async def close(self) -> None:
        try:
            await self._flush()
        finally:
            await asyncio.to_thread(self._handle.close)

    async def abort(self) -> None:
        self._buffer.clear()
        await asyncio.to_thread(self._handle.close)
        await asyncio.to_thread(self.path.unlink, True)
