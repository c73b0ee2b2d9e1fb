"""End-to-end renders against the emulator over real HTTP: output, chaining, counting, faults.

The emulator's request log is the witness: tests count create requests instead of trusting the
engine's own report.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from storyboard.cli.main import main
from storyboard.emulator import Emulator

from support.emulator_support import decode, psnr, reference_crop

ROOT = Path(__file__).resolve().parents[2]
FAST = "doubao-seedance-1-0-pro-fast-251015"


def creates(emu: Emulator) -> list[dict]:
    """Successful create requests, in order."""
    return [r for r in emu.requests if r["path"] == "/seedance/videos" and r["status"] == 200]


def created_prompts(emu: Emulator) -> list[str]:
    return [r["body"]["content"][0]["text"] for r in creates(emu)]


def use(emu: Emulator, monkeypatch: pytest.MonkeyPatch, token: str = "test-token") -> None:
    """Point the CLI at a standalone emulator, as a user with a token would at AceData."""
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emu.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", token)


def write_board(folder: Path, shots: str, *, name: str = "t", extra: str = "") -> Path:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "media" / "image_0001.jpg", folder / "media" / "bird.jpg")
    text = (
        f"version: 1\nname: {name}\n"
        f"defaults: {{model: {FAST}, resolution: 480p, duration: 2, seed: 3}}\n"
        f"output: {{path: out/{name}.mp4, preset: ultrafast}}\n{extra}shots:\n{shots}"
    )
    path = folder / "board.yaml"
    path.write_text(text, encoding="utf-8")
    return path


CHAIN4 = """\
  - {id: a, prompt: "shot a", images: [{path: media/bird.jpg}]}
  - {id: b, prompt: "shot b", chain: true}
  - {id: c, prompt: "shot c", chain: true}
  - {id: d, prompt: "shot d", chain: true}
"""


def test_quickstart_renders_with_embedded_emulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board = tmp_path / "quickstart.yaml"
    shutil.copytree(ROOT / "examples" / "media", tmp_path / "media")
    shutil.copy(ROOT / "examples" / "quickstart.yaml", board)
    assert main(["render", str(board), "--quiet"]) == 0
    out = tmp_path / "out" / "quickstart.mp4"
    assert capsys.readouterr().out.strip() == str(out)
    frames, size = decode(out)
    assert size == (864, 480)  # 1.0 table, 480p 16:9
    # three 3 s shots (73 frames each), cut joins: each chained join drops its duplicate frame
    assert len(frames) == 73 * 3 - 2
    report = json.loads((tmp_path / "out" / "quickstart.report.json").read_text())
    assert [s["source"] for s in report["shots"]] == ["generated"] * 3
    assert report["service"] == "emulator"


def test_embedded_notice_says_how_to_render_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board = write_board(tmp_path, '  - {prompt: "one"}\n')
    assert main(["render", str(board), "--json-events"]) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()[:-1]]
    # ("running" shows up only when a poll lands while the task is still processing)
    assert [(e["event"], e["state"]) for e in events if e["state"] != "running"] == [
        ("shot", "submitted"), ("shot", "downloading"), ("shot", "done"),
        ("video", "assembling"), ("video", "done"),
    ]  # fmt: skip
    assert out.splitlines()[-1] == str(tmp_path.resolve() / "out" / "t.mp4")
    assert err.splitlines()[0] == (
        "ACEDATACLOUD_API_TOKEN is not set: rendering with the built-in emulator (free placeholder "
        "clips). To render with SeeDance on AceData Cloud, set ACEDATACLOUD_API_TOKEN."
    )


def test_chained_shot_starts_on_upstream_last_frame(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, CHAIN4[: CHAIN4.index("  - {id: c")])
    assert main(["render", str(board), "--quiet"]) == 0
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    clip_a, clip_b = (Path(s["clip"]) for s in report["shots"])
    frames_a, _ = decode(clip_a)
    frames_b, _ = decode(clip_b)
    assert psnr(frames_a[-1], frames_b[0]) > 30
    # the chained request carried shot a's last_frame_url, and asked a for it
    bodies = [r["body"] for r in creates(emulator)]
    assert bodies[0]["return_last_frame"] is True
    assert bodies[1]["content"][1]["image_url"]["url"].startswith(emulator.url)


def test_second_render_sends_no_create(tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, CHAIN4)
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(emulator)) == 4
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(emulator)) == 4
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    assert [s["source"] for s in report["shots"]] == ["cache"] * 4
    assert report["totals"]["poll_requests"] == 0


def test_edit_regenerates_only_the_edited_shot_and_its_dependants(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    # c chains from b; d is independent of the chain (its own photo)
    shots = """\
  - {id: a, prompt: "shot a", images: [{path: media/bird.jpg}]}
  - {id: b, prompt: "shot b", images: [{from: a}]}
  - {id: c, prompt: "shot c", chain: true}
  - {id: d, prompt: "shot d", images: [{path: media/bird.jpg}]}
