"""File tokens: round trip, tampering, expiry, key rotation, and garbage never escaping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagate.core.errors import InvalidInput, TokenRejected
from mediagate.core.tokens import TOKEN_PREFIX, FileClaims, TokenCodec, looks_like_token

OLD_KEY = b"o" * 32
NEW_KEY = b"n" * 32
SHA = "ab" * 32


class Clock:
    def __init__(self, now: float = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


claims_strategy = st.builds(
    FileClaims,
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(0, 2**53),
    media_type=st.sampled_from(["image/png", "audio/silk", ""]),
    filename=st.text(max_size=60),
    url=st.one_of(st.just(""), st.text(max_size=80).map(lambda s: "https://cdn.example/" + s)),
)


def _issue(codec: TokenCodec, c: FileClaims) -> str:
    return codec.issue(
        sha256=c.sha256, size=c.size, media_type=c.media_type, filename=c.filename, url=c.url
    )


@given(claims_strategy)
def test_round_trip(c: FileClaims) -> None:
    clock = Clock()
    codec = TokenCodec([NEW_KEY], ttl_seconds=60, clock=clock)
    token = _issue(codec, c)
    assert token.startswith(TOKEN_PREFIX) and looks_like_token(token)
    assert "=" not in token and "/" not in token and "+" not in token
    got = codec.verify(token)
    assert got == FileClaims(c.sha256, c.size, c.media_type, c.filename, c.url, 1_700_000_060)


@settings(max_examples=300)
@given(claims_strategy, st.data())
def test_any_single_character_change_is_refused(c: FileClaims, data: st.DataObject) -> None:
    codec = TokenCodec([NEW_KEY])
    token = _issue(codec, c)
    i = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=/+ é\x00"
    ch = data.draw(st.sampled_from(alphabet).filter(lambda x: x != token[i]))
    altered = token[:i] + ch + token[i + 1 :]
    with pytest.raises((InvalidInput, TokenRejected)):
        codec.verify(altered)


@given(claims_strategy, st.integers(0, 200), st.binary(min_size=1, max_size=1))
def test_any_byte_change_of_the_encoded_token_is_refused(
    c: FileClaims, where: int, byte: bytes
) -> None:
    codec = TokenCodec([NEW_KEY])
    raw = bytearray(_issue(codec, c).encode())
    i = where % len(raw)
    if raw[i] == byte[0]:
        return
    raw[i] = byte[0]
    with pytest.raises((InvalidInput, TokenRejected)):
        codec.verify(raw.decode("latin-1"))


def test_forged_signature_is_rejected_not_malformed() -> None:
    genuine = TokenCodec([NEW_KEY]).issue(sha256=SHA, size=1, media_type="", filename="a")
    forger = TokenCodec([b"x" * 32]).issue(sha256=SHA, size=1, media_type="", filename="a")
    with pytest.raises(TokenRejected) as info:
        TokenCodec([NEW_KEY]).verify(forger)
    assert info.value.reason == "TOKEN_REJECTED" and info.value.field == "file"
    # Payload of one, signature of the other.
    payload, sig = genuine.split(".")[1], forger.split(".")[2]
    with pytest.raises(TokenRejected):
        TokenCodec([NEW_KEY]).verify(f"{TOKEN_PREFIX}{payload}.{sig}")


def test_expiry() -> None:
    clock = Clock()
    codec = TokenCodec([NEW_KEY], ttl_seconds=100, clock=clock)
    token = codec.issue(sha256=SHA, size=3, media_type="image/png", filename="a.png")
    clock.now += 99
    assert codec.verify(token).size == 3
    clock.now += 1
    with pytest.raises(TokenRejected, match="expired"):
        codec.verify(token)
    fresh = codec.reissue(FileClaims(SHA, 3, "image/png", "a.png"))
    assert codec.verify(fresh).expires_at == int(clock.now) + 100


def test_rotation_old_key_verifies_new_key_signs() -> None:
    old = TokenCodec([OLD_KEY])
    rotated = TokenCodec([NEW_KEY, OLD_KEY])
    legacy = old.issue(sha256=SHA, size=1, media_type="", filename="a")
    assert rotated.verify(legacy).filename == "a"
    current = rotated.issue(sha256=SHA, size=1, media_type="", filename="b")
    assert TokenCodec([NEW_KEY]).verify(current).filename == "b"
    with pytest.raises(TokenRejected):
        old.verify(current)
    with pytest.raises(TokenRejected):
        TokenCodec([NEW_KEY]).verify(legacy)  # the old key retired


@given(st.text(max_size=300))
def test_garbage_raises_only_the_two_errors(text: str) -> None:
    codec = TokenCodec([NEW_KEY])
    for candidate in (text, TOKEN_PREFIX + text, f"{TOKEN_PREFIX}{text}.{text}"):
        with pytest.raises((InvalidInput, TokenRejected)):
            codec.verify(candidate, field="f")


def test_malformed_names_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        TokenCodec([NEW_KEY]).verify("mgt1.@@.@@", field="file")
    assert info.value.field == "file"
    assert not looks_like_token("/tmp/a.png")
    assert not looks_like_token("mgt1." + "a" * 9000 + ".b")


def test_bad_configuration() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        TokenCodec([])
    with pytest.raises(ValueError, match="16 bytes"):
        TokenCodec([b"short"])
    with pytest.raises(ValueError, match="sha256"):
        TokenCodec([NEW_KEY]).issue(sha256="xyz", size=1, media_type="", filename="")
