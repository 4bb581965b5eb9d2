"""The retry policy of every upload command, in one table.

    command    attempts  why
    INIT       2         a lost INIT reply only costs an orphaned media id, which X expires
    APPEND     5         per segment; re-sending a segment_index replaces it, so retries are safe
    FINALIZE   3         FINALIZE of a complete upload is repeatable (x-api-rs retries it on 500)
    STATUS     3         a read
    METADATA   3         metadata/create sets values; repeating it sets the same values

Backoff: exponential from 0.5 s, doubling, capped at 8 s, plus up to 0.5 s of random jitter
(stamina's full-jitter-free "exponential + additive jitter" schedule). No overall deadline: an
APPEND of a large segment on a slow link may legitimately take minutes, and each attempt is
already bounded by the connect and read timeouts of `XClientConfig`.

Only faults that say nothing about the request itself are retried: network errors, timeouts
and HTTP 500/502/503/504 (the browser retries 503 and network faults, x-api-rs retries 500 —
spec §6.3; we take the union of the transient 5xx). Never a 4xx: X has judged the request, and
repeating it changes nothing; never a 429: hammering a rate limit prolongs it, and the caller
gets `retry_after_seconds` to decide.

Tests switch the waits off with `stamina.set_testing(True, attempts=..., cap=True)`.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import stamina
from pydantic import BaseModel, ConfigDict, Field

from mediagate.core.errors import UpstreamUnavailable

__all__ = [
    "DEFAULT_RETRY_TABLE",
    "RETRYABLE_STATUSES",
    "Command",
    "RetryPolicy",
    "RetryTable",
    "call_with_retries",
    "is_retryable",
]

T = TypeVar("T")

RETRYABLE_STATUSES: Final = frozenset({500, 502, 503, 504})


class Command(enum.StrEnum):
    """An upload-host command (or the metadata call); the value is what errors and logs show."""

    INIT = "INIT"
    APPEND = "APPEND"
    FINALIZE = "FINALIZE"
    STATUS = "STATUS"
    METADATA = "METADATA"


class RetryPolicy(BaseModel):
    """How often and how patiently one command is retried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(ge=1, description="total tries, the first one included")
    wait_initial_s: float = Field(default=0.5, gt=0)
    wait_max_s: float = Field(default=8.0, gt=0)
    wait_jitter_s: float = Field(default=0.5, ge=0)


class RetryTable(BaseModel):
    """One `RetryPolicy` per command; the defaults are the table in this module's docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    init: RetryPolicy = RetryPolicy(attempts=2)
    append: RetryPolicy = RetryPolicy(attempts=5)
    finalize: RetryPolicy = RetryPolicy(attempts=3)
    status: RetryPolicy = RetryPolicy(attempts=3)
    metadata: RetryPolicy = RetryPolicy(attempts=3)

    def for_command(self, command: Command) -> RetryPolicy:
        policy: RetryPolicy = getattr(self, command.value.lower())
        return policy


DEFAULT_RETRY_TABLE: Final = RetryTable()


def is_retryable(exc: BaseException) -> bool:
    """Network faults (status 0) and transient 5xx; everything else is X's final word."""
    return isinstance(exc, UpstreamUnavailable) and (
        exc.status == 0 or exc.status in RETRYABLE_STATUSES
    )


async def call_with_retries(
    policy: RetryPolicy,
    operation: Callable[[int], Awaitable[T]],
    *,
    on_retry: Callable[[int], None],
) -> T:
    """Run `operation(attempt_number)` until it succeeds or a non-retryable error escapes.

    `on_retry(n)` runs before attempt n (n >= 2). When the attempts run out on a retryable
    fault, the last `UpstreamUnavailable` is raised again with the number of attempts added to
    its message, so the caller sees that we did not give up on the first hiccup.
    """
    attempt_number = 0
    try:
        async for attempt in stamina.retry_context(
            on=is_retryable,
            attempts=policy.attempts,
            timeout=None,
            wait_initial=policy.wait_initial_s,
            wait_max=policy.wait_max_s,
            wait_jitter=policy.wait_jitter_s,
        ):
            with attempt:
                attempt_number = attempt.num
                if attempt_number > 1:
                    on_retry(attempt_number)
                return await operation(attempt_number)
    except UpstreamUnavailable as exc:
        if attempt_number > 1 and is_retryable(exc):
            raise UpstreamUnavailable(
                f"{exc.message} (gave up after {attempt_number} attempts)",
                command=exc.command,
                status=exc.status,
                code=exc.code,
            ) from exc
        raise
    # stamina either returns through the block above or re-raises the last error.
    raise AssertionError("unreachable: retry loop ended without a result")  # pragma: no cover
