"""`mediagate upload | upload-many | metadata | status | get-image | get-record`."""

from __future__ import annotations

import base64
import json
import os
import pty
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from client_cli.conftest import MEDIAGATE, Run, Served, run_cli
from gateway.helpers import GOOD_COOKIES
from mediagate.samples import sample_image, synthetic_mp4

PNG = sample_image("PNG", (200, 120))


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    return path


@pytest.fixture
def mp4(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(synthetic_mp4(3 * 1024 * 1024, 3000))
    return path


def _json(run: Run) -> dict[str, Any]:
    assert run.out, run.err
    doc = json.loads(run.out)
    assert isinstance(doc, dict)
    return doc


def test_upload_image_json(served: Served, png: Path) -> None:
    run = run_cli("upload", str(png), "--category", "tweet_image", "--account", "demo",
                  "--json", "--target", served.target)  # fmt: skip
    assert run.code == 0, run.err
    result = _json(run)
    assert result["success"] is True
    assert str(result["media_id_string"]).isdigit()
    assert result["media_type"] == "image/png"


def test_upload_video_shows_progress_lines_when_not_a_tty(served: Served, mp4: Path) -> None:
    run = run_cli("upload", str(mp4), "--category", "amplify_video", "--target", served.target,
                  env={"MEDIAGATE_ACCOUNT": "demo"})  # fmt: skip
    assert run.code == 0, run.err
    assert "processing=succeeded" in run.out and run.out.startswith("media_id=")
    lines = run.err.splitlines()
    assert "\r" not in run.err
    phases = [line.split()[0] for line in lines]
    for phase in ("uploading", "processing", "done"):
        assert phase in phases, run.err
    assert any("3.0/3.0 MiB sent" in line and "3.0 MiB acked by X" in line for line in lines)
    assert any("X succeeded 100%" in line for line in lines), run.err


def test_upload_progress_bar_redraws_on_a_terminal(served: Served, mp4: Path) -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGATE_")}
    proc = subprocess.Popen(
        [MEDIAGATE, "upload", str(mp4), "--category", "dm_video", "--account", "demo",
         "--target", served.target],
        stdout=subprocess.PIPE, stderr=secondary, env={**env, "COLUMNS": "120"},
    )  # fmt: skip
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, seen.decode(errors="replace")
    screen = seen.decode()
    assert screen.count("\r") >= 3
    assert "100%" in screen and ("█" in screen or "#" in screen)
    assert b"processing=succeeded" in out


def test_upload_with_metadata_and_cookies_file(served: Served, png: Path, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(GOOD_COOKIES + "\n")
    run = run_cli("upload", str(png), "--category", "dm_image", "--cookies-file", str(cookies),
                  "--alt-text", "a test card", "--warning", "nudity", "--warning", "other",
                  "--ai-generated", "--block-grok-edit", "--no-download", "--direct",
                  "--target", served.target)  # fmt: skip
    assert run.code == 0, run.err
    assert "metadata=applied" in run.out
    assert GOOD_COOKIES not in run.out + run.err


def test_upload_many_and_metadata_and_status(served: Served, png: Path, mp4: Path) -> None:
    env = {"MEDIAGATE_COOKIES": GOOD_COOKIES, "MEDIAGATE_TARGET": served.target}
    many = run_cli("upload-many", str(png), "--count", "3", "--json", env=env)
    assert many.code == 0, many.err
    doc = _json(many)
    assert doc["success_count"] == 3 and len(set(doc["media_ids"])) == 3
    media_id = doc["media_ids"][0]

    sent = run_cli("metadata", media_id, "--alt-text", "hello", "--json", env=env)
    assert sent.code == 0, sent.err
    assert _json(sent) == {"sent": True}
    nothing = run_cli("metadata", media_id, env=env)
    assert nothing.code == 0 and "nothing to send" in nothing.out

    video = run_cli("upload", str(mp4), "--category", "amplify_video", "--json", env=env)
    video_id = _json(video)["media_id_string"]
    status = run_cli("status", str(video_id), env=env)
    assert status.code == 0, status.err
    assert f"media_id={video_id} state=succeeded" in status.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "image"], "invalid choice: 'image'"),
        (["--category", "TWEET_IMAGE"], "tweet_image"),
        (["--category", "amplify_video"], "INVALID_ARGUMENT"),  # the gateway: a PNG is no video
        (["--category", "tweet_image", "--account", "nobody"], "NOT_FOUND"),
        (["--category", "tweet_image", "--proxy", "http://p:1", "--direct"], "not allowed"),
    ],
)
def test_bad_input_exits_2(served: Served, png: Path, args: list[str], message: str) -> None:
    run = run_cli("upload", str(png), "--target", served.target, *args,
                  env={"MEDIAGATE_ACCOUNT": "demo"})  # fmt: skip
    assert run.code == 2, (run.out, run.err)
    assert message in run.err


def test_local_input_errors_exit_2(served: Served, png: Path, tmp_path: Path) -> None:
    missing = run_cli("upload", str(tmp_path / "absent.png"), "--category", "dm_image",
                      "--account", "demo", "--target", served.target)  # fmt: skip
    assert missing.code == 2 and "No such file" in missing.err
    nobody = run_cli("upload", str(png), "--category", "dm_image", "--target", served.target)
    assert nobody.code == 2 and "no account" in nobody.err
    zero = run_cli("upload-many", str(png), "--count", "0", "--account", "demo", "--json",
                   "--target", served.target)  # fmt: skip
    assert zero.code == 2 and _json(zero)["error"]["code"] == "BAD_INPUT"


def test_gateway_errors_as_json(served: Served, png: Path) -> None:
    run = run_cli("upload", str(png), "--category", "dm_video", "--account", "demo", "--json",
                  "--target", served.target)  # fmt: skip
    assert run.code == 2
    error = _json(run)["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["fields"] == ["spec.media_category"]


def test_upstream_failures_exit_1(served: Served, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(PNG[:16] + b"\0" * 4000)  # PNG magic, then nothing X can decode
    refused = run_cli("upload", str(broken), "--category", "tweet_image", "--account", "demo",
                      "--target", served.target)  # fmt: skip
    assert refused.code == 1, (refused.out, refused.err)
    assert "upload failed:" in refused.out
    down = run_cli("status", "1", "--account", "demo", "--target", "127.0.0.1:1")
    assert down.code == 1 and "UNAVAILABLE" in down.err and "127.0.0.1:1" in down.err


def test_get_image_and_record(served: Served) -> None:
    ref = "base64://" + base64.b64encode(PNG).decode()
    run = run_cli("get-image", ref, "--json", "--target", served.target)
    if "UNIMPLEMENTED" in run.out + run.err:
        pytest.skip("this server does not serve MediaQueryService")
    assert run.code == 0, run.err
    doc = _json(run)
    assert Path(str(doc["file"])).read_bytes() == PNG
    assert doc["media_type"] == "image/png"
    bad = run_cli("get-record", ref, "--format", "aiff", "--target", served.target)
    assert bad.code == 2 and "INVALID_ARGUMENT" in bad.err and "mp3" in bad.err
