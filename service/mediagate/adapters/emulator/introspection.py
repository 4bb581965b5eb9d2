"""Test-facing HTTP routes under `/__emulator__` (no authentication, no secrets).

- `GET  /__emulator__/health`              -> `{"ok": true}`
- `GET  /__emulator__/media`               -> `{"media": [MediaSnapshot, ...]}`
- `GET  /__emulator__/media/{id}`          -> `MediaSnapshot` (404 if unknown)
- `GET  /__emulator__/media/{id}/bytes`    -> assembled bytes (needs `keep_bytes`; else 404)
- `GET  /__emulator__/requests[?limit=N]`  -> `{"requests": [RequestRecord, ...], oldest first,
                                              "max_concurrent_requests": most X requests
                                              answered at once since the start or reset}`
- `POST /__emulator__/reset`               -> forget media, requests, rate windows and faults
- `GET | POST | DELETE /__emulator__/faults` -> read / add (`FaultSpec` JSON) / clear faults

The same data is reachable in-process through `EmulatorServer.state` and `.faults`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import ValidationError

from .faults import FaultSpec

if TYPE_CHECKING:
    from .app import EmulatorCore

PREFIX = "/__emulator__"


def _not_found(what: str) -> web.Response:
    return web.json_response({"error": f"{what} not found"}, status=404)


def add_introspection_routes(app: web.Application, core: EmulatorCore) -> None:
    state = core.state

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def media_list(request: web.Request) -> web.Response:
        return web.json_response(
            {"media": [item.model_dump(mode="json") for item in state.all_media()]}
        )

    async def media_one(request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        try:
            return web.json_response(state.media(media_id).model_dump(mode="json"))
        except KeyError:
            return _not_found(f"media {media_id}")

    async def media_bytes(request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        try:
            data = await asyncio.to_thread(state.media_bytes, media_id)
        except KeyError:
            return _not_found(f"media {media_id}")
        if data is None:
            return _not_found(f"bytes of media {media_id} (keep_bytes is off or not finalized)")
        return web.Response(body=data, content_type="application/octet-stream")

    async def requests(request: web.Request) -> web.Response:
        entries = state.requests()
        limit = request.query.get("limit")
        if limit is not None and limit.isdigit():
            entries = entries[-int(limit) :] if int(limit) else []
        return web.json_response(
            {
                "requests": [entry.model_dump(mode="json") for entry in entries],
                "max_concurrent_requests": state.max_concurrent_requests,
            }
        )

    async def reset(request: web.Request) -> web.Response:
        await core.reset()
        return web.json_response({})

    async def faults_get(request: web.Request) -> web.Response:
        return web.json_response(core.faults.snapshot())

    async def faults_post(request: web.Request) -> web.Response:
        try:
            spec = FaultSpec.model_validate_json(await request.read())
        except ValidationError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        core.faults.add(spec)
        return web.json_response(core.faults.snapshot())

    async def faults_delete(request: web.Request) -> web.Response:
        core.faults.clear()
        return web.json_response(core.faults.snapshot())

    router = app.router
    router.add_get(f"{PREFIX}/health", health)
    router.add_get(f"{PREFIX}/media", media_list)
    router.add_get(f"{PREFIX}/media/{{media_id}}", media_one)
    router.add_get(f"{PREFIX}/media/{{media_id}}/bytes", media_bytes)
    router.add_get(f"{PREFIX}/requests", requests)
    router.add_post(f"{PREFIX}/reset", reset)
    router.add_get(f"{PREFIX}/faults", faults_get)
    router.add_post(f"{PREFIX}/faults", faults_post)
    router.add_delete(f"{PREFIX}/faults", faults_delete)
