"""Fixtures for the adapter tests: credentials, sessions, and retries without waiting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina
from x_testkit import AUTH_TOKEN, CT0, TWID

from mediagate.core.models import BrowserProfile, Credentials, XSession


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    # No backoff waits; `cap=True` keeps each command's own attempt count from the retry table.
    stamina.set_testing(True, attempts=100, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(auth_token=AUTH_TOKEN, ct0=CT0, others=(("twid", TWID),))


@pytest.fixture
def x_session(credentials: Credentials) -> XSession:
    return XSession(credentials=credentials, profile=BrowserProfile.CHROME, account_label="test")
