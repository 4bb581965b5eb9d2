"""INIT / APPEND / FINALIZE / STATUS on the upload host (spec §3-§7, §14).

Status codes are the ones real clients require: INIT 202, APPEND 204 (empty body), image or
other synchronous FINALIZE 201 (x-api-rs rejects 200), asynchronous FINALIZE 200 with
`processing_info`, STATUS 200.

Choices where the spec leaves room:
- Parameter names not used by a command are accepted and recorded as ignored (§12.1); both
  `video_duration_ms` (browser) and `duration_ms` (x-api-rs) are recorded as the duration
  (open question 1), the first of the two that arrived winning.
- FINALIZE is asynchronous for video and GIF categories, or `allow_async=true` with a video type;
  a video without either is finalized synchronously with `video{video_type}` (DOC-FIN).
- `original_md5` is verified when sent (open question 6); a mismatch is a 400.
- A second FINALIZE answers like the first (current processing state included); a FINALIZE
  that fails validation leaves the segments in place so a client may fix and retry.
- STATUS goes only with GET, the other commands only with POST; APPENDMULTI is not emulated.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import ExitStack
from typing import Final

from aiohttp import web

from .config import CATEGORIES, EmulatorConfig, Family, family_without_category
from .errors import UploadError, invalid_media_id, invalid_param, json_response, missing_param
from .faults import Faults
from .params import ParsedRequest, parse_upload_request
from .probe import InvalidMedia, probe_gif, probe_image, probe_mp4, probe_subtitles
from .spool import Assembled, Spool
from .state import EmulatorState, MediaRecord, Processing, RequestContext, Segment

_USED_PARAMS: Final = {
    "INIT": frozenset(
        {
            "command",
            "total_bytes",
            "media_type",
            "media_category",
            "video_duration_ms",
            "duration_ms",
        }
    ),
    "APPEND": frozenset({"command", "media_id", "segment_index"}),
    "FINALIZE": frozenset({"command", "media_id", "original_md5", "allow_async"}),
    "STATUS": frozenset({"command", "media_id"}),
}
_DURATION_PARAMS: Final = ("video_duration_ms", "duration_ms")
_DECIMAL_RE: Final = re.compile(r"\d{1,19}")
_DURATION_RE: Final = re.compile(r"\d{1,12}(\.\d{1,6})?")
_MD5_RE: Final = re.compile(r"[0-9a-fA-F]{32}")


def _int_param(parsed: ParsedRequest, name: str) -> int:
    raw = parsed.get(name)
    if raw is None or raw == "":
        raise missing_param(name)
    if _DECIMAL_RE.fullmatch(raw) is None:
        raise invalid_param(name, raw)
    return int(raw)


def size_exceeded(limit: int) -> UploadError:
    # The browser looks for this JSON fragment inside `error` (spec §9.1).
    return UploadError(
        f"File size exceeds {limit} bytes. "
        f'{{"message":"maxFileSizeExceeded","maxFileSizeBytes":{limit}}}'
    )


class UploadHandlers:
    def __init__(
        self, config: EmulatorConfig, state: EmulatorState, spool: Spool, faults: Faults
    ) -> None:
        self._config = config
        self._state = state
        self._spool = spool
        self._faults = faults

    async def handle(self, request: web.Request, owner: str, ctx: RequestContext) -> web.Response:
        with ExitStack() as tracking:
            # Count an APPEND as in flight from the moment its headers arrive, when the query
            # names the media; tweepy-style APPENDs are only known once the body is parsed.
            early = None
            if request.query.get("command") == "APPEND":
                early = self._state.find(request.query.get("media_id"), owner)
                if early is not None:
                    tracking.enter_context(early.append_in_flight())
            parsed = await parse_upload_request(
                request, self._spool, self._config.max_segment_bytes
            )
            try:
                command = self._command(request, parsed, ctx)
                if command == "APPEND" and early is None:
                    late = self._state.find(parsed.get("media_id"), owner)
                    if late is not None:
                        tracking.enter_context(late.append_in_flight())
                await self._faults.apply(command)
                if command == "INIT":
                    return self._init(parsed, owner)
                if command == "APPEND":
                    return await self._append(parsed, owner)
                if command == "FINALIZE":
                    return await self._finalize(parsed, owner)
                return self._status(parsed, owner)
            finally:
                await parsed.discard(self._spool)

    def _command(self, request: web.Request, parsed: ParsedRequest, ctx: RequestContext) -> str:
        ctx.body_kind = parsed.body_kind
        ctx.body_fields = list(parsed.body_fields)
        ctx.media_id = parsed.get("media_id")
        command = parsed.get("command")
        ctx.command = command
        if not command:
            raise missing_param("command")
        if command not in _USED_PARAMS:
            raise invalid_param("command", command)
        ctx.ignored_params = sorted(set(parsed.params) - _USED_PARAMS[command])
        expected = "GET" if command == "STATUS" else "POST"
        if request.method != expected:
            raise UploadError(f"{command} must be sent with {expected}.")
        return command

    def _owned(self, parsed: ParsedRequest, owner: str) -> MediaRecord:
        raw = parsed.get("media_id")
        if raw is None or raw == "":
            raise missing_param("media_id")
        record = self._state.find(raw, owner)
        if record is None:
            raise invalid_media_id(raw)
        return record

    def _envelope(self, record: MediaRecord, now: float) -> dict[str, object]:
        body: dict[str, object] = {
            "media_id": record.media_id,
            "media_id_string": record.media_id_string,
            "media_key": record.media_key,
        }
        if record.size is not None:
            body["size"] = record.size
        body["expires_after_secs"] = record.expires_after_secs(now)
        return body

    # --- INIT --------------------------------------------------------------------------------

    def _init(self, parsed: ParsedRequest, owner: str) -> web.Response:
        total_bytes = _int_param(parsed, "total_bytes")
        if total_bytes <= 0:
            raise invalid_param("total_bytes", total_bytes)
        raw_type = parsed.get("media_type")
        if not raw_type:
            raise missing_param("media_type")
        media_type = raw_type.strip().lower()
        category = (parsed.get("media_category") or "").strip().lower() or None
        if category is not None:
            if category not in CATEGORIES:
                raise invalid_param("media_category", parsed.get("media_category"))
            family, accepted, prefix = CATEGORIES[category]
            if media_type not in accepted:
                raise UploadError(
                    f"media_type {media_type} is not supported for media_category {category}."
                )
        else:
            found = family_without_category(media_type)
            if found is None:
                raise invalid_param("media_type", raw_type)
            family, prefix = found, "7" if found is Family.VIDEO else "3"
        limit = self._config.size_limit(family)
        if total_bytes > limit:
            raise size_exceeded(limit)
        duration_param, duration_ms = self._duration(parsed)
        media_id = self._state.ids.next()
        now = time.monotonic()
        record = MediaRecord(
            media_id=media_id,
            owner=owner,
            media_key=f"{prefix}_{media_id}",
            media_category=category,
            media_type=media_type,
            family=family,
            total_bytes=total_bytes,
            expires_at=now + self._config.expires_after_secs,
            init_params=dict(parsed.params),
            ignored_init_params=sorted(set(parsed.params) - _USED_PARAMS["INIT"]),
            duration_ms=duration_ms,
            duration_param=duration_param,
        )
        self._state.add(record)
        return json_response(self._envelope(record, now), status=202)

    @staticmethod
    def _duration(parsed: ParsedRequest) -> tuple[str | None, int | float | None]:
        for name in _DURATION_PARAMS:
            raw = parsed.get(name)
            if raw is None or raw == "":
                continue
            if _DURATION_RE.fullmatch(raw) is None:
                raise invalid_param(name, raw)
            value = float(raw)
            return name, int(value) if value.is_integer() else value
        return None, None

    # --- APPEND ------------------------------------------------------------------------------

    async def _append(self, parsed: ParsedRequest, owner: str) -> web.Response:
        record = self._owned(parsed, owner)
        index = _int_param(parsed, "segment_index")
        limit = self._config.max_segment_index
        if index > limit:
            raise UploadError(f"Invalid segment_index: {index}. It must be between 0 and {limit}.")
        if record.finalized or record.finalize_lock.locked():
            raise UploadError(f"Media {record.media_id} is already finalized.")
        chunk = parsed.take_chunk()
        if chunk is None:
            raise missing_param("media")
        previous = record.segments.get(index)
        record.segments[index] = Segment(chunk.path, chunk.size)
        record.append_count += 1
        if previous is not None:
            await self._spool.delete(previous.path)
        return web.Response(status=204)

    # --- FINALIZE ----------------------------------------------------------------------------

    async def _finalize(self, parsed: ParsedRequest, owner: str) -> web.Response:
        record = self._owned(parsed, owner)
        given_md5 = parsed.get("original_md5")
        if given_md5 is not None and _MD5_RE.fullmatch(given_md5) is None:
            raise invalid_param("original_md5", given_md5)
        async with record.finalize_lock:
            if not record.finalized:
                await self._first_finalize(record, parsed, given_md5)
            else:
                self._check_md5(given_md5, record.md5 or "")
            record.finalize_count += 1
            now = time.monotonic()
            body = self._envelope(record, now)
            if record.processing is not None:
                first = record.finalize_count == 1
                body["processing_info"] = self._processing_info(record, now, first)
                return json_response(body, status=200)
            if record.image is not None:
                image = record.image
                body["image"] = {
                    "image_type": image.image_type,
                    "w": image.width,
                    "h": image.height,
                }
            elif record.video is not None:
                body["video"] = {"video_type": record.media_type}
            return json_response(body, status=201)

    @staticmethod
    def _check_md5(given: str | None, actual: str) -> None:
        if given is not None and given.lower() != actual:
            raise UploadError(
                f"original_md5 mismatch: {given.lower()} was sent, the uploaded bytes hash to "
                f"{actual}."
            )

    async def _first_finalize(
        self, record: MediaRecord, parsed: ParsedRequest, given_md5: str | None
    ) -> None:
        indexes = sorted(record.segments)
        sizes = [record.segments[index].size for index in indexes]
        if indexes != list(range(len(indexes))) or sum(sizes) != record.total_bytes:
            raise UploadError("Segments do not add up to provided total file size.")
        assembled = await self._spool.assemble([record.segments[i].path for i in indexes])
        keep = False
        try:
            self._check_md5(given_md5, assembled.md5)
            is_async = self._is_async(record, parsed)
            await self._probe(record, assembled, is_async)
            keep = self._config.keep_bytes
        finally:
            if not keep:
                await self._spool.delete(assembled.path)
        await self._spool.delete(*(segment.path for segment in record.segments.values()))
        record.segments.clear()
        record.finalized = True
        record.finalize_params = dict(parsed.params)
        record.segment_sizes = sizes
        record.size, record.md5, record.sha256 = assembled.size, assembled.md5, assembled.sha256
        record.kept_path = assembled.path if keep else None

    @staticmethod
    def _is_async(record: MediaRecord, parsed: ParsedRequest) -> bool:
        if record.media_category is not None and record.family in (Family.VIDEO, Family.GIF):
            return True
        allow_async = (parsed.get("allow_async") or "").lower() == "true"
        return allow_async and record.media_type.startswith("video/")

    async def _probe(self, record: MediaRecord, assembled: Assembled, is_async: bool) -> None:
        path = assembled.path
        if is_async:
            error: str | None = None
            try:
                if record.family is Family.GIF:
                    await asyncio.to_thread(probe_gif, path)
                else:
                    record.video = await asyncio.to_thread(probe_mp4, path)
            except InvalidMedia as exc:
                error = str(exc)
            video_type = "video/mp4" if record.family is Family.GIF else record.media_type
            seconds = self._config.processing_seconds
            record.processing = Processing(time.monotonic(), seconds, error, video_type)
            return
        try:
            if record.family is Family.IMAGE:
                record.image = await asyncio.to_thread(probe_image, path)
            elif record.family is Family.VIDEO:
                record.video = await asyncio.to_thread(probe_mp4, path)
            elif record.family is Family.SUBTITLES:
                await asyncio.to_thread(probe_subtitles, path)
        except InvalidMedia as exc:
            raise UploadError(f"InvalidMedia: {exc}") from exc

    def _processing_info(
        self, record: MediaRecord, now: float, force_pending: bool = False
    ) -> dict[str, object]:
        processing = record.processing
        assert processing is not None
        state, percent = processing.state(now)
        if force_pending:
            # The first FINALIZE always says pending, as X does; STATUS then tells the truth.
            state, percent = "pending", 0
        info: dict[str, object] = {"state": state}
        if state == "pending":
            info["check_after_secs"] = self._config.check_after_secs
        elif state == "in_progress":
            info["check_after_secs"] = self._config.check_after_secs
            info["progress_percent"] = percent
        else:
            info["progress_percent"] = 100
        if state == "failed":
            info["error"] = {"code": 1, "name": "InvalidMedia", "message": processing.error}
        return info

    # --- STATUS ------------------------------------------------------------------------------

    def _status(self, parsed: ParsedRequest, owner: str) -> web.Response:
        record = self._owned(parsed, owner)
        record.status_count += 1
        if record.processing is None:
            raise UploadError(f"Media id {record.media_id} does not have processing info.")
        now = time.monotonic()
        body = self._envelope(record, now)
        info = self._processing_info(record, now)
        body["processing_info"] = info
        if info["state"] == "succeeded":
            body["video"] = {"video_type": record.processing.video_type}
        return json_response(body)
