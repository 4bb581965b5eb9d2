"""The seed's signatures and the migration guide's imports hold for the SDK as shipped."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from mediagate_client import Twitter, UploadClient
from mediagate_client.upload import BatchUploadResult, UploadOptions, UploadResult

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-x-api-rs.md"
EMPTY = inspect.Parameter.empty

# x-api-rs's documented parameters: (name, default or EMPTY, keyword-only?).
SEED: dict[str, list[tuple[str, object, bool]]] = {
    "create": [("cookies", None, False), ("proxy_url", None, False), ("profile", None, False)],
    "upload": [("data", EMPTY, False), ("media_category", EMPTY, False), ("options", None, False),
               ("proxy_override", None, True), ("use_proxy", True, True)],
    "image": [("image_bytes", EMPTY, False), ("media_category", EMPTY, False),
              ("proxy_override", None, True), ("use_proxy", True, True)],
    "video": [("video_bytes", EMPTY, False), ("media_category", EMPTY, False),
              ("duration_ms", EMPTY, False), ("processing_timeout", None, False),
              ("proxy_override", None, True), ("use_proxy", True, True)],
    "image_multiple_times": [("image_bytes", EMPTY, False), ("media_category", EMPTY, False),
                             ("count", EMPTY, False), ("proxy_override", None, True),
                             ("use_proxy", True, True)],
    "set_media_metadata": [("media_id", EMPTY, False), ("metadata", EMPTY, False)],
}  # fmt: skip


@pytest.mark.parametrize("method", sorted(SEED))
def test_seed_parameters_keep_their_names_order_and_defaults(method: str) -> None:
    params = list(inspect.signature(getattr(UploadClient, method)).parameters.values())
    params = [p for p in params if p.name not in ("self", "cls")]
    positional = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    for name, default, keyword_only in SEED[method]:
        (param,) = [p for p in params if p.name == name]
        assert param.default == default or (param.default is EMPTY and default is EMPTY), name
        assert (param.kind is inspect.Parameter.KEYWORD_ONLY) == keyword_only, name
    seed_positional = [n for n, _, kw in SEED[method] if not kw]
    assert [p.name for p in positional][: len(seed_positional)] == seed_positional
    # Whatever mediagate adds is keyword-only (or has a default), so seed calls still bind.
    assert all(p.default is not EMPTY for p in params if p.name not in dict.fromkeys(
        n for n, d, _ in SEED[method] if d is EMPTY))  # fmt: skip


def test_entry_points_are_async_and_types_have_seed_fields() -> None:
    assert inspect.iscoroutinefunction(UploadClient.create)
    assert inspect.iscoroutinefunction(Twitter.create)
    for method in SEED:
        if method != "create":
            assert inspect.iscoroutinefunction(getattr(UploadClient, method))
    fields = {
        UploadResult: {"success", "media_id", "media_id_string", "error_msg", "processing_info"},
        BatchUploadResult: {"success_count", "failure_count", "media_ids", "results"},
        UploadOptions: {"duration_ms", "processing_timeout", "proxy_override", "use_proxy"},
    }
    for cls, names in fields.items():
        assert names <= set(inspect.signature(cls).parameters)


def test_the_migration_guide_imports_exist() -> None:
    text = GUIDE.read_text()
    imports = re.findall(r"^from (mediagate_client[\w.]*) import (.+)$", text, re.M)
    assert len(imports) >= 4
    for module, names in imports:
        mod = importlib.import_module(module)
        for name in names.split(","):
            assert hasattr(mod, name.strip()), f"{module}.{name.strip()}"
