"""The resolver's local forms (paths, file://), base64 and tokens, on a real file system."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from mediagate.core.cache import MediaCache
from mediagate.core.errors import InvalidInput, SourceUnavailable, TokenRejected
from mediagate.core.localfile import HASH_BLOCK_BYTES, hash_blocks, read_head
from mediagate.core.mime import file_extension
from mediagate.core.sources import SourceKind, SourceResolver
from mediagate.core.tokens import TokenCodec

from .conftest import KEY
from .helpers import png_bytes, read, real, write

NOT_FOUND = "not found or outside the allowed directories"


@pytest.fixture
def image(media_root: Path) -> Path:
    path = media_root / "pic.png"
    path.write_bytes(png_bytes())
    return path


async def test_path_inside_a_root(resolver: SourceResolver, image: Path) -> None:
    src = await resolver.resolve(str(image))
    assert src.path == real(image) and src.local and src.kind is SourceKind.PATH
    assert src.sha256 == hashlib.sha256(read(image)).hexdigest()
    assert src.size == len(read(image)) and src.media_type == "image/png"
    assert src.filename == "pic.png" and src.url == ""
    claims = resolver.tokens.verify(src.token)
    assert claims.sha256 == src.sha256 and claims.url == real(image).as_uri()


async def test_relative_path_is_tried_against_the_roots(
    resolver: SourceResolver, image: Path
) -> None:
    src = await resolver.resolve("pic.png")
    assert src.path == real(image)


@pytest.mark.parametrize(
    "ref",
    [
        "../outside.png",
        "{root}/../outside.png",
        "{root}/sub/../../outside.png",
        "{outside}",
        "/etc/passwd",
        "{root}/missing.png",
    ],
)
async def test_traversal_and_outside_paths_look_missing(
    resolver: SourceResolver, media_root: Path, ref: str
) -> None:
    outside = media_root.parent / "outside.png"
    outside.write_bytes(png_bytes())
    (media_root / "sub").mkdir(exist_ok=True)
    with pytest.raises(SourceUnavailable) as info:
        await resolver.resolve(ref.format(root=media_root, outside=outside))
    assert info.value.reason == "SOURCE_NOT_FOUND" and NOT_FOUND in info.value.message
    assert str(outside) not in info.value.message


async def test_symlink_leading_outside_is_refused(
    resolver: SourceResolver, media_root: Path
) -> None:
    secret = media_root.parent / "secret.png"
    secret.write_bytes(png_bytes())
    (media_root / "link.png").symlink_to(secret)
    (media_root / "dirlink").symlink_to(media_root.parent)
    for ref in (str(media_root / "link.png"), "link.png", str(media_root / "dirlink/secret.png")):
        with pytest.raises(SourceUnavailable, match=NOT_FOUND):
            await resolver.resolve(ref)


async def test_symlink_inside_the_root_is_followed(
    resolver: SourceResolver, media_root: Path, image: Path
) -> None:
    (media_root / "alias.png").symlink_to(image)
    src = await resolver.resolve(str(media_root / "alias.png"))
    assert src.path == real(image)


async def test_directories_and_fifos_are_refused(
    resolver: SourceResolver, media_root: Path
) -> None:
    (media_root / "dir").mkdir()
    os.mkfifo(media_root / "pipe")
    for name in ("dir", "pipe"):
        with pytest.raises(SourceUnavailable) as info:
            await resolver.resolve(str(media_root / name))
        assert info.value.reason == "SOURCE_REFUSED"


async def test_cache_temp_files_are_never_served(
    resolver: SourceResolver, cache: MediaCache
) -> None:
    partial = cache.tmp_dir / "partial"
    partial.write_bytes(b"half")
    with pytest.raises(SourceUnavailable, match=NOT_FOUND):
        await resolver.resolve(str(partial))


async def test_file_uri_with_percent_encoding(resolver: SourceResolver, media_root: Path) -> None:
    path = media_root / "语音 #1.png"
    path.write_bytes(png_bytes())
    for uri in (path.as_uri(), "file://localhost" + quote(str(path))):
        src = await resolver.resolve(uri)
        assert src.path == path.resolve() and src.kind is SourceKind.FILE_URI and src.local
    with pytest.raises(InvalidInput, match="local host only"):
        await resolver.resolve("file://example.com/x.png")
    with pytest.raises(InvalidInput, match="UTF-8"):
        await resolver.resolve("file:///%ff%fe.png")


async def test_base64_is_decoded_into_the_cache(resolver: SourceResolver) -> None:
    data = png_bytes()
    encoded = base64.b64encode(data).decode()
    src = await resolver.resolve("base64://" + encoded)
    assert src.kind is SourceKind.BASE64 and not src.local
    assert src.path.read_bytes() == data and resolver.cache.holds(src.path)
    assert src.media_type == "image/png" and src.filename == f"{src.sha256}.png"
    # Line breaks, URL-safe alphabet and missing padding are accepted too.
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    urlsafe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    for variant in (wrapped, urlsafe):
        assert (await resolver.resolve("base64://" + variant)).sha256 == src.sha256


@pytest.mark.parametrize("payload", ["not*base64!", "QUJD=X", "===="])
async def test_malformed_base64_names_the_field(resolver: SourceResolver, payload: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await resolver.resolve("base64://" + payload, field="file")
    assert info.value.field == "file"


async def test_empty_and_oversize_base64(resolver: SourceResolver) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        await resolver.resolve("base64://")
    with pytest.raises(InvalidInput, match="more than 4096 bytes"):
        await resolver.resolve("base64://" + base64.b64encode(b"x" * 4097).decode())
    with pytest.raises(InvalidInput, match="more than 4096 bytes"):
        await resolver.resolve("base64://" + "A" * 100_000)


@pytest.mark.parametrize(
    "ref",
    [
        "", "   ", "ftp://host/x.png", "gopher://x", "a\x00b",
        "file:///tmp/a%00b",  # NUL only after percent-decoding
        "file://[::1/x.png",  # urlsplit's ValueError: an unclosed IPv6 bracket
        "\ud800.png", "/tmp/\ud800.png", "file:///tmp/\ud800.png",  # lone surrogates
    ],
)  # fmt: skip
async def test_malformed_references(resolver: SourceResolver, ref: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await resolver.resolve(ref, field="file")
    assert info.value.field == "file"


async def test_token_of_cached_media(resolver: SourceResolver) -> None:
    first = await resolver.resolve("base64://" + base64.b64encode(png_bytes()).decode())
    again = await resolver.resolve(first.token)
    assert again.kind is SourceKind.TOKEN and again.path == first.path
    assert again.filename == first.filename and again.token == first.token


async def test_token_of_a_local_file(resolver: SourceResolver, image: Path) -> None:
    first = await resolver.resolve(str(image))
    again = await resolver.resolve(first.token)
    assert again.path == real(image) and again.local and again.kind is SourceKind.TOKEN
    write(image, png_bytes((9, 9)))
    with pytest.raises(SourceUnavailable, match="changed"):
        await resolver.resolve(first.token)


async def test_forged_expired_and_unresolvable_tokens(
    resolver: SourceResolver, codec: TokenCodec
) -> None:
    forged = TokenCodec([b"f" * 32]).issue(sha256="a" * 64, size=1, media_type="", filename="x")
    with pytest.raises(TokenRejected):
        await resolver.resolve(forged)
    expired = TokenCodec([KEY], ttl_seconds=1, clock=lambda: 1000.0).issue(
        sha256="a" * 64, size=1, media_type="", filename="x"
    )
    with pytest.raises(TokenRejected, match="expired"):
        await resolver.resolve(expired)
    gone = codec.issue(sha256="b" * 64, size=1, media_type="", filename="x")
    with pytest.raises(SourceUnavailable, match="no url"):
        await resolver.resolve(gone)


def test_shared_readers_and_extensions(tmp_path: Path) -> None:
    # One implementation each, shared by the resolver, the cache, the transcoder and uploads.
    data = os.urandom(HASH_BLOCK_BYTES * 2 + 123)
    path = write(tmp_path / "blob", data)
    assert read_head(path, 64) == data[:64] and read_head(write(tmp_path / "s", b"ab"), 64) == b"ab"
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read(10))
        assert 10 + hash_blocks(f, digest) == len(data)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    types = ("image/jpeg", "video/quicktime", "audio/mp4", "audio/ogg", "text/plain", None)
    assert [file_extension(t) for t in types] == ["jpg", "mov", "m4a", "ogg", None, None]
