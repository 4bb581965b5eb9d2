"""Fixtures for the adapter tests: credentials and an X session.

Retry waits are switched off for the whole run by the root conftest (`stamina.set_testing`, with
each command's own attempt count kept).
"""

from __future__ import annotations

import pytest

from mediagate.core.models import BrowserProfile, Credentials, XSession

from .x_testkit import AUTH_TOKEN, CT0, TWID


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(auth_token=AUTH_TOKEN, ct0=CT0, others=(("twid", TWID),))


@pytest.fixture
def x_session(credentials: Credentials) -> XSession:
    return XSession(credentials=credentials, profile=BrowserProfile.CHROME, account_label="test")
