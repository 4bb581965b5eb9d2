"""The JSON body of `media/metadata/create`, byte for byte as x-api-rs sends it (spec §8, §14).

    {"media_id":"ID","sensitive_media_warning":[...],"allow_download_status":{"allow_download":"true"},
     "self_reported_ai_generated":{"self_reported_ai_generated":"true"},
     "grok_actions":{"block_grok_edit":"true"},"alt_text":{"text":"..."}}

- compact separators, `media_id` as a string, every flag as the *string* "true"/"false" (the web
  path's shape; the public v2 API's booleans are a different endpoint — open question 10);
- a key appears only when its flag is set: warnings when non-empty, `allow_download_status` when
  not None (so False sends "false"), the AI and Grok flags only when true;
- key order is x-api-rs's insertion order, then `alt_text` last. x-api-rs never sends alt text;
  its shape `{"text": ...}` is twikit's and the documented one (DOC-META);
- non-ASCII alt text goes out as UTF-8, not `\\u` escapes, as a browser's JSON.stringify would.

Sending nothing is the caller's decision: x-api-rs skips the request when no key would be set, and
so does our pipeline; the builder refuses default metadata rather than send `{"media_id":...}`.
"""

from __future__ import annotations

import json
from typing import Any

from mediagate.core.models import MediaMetadata

__all__ = ["build_metadata_body"]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def build_metadata_body(media_id: str, metadata: MediaMetadata) -> bytes:
    if metadata.is_default():
        raise ValueError("metadata sets nothing; X's clients send no metadata/create request then")
    body: dict[str, Any] = {"media_id": media_id}
    if metadata.sensitive_warnings:
        body["sensitive_media_warning"] = [w.value for w in metadata.sensitive_warnings]
    if metadata.allow_download is not None:
        body["allow_download_status"] = {"allow_download": _flag(metadata.allow_download)}
    if metadata.self_reported_ai_generated:
        body["self_reported_ai_generated"] = {"self_reported_ai_generated": "true"}
    if metadata.block_grok_edit:
        body["grok_actions"] = {"block_grok_edit": "true"}
    if metadata.alt_text:
        body["alt_text"] = {"text": metadata.alt_text}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