"""
    board = write_board(tmp_path, shots)
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(emulator)) == 4
    board.write_text(board.read_text().replace('"shot b"', '"shot b, edited"'))
    assert main(["render", str(board), "--quiet"]) == 0
    assert created_prompts(emulator)[4:] == ["shot b, edited", "shot c"]


def test_force_named_shot_recreates_exactly_that_shot(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, CHAIN4)
    assert main(["render", str(board), "--quiet"]) == 0
    assert main(["render", str(board), "--quiet", "--force", "b"]) == 0
    assert created_prompts(emulator)[4:] == ["shot b"]
    assert main(["render", str(board), "--quiet", "--force"]) == 0
    assert created_prompts(emulator)[5:] == ["shot a", "shot b", "shot c", "shot d"]


def test_force_unknown_shot_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board = write_board(tmp_path, CHAIN4)
    assert main(["render", str(board), "--force", "zz"]) == 2
    assert capsys.readouterr().err.strip() == '--force: unknown shot "zz" (shots: a, b, c, d)'


def test_dry_run_sends_nothing(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, CHAIN4)
    assert main(["render", str(board), "--dry-run"]) == 0
    assert emulator.requests == []
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "a: generate — 864x480, 2 s, ~19,845 tokens"
    assert out[1] == "b: generate after a — 864x480, 2 s, ~19,845 tokens"
    assert out[-1].startswith("would pay about 0.3332 CNY;")


def test_faults_complete_without_duplicate_creates(
    tmp_path: Path, emulator_factory: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator_factory(faults="create429=3,poll500=2,dropdl=1")
    use(emu, monkeypatch)
    board = write_board(tmp_path, CHAIN4[: CHAIN4.index("  - {id: c")] + '  - {id: e, prompt: "shot e"}\n')
    assert main(["render", str(board), "--quiet"]) == 0
    stats = emu.stats()
    assert stats["creates"] == 3  # one accepted create per shot, none twice
    assert stats["creates_rejected"] == 3
    assert stats["downloads_dropped"] == 1
    assert sorted(created_prompts(emu)) == ["shot a", "shot b", "shot e"]


def test_failed_shot_blocks_dependants_and_keeps_the_rest(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator_factory(faults="fail=shot b")
    use(emu, monkeypatch)
    board = write_board(tmp_path, CHAIN4 + '  - {id: e, prompt: "shot e"}\n')
    assert main(["render", str(board), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith('shot "b" failed: ')
    assert "OutputVideoSensitiveContentDetected" in err[0]
    assert err[0].endswith("— rephrase the prompt or replace the images, then render again")
    assert err[1] == 'shot "c" not generated: it needs "b", which did not finish'
    assert err[2] == 'shot "d" not generated: it needs "c", which did not finish'
    assert err[3] == "2 of 5 shots are generated and cached; nothing paid for is lost"
    assert not (tmp_path / "out" / "t.mp4").exists()
    assert sorted(created_prompts(emu)) == ["shot a", "shot b", "shot e"]
    # the independent shot and the upstream are cached: a fixed render pays only for b, c, d
    emu.set_faults("")
    board.write_text(board.read_text().replace('"shot b"', '"shot b, calmer"'))
    assert main(["render", str(board), "--quiet"]) == 0
    assert created_prompts(emu)[3:] == ["shot b, calmer", "shot c", "shot d"]


def test_corrupt_cache_entry_is_a_miss_with_a_warning(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
    assert main(["render", str(board), "--quiet"]) == 0
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    clip = Path(report["shots"][0]["clip"])
    clip.write_bytes(clip.read_bytes()[:1000])
    capsys.readouterr()
    assert main(["render", str(board)]) == 0
    assert len(creates(emulator)) == 2
    key = report["shots"][0]["cache_key"]
    assert (
        f"warning: cache entry {key[:12]} is corrupt (clip checksum mismatch); generating again"
        in capsys.readouterr().err
    )


def test_token_never_reaches_files_or_output(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "sk-very-secret-token-4f1e"
    emu = emulator_factory(token=token)
    use(emu, monkeypatch, token=token)
    board = write_board(tmp_path, CHAIN4[: CHAIN4.index("  - {id: c")])
    assert main(["render", str(board), "--json-events"]) == 0
    printed = capsys.readouterr()
    assert token not in printed.out + printed.err
    for folder in (tmp_path, Path(os.environ["STORYBOARD_CACHE_DIR"])):
        for file in folder.rglob("*"):
            if file.is_file():
                assert token.encode() not in file.read_bytes(), file


def test_wrong_token_is_one_line_and_exit_3(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator_factory(token="right")
    use(emu, monkeypatch, token="not-the-token-7")
    board = write_board(tmp_path, '  - {prompt: "one"}\n')
    assert main(["render", str(board), "--quiet"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "the service refused the request: HTTP 401 invalid_token: The specified token is invalid or wrong."
    )
    assert len(err.splitlines()) == 1


def test_chaining_onto_a_cached_shot_does_not_pay_for_it_again(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a", images: [{path: media/bird.jpg}]}\n')
    assert main(["render", str(board), "--quiet"]) == 0
    board.write_text(board.read_text() + '  - {id: b, prompt: "shot b", chain: true}\n')
    assert main(["render", str(board), "--quiet"]) == 0
    assert created_prompts(emulator) == ["shot a", "shot b"]
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    frames_a, _ = decode(Path(report["shots"][0]["clip"]))
    frames_b, _ = decode(Path(report["shots"][1]["clip"]))
    assert psnr(frames_a[-1], frames_b[0]) > 30  # b starts on the frame taken from a's clip


def test_preview_is_small_fast_and_never_overwrites_the_video(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a", resolution: 720p}\n')
    assert main(["render", str(board), "--quiet", "--preview"]) == 0
    preview = tmp_path.resolve() / "out" / "t.preview.mp4"
    assert capsys.readouterr().out.strip() == str(preview)
    _, size = decode(preview)
    assert size == (850, 480)  # 1248x704 scaled to 480 px tall, even width
    assert not (tmp_path / "out" / "t.mp4").exists()
    report = json.loads((tmp_path / "out" / "t.preview.report.json").read_text())
    assert report["shots"][0]["width"] == 1248


def test_chain_from_a_model_without_last_frames_uses_the_true_last_decoded_frame(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    shots = """\
  - {id: a, prompt: "shot a", model: doubao-seedance-2-0-fast-260128, duration: 4, images: [{path: media/bird.jpg}]}
  - {id: b, prompt: "shot b", model: doubao-seedance-2-0-fast-260128, duration: 4, chain: true}
