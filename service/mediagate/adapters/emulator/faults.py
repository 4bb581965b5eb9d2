"""Fault injection for retry tests: latency, random errors, deterministic failures, 429s.

Faults apply to requests that passed authentication and whose parameters were read (the command
of a tweepy-style APPEND is only known from its multipart body), in this order: latency, then
"rate-limit the next N", then "fail the next N", then the random error rate. A faulted request
has no effect on emulator state (an APPEND's chunk is discarded), exactly like a server that
failed before committing.

Commands are INIT, APPEND, FINALIZE, STATUS and METADATA (metadata/create); `None` or "*" means
any command. Deterministic rules are consumed first-in first-out.

Injected bodies use X's v1.1 shape: 503 -> code 130 "Over capacity", 429 -> code 88 with
`retry-after`, anything else -> code 131 "Internal error".
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import CODE_INTERNAL, CODE_OVER_CAPACITY, CODE_RATE_LIMIT, MSG_RATE_LIMIT, ApiError

COMMANDS: Final = frozenset({"INIT", "APPEND", "FINALIZE", "STATUS", "METADATA"})
ANY: Final = "*"


def _normalise_command(value: str | None) -> str:
    if value is None or value == ANY:
        return ANY
    upper = value.upper()
    if upper not in COMMANDS:
        raise ValueError(f"unknown command {value!r}; expected one of {sorted(COMMANDS)} or '*'")
    return upper


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = ANY

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: str | None) -> str:
        return _normalise_command(value)

    def matches(self, command: str) -> bool:
        return self.command in (ANY, command)


class _Counted(_Rule):
    count: int = Field(ge=1)


class FailNext(_Counted):
    status: int = Field(default=503, ge=400, le=599)


class RateLimitNext(_Counted):
    retry_after: int = Field(default=1, ge=0)


class ErrorRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = Field(ge=0.0, le=1.0)
    status: int = Field(default=503, ge=400, le=599)


class FaultSpec(BaseModel):
    """Body of `POST /__emulator__/faults`; added to the current faults, not replacing them."""

    model_config = ConfigDict(extra="forbid")

    latency: dict[str, float] = Field(default_factory=dict)
    error_rate: dict[str, ErrorRate] = Field(default_factory=dict)
    fail_next: list[FailNext] = Field(default_factory=list)
    rate_limit_next: list[RateLimitNext] = Field(default_factory=list)
    seed: int | None = None

    @field_validator("latency", "error_rate", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {_normalise_command(key): item for key, item in value.items()}
        return value

    @field_validator("latency")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(seconds < 0 for seconds in value.values()):
            raise ValueError("latency must be >= 0")
        return value


def injected_error(status: int, retry_after: int = 1) -> ApiError:
    if status == 429:
        return ApiError(
            429,
            CODE_RATE_LIMIT,
            MSG_RATE_LIMIT,
            headers={
                "retry-after": str(retry_after),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(math.ceil(time.time() + retry_after)),
            },
        )
    if status == 503:
        return ApiError(503, CODE_OVER_CAPACITY, "Over capacity")
    return ApiError(status, CODE_INTERNAL, "Internal error")


_R = TypeVar("_R", bound=_Counted)


def _consume(rules: list[_R], command: str) -> _R | None:
    """Use up one unit of the first rule matching `command`."""
    for index, rule in enumerate(rules):
        if rule.matches(command):
            rule.count -= 1
            if rule.count == 0:
                del rules[index]
            return rule
    return None


class Faults:
    """Mutable fault plan of one emulator; the Python twin of `/__emulator__/faults`."""

    def __init__(self, seed: int | None = None) -> None:
        self._latency: dict[str, float] = {}
        self._error_rate: dict[str, ErrorRate] = {}
        self._fail_next: list[FailNext] = []
        self._rate_limit_next: list[RateLimitNext] = []
        self._random = random.Random(seed)

    def set_latency(self, command: str | None, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._latency[_normalise_command(command)] = seconds

    def set_error_rate(self, command: str | None, rate: float, status: int = 503) -> None:
        self._error_rate[_normalise_command(command)] = ErrorRate(rate=rate, status=status)

    def fail_next(self, command: str | None, count: int, status: int = 503) -> None:
        self._fail_next.append(
            FailNext(command=_normalise_command(command), count=count, status=status)
        )

    def rate_limit_next(self, count: int, retry_after: int = 1, command: str | None = None) -> None:
        self._rate_limit_next.append(
            RateLimitNext(command=_normalise_command(command), count=count, retry_after=retry_after)
        )

    def add(self, spec: FaultSpec) -> None:
        self._latency.update(spec.latency)
        self._error_rate.update(spec.error_rate)
        self._fail_next.extend(rule.model_copy() for rule in spec.fail_next)
        self._rate_limit_next.extend(rule.model_copy() for rule in spec.rate_limit_next)
        if spec.seed is not None:
            self._random.seed(spec.seed)

    def clear(self) -> None:
        self._latency.clear()
        self._error_rate.clear()
        self._fail_next.clear()
        self._rate_limit_next.clear()

    def snapshot(self) -> dict[str, object]:
        return {
            "latency": dict(self._latency),
            "error_rate": {key: rule.model_dump() for key, rule in self._error_rate.items()},
            "fail_next": [rule.model_dump() for rule in self._fail_next],
            "rate_limit_next": [rule.model_dump() for rule in self._rate_limit_next],
        }

    async def apply(self, command: str) -> None:
        """Sleep and/or raise the fault planned for this request, if any."""
        latency = self._latency.get(command, self._latency.get(ANY, 0.0))
        if latency > 0:
            await asyncio.sleep(latency)
        limited = _consume(self._rate_limit_next, command)
        if limited is not None:
            raise injected_error(429, limited.retry_after)
        failed = _consume(self._fail_next, command)
        if failed is not None:
            raise injected_error(failed.status)
        rate = self._error_rate.get(command, self._error_rate.get(ANY))
        if rate is not None and self._random.random() < rate.rate:
            raise injected_error(rate.status)
