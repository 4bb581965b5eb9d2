"""Embedded emulator of X's upload host, for tests and local runs (spec x-upload-protocol §12, §14).

Strict where X is strict, yet accepting every request shape the real clients (browser, x-api-rs,
twikit, tweepy) send. Start one with `async with EmulatorServer(EmulatorConfig()) as emu:` and
point the X client's upload and API base URLs at `emu.base_url`.

Modules: `config` (knobs and category tables), `auth`, `ratelimit`, `params` (where parameters
and chunks travel), `spool` (segments on disk), `probe` (content checks), `upload` and `metadata`
(the X commands), `faults` (injection for retry tests), `introspection` (`/__emulator__` routes),
`state` (records and their JSON views), `app` and `server` (wiring and lifecycle).
"""

from .config import EmulatorConfig, Family
from .faults import Faults, FaultSpec
from .server import EmulatorServer, serve_forever
from .state import EmulatorState, MediaSnapshot, RequestRecord

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "Family",
    "FaultSpec",
    "Faults",
    "MediaSnapshot",
    "RequestRecord",
    "serve_forever",
]
