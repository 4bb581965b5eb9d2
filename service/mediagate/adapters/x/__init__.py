"""The X (Twitter) web upload client: the production implementation of `core.upstream.Upstream`.

Modules: `client` (XUploadClient), `config` (XClientConfig), `headers` and `profiles` (what the
requests say about themselves), `append_body` and `metadata_body` (request bodies), `responses`
(reply parsing, error mapping), `retry` (the per-command retry table), `sessions` (aiohttp
sessions and proxies), `observer` (metrics hook).
"""

from mediagate.adapters.x.client import XUploadClient
from mediagate.adapters.x.config import DEFAULT_METADATA_URL, DEFAULT_UPLOAD_URL, XClientConfig
from mediagate.adapters.x.metadata_body import build_metadata_body
from mediagate.adapters.x.observer import NoopObserver, UpstreamObserver
from mediagate.adapters.x.profiles import PROFILES, ProfileHeaders, profile_headers
from mediagate.adapters.x.retry import DEFAULT_RETRY_TABLE, Command, RetryPolicy, RetryTable

__all__ = [
    "DEFAULT_METADATA_URL",
    "DEFAULT_RETRY_TABLE",
    "DEFAULT_UPLOAD_URL",
    "PROFILES",
    "Command",
    "NoopObserver",
    "ProfileHeaders",
    "RetryPolicy",
    "RetryTable",
    "UpstreamObserver",
    "XClientConfig",
    "XUploadClient",
    "build_metadata_body",
    "profile_headers",
]
