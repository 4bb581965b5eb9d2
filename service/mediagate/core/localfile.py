"""Reading and hashing files: a caller's local file safely and once per version; any file's head.

The resolver has already checked the path (inside a root, symlinks resolved). Between that check
and the open, the file could be swapped: `open_and_hash` opens with O_NOFOLLOW (a symlink put in
place of the last component is refused) and O_NONBLOCK (a FIFO cannot hang the open), then
checks on the open descriptor that it is a regular file.

Hashing a large local video for every request would cost a second per request, so the sha256 is
memoized by the file's identity (device, inode, size, mtime, ctime): any write changes it.

Also the two small readers every sniffing and hashing caller shares (the resolver, the cache,
the transcoder): `read_head` (the first bytes, for magic-byte sniffing) and `hash_blocks`
(feed an open file to a digest in bounded reads, so a large video never sits in memory).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from mediagate.core.errors import SourceUnavailable

__all__ = ["HASH_BLOCK_BYTES", "HashMemo", "LocalFile", "hash_blocks", "open_and_hash", "read_head"]

HASH_BLOCK_BYTES: Final = 1024 * 1024


def read_head(path: Path, size: int) -> bytes:
    """The first `size` bytes of `path` (fewer when it is shorter); blocking, use a thread."""
    with open(path, "rb") as f:
        return f.read(size)


def hash_blocks(f: BinaryIO, digest: hashlib._Hash) -> int:
    """Feed the rest of `f` to `digest` in HASH_BLOCK_BYTES reads; returns the bytes read."""
    size = 0
    while block := f.read(HASH_BLOCK_BYTES):
        digest.update(block)
        size += len(block)
    return size


@dataclass(frozen=True)
class LocalFile:
    path: Path
    sha256: str
    size: int
    head: bytes


class HashMemo:
    """sha256 of local files by identity (device, inode, size, mtime, ctime), most recent kept.

    A large local video named in several requests is hashed once; any change to the file
    changes its mtime/ctime and so its identity. Used from worker threads, hence the lock.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._known: OrderedDict[tuple[int, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, identity: tuple[int, ...]) -> str | None:
        with self._lock:
            sha = self._known.get(identity)
            if sha is not None:
                self._known.move_to_end(identity)
            return sha

    def put(self, identity: tuple[int, ...], sha: str) -> None:
        with self._lock:
            self._known[identity] = sha
            if len(self._known) > self._capacity:
                self._known.popitem(last=False)


def open_and_hash(
    real: Path, memo: HashMemo, *, field: str, missing: str, head_bytes: int
) -> LocalFile:
    """Open a checked path safely and hash it (or take the memoized sha256); keep its first
    `head_bytes` for sniffing."""
    # O_NONBLOCK: a FIFO swapped in after the checks must not hang the open; O_NOFOLLOW: nor
    # may a symlink swapped in for the last component lead elsewhere.
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        raise SourceUnavailable(field, missing, reason="SOURCE_NOT_FOUND") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise SourceUnavailable(field, "is not a regular file", reason="SOURCE_REFUSED")
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with os.fdopen(fd, "rb") as f:
        head = f.read(head_bytes)
        known = memo.get(identity)
        if known is not None:
            return LocalFile(real, known, st.st_size, head)
        digest = hashlib.sha256(head)
        size = len(head) + hash_blocks(f, digest)
    sha = digest.hexdigest()
    if size == st.st_size:  # not written to while hashing
        memo.put(identity, sha)
    return LocalFile(real, sha, size, head)