"""
    board = write_board(tmp_path, shots)
    assert main(["render", str(board), "--quiet"]) == 0
    first = creates(emulator)[0]
    assert first["body"]["return_last_frame"] is True  # asked for, but 2.x answers null (docs/protocol.md §7)
    second = creates(emulator)[1]["body"]["content"][1]["image_url"]["url"]
    assert second.startswith("data:image/png;base64,")  # taken from the clip, sent inline
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    frames_a, _ = decode(Path(report["shots"][0]["clip"]))
    frames_b, _ = decode(Path(report["shots"][1]["clip"]))
    assert len(frames_a) == 97
    # the frame kept in the cache is exactly the last decoded frame, not one near the end
    kept = np.asarray(Image.open(Path(report["shots"][0]["clip"]).with_name("last_frame.png")).convert("RGB"))
    assert np.array_equal(kept, frames_a[-1])
    # and shot b starts on it (as the service crops it to 16:9, docs/protocol.md §9)
    expected = reference_crop(Image.fromarray(frames_a[-1]), "16:9", (864, 496))
    assert psnr(expected, frames_b[0]) > 30


def test_music_url_is_downloaded_once_without_the_token(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools
    import http.server
    import threading

    seen: list[dict[str, str]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT / "examples" / "media"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        use(emulator, monkeypatch, token="music-test-token-9")
        url = f"http://127.0.0.1:{server.server_address[1]}/rain.mp3"
        board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
        board.write_text(
            board.read_text().replace(
                "preset: ultrafast}", f'preset: ultrafast, music: {{url: "{url}", volume: 0.5}}}}'
            )
        )
        assert main(["render", str(board), "--quiet"]) == 0
        assert main(["render", str(board), "--quiet", "-o", str(tmp_path / "again.mp4")]) == 0
    finally:
        server.shutdown()
    assert len(seen) == 1  # cached after the first download
    assert "Authorization" not in seen[0] and "authorization" not in seen[0]
    report = json.loads((tmp_path / "again.report.json").read_text())
    assert report["assembly"]["has_audio"] is True


def test_unusable_cache_directory_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("STORYBOARD_CACHE_DIR", str(blocker))
    board = write_board(tmp_path, '  - {prompt: "one"}\n')
    assert main(["render", str(board)]) == 1
    assert capsys.readouterr().err.strip() == f"error: cache directory {blocker} cannot be created: Not a directory"
