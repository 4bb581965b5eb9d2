"""The media cache on a real disk: atomicity, single-flight, LRU bound, pins, restart."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mediagate.core.cache import CacheEntryTooLarge, MediaCache

from .helpers import read


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def samefile(a: Path, b: Path) -> bool:
    return os.path.samefile(a, b)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_put_stream_is_content_addressed(cache: MediaCache) -> None:
    data = b"hello " * 1000
    first = await cache.put_stream(_chunks(data[:100], data[100:]))
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.path == cache.root / first.sha256[:2] / first.sha256
    assert read(first.path) == data and first.size == len(data)
    again = await cache.put_stream(_chunks(data))
    assert again == first and cache.total_bytes == len(data)
    assert cache.lookup(first.sha256) == first
    assert cache.lookup("0" * 64) is None and cache.lookup("../x") is None
    assert cache.path_for(first.sha256) == first.path


async def test_put_stream_over_the_limit_leaves_nothing(cache: MediaCache) -> None:
    with pytest.raises(CacheEntryTooLarge):
        await cache.put_stream(_chunks(b"a" * 600, b"b" * 600), max_bytes=1000)
    assert _files(cache.root) == [] and cache.total_bytes == 0


async def test_failing_producer_leaves_nothing_and_fails_every_waiter(cache: MediaCache) -> None:
    runs = 0

    async def producer(path: Path) -> None:
        nonlocal runs
        runs += 1
        await asyncio.to_thread(path.write_bytes, b"half")
        await asyncio.sleep(0.05)
        raise OSError("disk on fire")

    results = await asyncio.gather(
        *(cache.get_or_create("k1.mp3", producer) for _ in range(5)), return_exceptions=True
    )
    assert runs == 1
    assert all(isinstance(r, OSError) and "disk on fire" in str(r) for r in results)
    assert _files(cache.root) == [] and cache.lookup_key("k1.mp3") is None

    # Nothing is remembered: the next call tries again.
    async def good(path: Path) -> None:
        await asyncio.to_thread(path.write_bytes, b"whole")

    made = await cache.get_or_create("k1.mp3", good)
    assert read(made.path) == b"whole"


async def test_concurrent_identical_requests_run_the_producer_once(cache: MediaCache) -> None:
    runs = 0
    started = asyncio.Event()

    async def producer(path: Path) -> None:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(0.05)
        await asyncio.to_thread(path.write_bytes, b"converted")

    results = await asyncio.gather(*(cache.get_or_create("abc.mp3", producer) for _ in range(8)))
    assert runs == 1 and len(set(results)) == 1
    result = results[0]
    assert result.path.name == "abc.mp3" and read(result.path) == b"converted"
    # The key is a hard link to the content, which a token (sha256) finds too.
    content = cache.lookup(result.sha256)
    assert content is not None and samefile(content.path, result.path)
    assert await cache.get_or_create("abc.mp3", producer) == result and runs == 1


async def test_last_waiter_cancelling_cancels_the_producer(cache: MediaCache) -> None:
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def producer(path: Path) -> None:
        await asyncio.to_thread(path.write_bytes, b"partial")
        entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    first = asyncio.create_task(cache.get_or_create("slow.wav", producer))
    second = asyncio.create_task(cache.get_or_create("slow.wav", producer))
    await entered.wait()
    first.cancel()
    await asyncio.sleep(0.01)
    assert not cancelled.is_set()  # the other caller still wants it
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert cancelled.is_set()  # cleaned up before the last caller returned
    assert _files(cache.root) == []


async def test_lru_eviction_keeps_the_bound(tmp_path: Path) -> None:
    cache = await MediaCache.open(tmp_path / "c", 3000)
    a = await cache.put_stream(_chunks(b"a" * 1000))
    b = await cache.put_stream(_chunks(b"b" * 1000))
    c = await cache.put_stream(_chunks(b"c" * 1000))
    assert cache.lookup(a.sha256) is not None  # a is now more recent than b
    d = await cache.put_stream(_chunks(b"d" * 1000))
    assert cache.total_bytes == 3000
    assert cache.lookup(b.sha256) is None and not b.path.exists()
    for kept in (a, c, d):
        assert kept.path.exists()


async def test_pinned_files_are_not_evicted(tmp_path: Path) -> None:
    cache = await MediaCache.open(tmp_path / "c", 2000)
    a = await cache.put_stream(_chunks(b"a" * 1000))
    with cache.pin(a.sha256):
        await cache.put_stream(_chunks(b"b" * 1000))
        c = await cache.put_stream(_chunks(b"c" * 1000))
        assert a.path.exists() and cache.lookup(a.sha256) is not None
        assert c.path.exists()
        assert cache.total_bytes == 2000
    # Unpinned, it is evictable again.
    await cache.put_stream(_chunks(b"d" * 1000))
    assert cache.total_bytes <= 2000


async def test_eviction_removes_keys_with_their_content(tmp_path: Path) -> None:
    cache = await MediaCache.open(tmp_path / "c", 1000)

    async def producer(path: Path) -> None:
        await asyncio.to_thread(path.write_bytes, b"x" * 900)

    made = await cache.get_or_create("in.ogg", producer)
    await cache.put_stream(_chunks(b"y" * 900))
    assert not made.path.exists() and cache.lookup_key("in.ogg") is None


async def test_restart_rebuilds_the_index_and_drops_leftovers(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = await MediaCache.open(root, 10_000)
    blob = await cache.put_stream(_chunks(b"blob"))

    async def producer(path: Path) -> None:
        await asyncio.to_thread(path.write_bytes, b"song")

    song = await cache.get_or_create("f00d.mp3", producer)
    (cache.tmp_dir / "half-written").write_bytes(b"junk")
    orphan = root / "de" / "dead.mp3"
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"no content behind me")

    reopened = await MediaCache.open(root, 10_000)
    assert reopened.lookup(blob.sha256) == blob
    assert reopened.lookup_key("f00d.mp3") == song
    assert reopened.total_bytes == len(b"blob") + len(b"song")
    assert list(reopened.tmp_dir.iterdir()) == [] and not orphan.exists()


async def test_keys_are_validated(cache: MediaCache) -> None:
    async def producer(path: Path) -> None:
        await asyncio.to_thread(path.write_bytes, b"")

    for bad in ("../x.mp3", "a/b.mp3", ".hidden", "a" * 64, ""):
        with pytest.raises(ValueError, match="invalid cache key"):
            await cache.get_or_create(bad, producer)


async def test_holds_only_servable_files(cache: MediaCache) -> None:
    blob = await cache.put_stream(_chunks(b"z"))
    assert cache.holds(blob.path)
    assert not cache.holds(cache.tmp_dir / "x")
    assert not cache.holds(cache.root.parent / "elsewhere")
