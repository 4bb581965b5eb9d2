"""`media/metadata/create` on the web API host (spec §8).

Open question 8 (response body): success is HTTP 200 with the body `{}`. x-api-rs reads only the
status, TSLIB ignores the body, and an empty JSON object parses in every client.

Accepted input, everything real clients send:
- content type `application/json` or `text/plain` (DOC-META), any charset parameter;
- `media_id` as a decimal string (x-api-rs, browser) or a JSON number (twikit);
- flags `allow_download_status.allow_download`, `self_reported_ai_generated.
  self_reported_ai_generated`, `grok_actions.block_grok_edit` as "true"/"false" (any case) or JSON
  booleans (open questions 9, 10);
- `sensitive_media_warning`: array of adult_content / graphic_violence / other;
- `alt_text.text` of at most `max_alt_text_chars` characters; `found_media_origin{id, provider}`.
Unknown top-level keys are ignored (and listed in the request log).

Errors use the v1.1 shape: an unknown or foreign media id is 400/324 "The validation of media ids
failed."; a missing media_id 400/38; any other malformed value 400/44 (codes conventional, not
captured from X). The metadata is recorded only once the request is accepted, merged key by key
into a normalised view: alt_text, sensitive_media_warning, allow_download,
self_reported_ai_generated, block_grok_edit, found_media_origin.
"""

from __future__ import annotations

import codecs
import json
from typing import Final

from aiohttp import web

from .config import EmulatorConfig
from .errors import (
    CODE_INVALID_PARAM,
    CODE_MEDIA_IDS,
    CODE_MISSING_PARAM,
    MSG_MEDIA_IDS,
    ApiError,
    json_response,
)
from .faults import Faults
from .state import EmulatorState, RequestContext

_BODY_CAP: Final = 64 * 1024
_CONTENT_TYPES: Final = frozenset({"application/json", "text/plain"})
_WARNINGS: Final = frozenset({"adult_content", "graphic_violence", "other"})
# outer key -> inner key; the inner key names the flag in the merged view
_FLAGS: Final = {
    "allow_download_status": "allow_download",
    "self_reported_ai_generated": "self_reported_ai_generated",
    "grok_actions": "block_grok_edit",
}
_KNOWN_KEYS: Final = frozenset(
    {"media_id", "alt_text", "sensitive_media_warning", "found_media_origin", *_FLAGS}
)


def _invalid(name: str) -> ApiError:
    return ApiError(400, CODE_INVALID_PARAM, f"{name} parameter is invalid.")


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(name)


def parse_metadata(body: dict[str, object], max_alt_text_chars: int) -> dict[str, object]:
    """Validate one request body and return its normalised metadata (media_id excluded)."""
    parsed: dict[str, object] = {}
    if "alt_text" in body:
        alt = body["alt_text"]
        if not isinstance(alt, dict) or not isinstance(alt.get("text"), str):
            raise _invalid("alt_text")
        text: str = alt["text"]
        if len(text) > max_alt_text_chars:
            raise ApiError(
                400,
                CODE_INVALID_PARAM,
                f"alt_text.text is longer than {max_alt_text_chars} characters.",
            )
        parsed["alt_text"] = text
    if "sensitive_media_warning" in body:
        warnings = body["sensitive_media_warning"]
        if not isinstance(warnings, list) or not all(
            isinstance(item, str) and item in _WARNINGS for item in warnings
        ):
            raise _invalid("sensitive_media_warning")
        parsed["sensitive_media_warning"] = list(warnings)
    for outer, inner in _FLAGS.items():
        if outer in body:
            holder = body[outer]
            if not isinstance(holder, dict) or inner not in holder:
                raise _invalid(outer)
            parsed[inner] = _flag(holder[inner], f"{outer}.{inner}")
    if "found_media_origin" in body:
        origin = body["found_media_origin"]
        if not isinstance(origin, dict) or not all(
            isinstance(origin.get(key), str) for key in ("id", "provider")
        ):
            raise _invalid("found_media_origin")
        parsed["found_media_origin"] = {"id": origin["id"], "provider": origin["provider"]}
    return parsed


async def _read_body(request: web.Request) -> str:
    if request.content_type not in _CONTENT_TYPES:
        raise ApiError(
            400, CODE_INVALID_PARAM, "Content-Type must be application/json or text/plain."
        )
    if request.content_length is not None and request.content_length > _BODY_CAP:
        raise ApiError(400, CODE_INVALID_PARAM, "Request body is too large.")
    raw = bytearray()
    while block := await request.content.read(_BODY_CAP):
        raw += block
        if len(raw) > _BODY_CAP:
            raise ApiError(400, CODE_INVALID_PARAM, "Request body is too large.")
    charset = request.charset or "utf-8"
    try:
        codecs.lookup(charset)
        return bytes(raw).decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ApiError(400, CODE_INVALID_PARAM, "Request body is not valid text.") from exc


class MetadataHandler:
    def __init__(self, config: EmulatorConfig, state: EmulatorState, faults: Faults) -> None:
        self._config = config
        self._state = state
        self._faults = faults

    async def handle(self, request: web.Request, owner: str, ctx: RequestContext) -> web.Response:
        ctx.command = "METADATA"
        ctx.body_kind = "json"
        text = await _read_body(request)
        await self._faults.apply("METADATA")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise ApiError(400, CODE_INVALID_PARAM, "Request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise ApiError(400, CODE_INVALID_PARAM, "Request body must be a JSON object.")
        ctx.body_fields = list(body)
        ctx.ignored_params = sorted(set(body) - _KNOWN_KEYS)
        if "media_id" not in body or body["media_id"] in (None, ""):
            raise ApiError(400, CODE_MISSING_PARAM, "media_id parameter is missing.")
        raw_id = body["media_id"]
        ctx.media_id = str(raw_id)
        record = self._state.find(raw_id, owner)
        if record is None:
            raise ApiError(400, CODE_MEDIA_IDS, MSG_MEDIA_IDS)
        parsed = parse_metadata(body, self._config.max_alt_text_chars)
        record.metadata.update(parsed)
        record.metadata_bodies.append(text)
        return json_response({})
