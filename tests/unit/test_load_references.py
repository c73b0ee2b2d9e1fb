"""References, assets and the other 2.x fields: invalid storyboards with their exact error lines,
and the valid edge cases next to each limit.

Every invalid case runs through the real command line (`storyboard validate board.yaml`) and must
print exactly the expected `board.yaml:line:col: key.path: message` lines on stderr and exit 2.
Lines and columns are counted from the YAML below (1-based). The local media are real files:
images from Pillow (`support.board_media`), videos and audio from ffmpeg (`support.ref_media`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from PIL import Image

from storyboard.cli.main import main

from support.board_media import make_media
from support.ref_media import copy_ref_media, make_ref_media

FILE = "board.yaml"
M20, M25 = "doubao-seedance-2-0-260128", "doubao-seedance-2-5-260628"
REF_MODELS = f"{M20}, doubao-seedance-2-0-fast-260128, doubao-seedance-2-0-mini-260615, {M25}"


def board(shots: str, assets: str = "") -> str:
    """A storyboard: `assets` lines start on line 4 (after `assets:` on line 3), then `shots:`."""
    head = "version: 1\nname: t\n" + ("assets:\n" + assets if assets else "")
    return head + "shots:\n" + textwrap.indent(textwrap.dedent(shots).lstrip("\n"), "  ")


def urls(kind: str, n: int) -> str:
    ext = {"image": "png", "video": "mp4", "audio": "mp3"}[kind]
    return ", ".join(f"{{url: 'https://example.com/{i}.{ext}'}}" for i in range(n))


MIA = "  mia: {path: media/a.jpg}\n"  # line 4
THEME = "  theme: {path: media/voice.wav}\n"  # line 5

# (id, storyboard text, expected lines without the "board.yaml:" prefix)
CASES: list[tuple[str, str, list[str]]] = [
    # --- assets ------------------------------------------------------------------------------
    ("unknown-asset", board(f"""
        - model: {M20}
          prompt: x
          references: [mia, mi]
        """, MIA), ['8:23: shots[0].references[1]: unknown asset "mi" (did you mean "mia"?)']),
    ("unknown-asset-none-defined", board(f"""
        - model: {M20}
          prompt: x
          references: [mia]
        """), ['6:18: shots[0].references[0]: unknown asset "mia" (no asset is defined)']),
    ("asset-bad-name", board(f"""
        - model: {M20}
          prompt: x
          references: [_m]
        """, "  _m: {path: media/a.jpg}\n"),
     ["4:7: assets._m: an asset name must be letters, digits, _ . - (starting with a letter)"]),
    ("asset-unknown-kind", board(f"""
        - model: {M20}
          prompt: x
          references: [doc]
        """, "  doc: {url: 'https://example.com/doc'}\n"),
     ['4:14: assets.doc.url: cannot tell whether "https://example.com/doc" is an image, video or audio; '
      "add kind: image, video or audio"]),
    ("asset-two-sources", board(f"""
        - model: {M20}
          prompt: x
          references: [mia]
        """, "  mia: {path: media/a.jpg, url: 'https://example.com/a.png'}\n"),
     ["4:8: assets.mia: needs exactly one of path, url"]),
    ("asset-file-missing", board(f"""
        - model: {M20}
          prompt: x
          references: [mia]
        """, "  mia: {path: media/none.png}\n"), ["4:15: assets.mia.path: media/none.png: file not found"]),
    ("asset-bad-kind", board(f"""
        - model: {M20}
          prompt: x
          references: [mia]
        """, "  mia: {path: media/a.jpg, kind: picture}\n"),
     ["4:34: assets.mia.kind: must be one of image, video or audio (got 'picture')"]),
    ("asset-unknown-key", board(f"""
        - model: {M20}
          prompt: x
          references: [mia]
        """, "  mia: {path: media/a.jpg, nte: Mia}\n"),
     ['4:28: assets.mia.nte: unknown key (did you mean "note"?)']),
    # --- reference items ---------------------------------------------------------------------
    ("reference-no-source", board(f"""
        - model: {M20}
          prompt: x
          references: [{{kind: image}}]
        """), ["6:18: shots[0].references[0]: needs exactly one of path, url, from, asset (found: none)"]),
    ("reference-two-sources", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/a.jpg, url: 'https://example.com/a.png'}}]
        """), ["6:18: shots[0].references[0]: needs exactly one of path, url, from, asset (found: path, url)"]),
    ("reference-unknown-kind", board(f"""
        - model: {M20}
          prompt: x
          references: [{{url: 'https://example.com/a.bin'}}]
        """), ['6:24: shots[0].references[0].url: cannot tell whether "https://example.com/a.bin" is an image, '
               "video or audio; add kind: image, video or audio"]),
    ("reference-image-missing", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/none.png}}]
        """), ["6:25: shots[0].references[0].path: media/none.png: file not found"]),
    ("reference-image-too-small", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/tiny.png}}]
        """), ["6:25: shots[0].references[0].path: media/tiny.png is 200x200; each side must be between 300 "
               "and 6000 pixels"]),
    # --- from: ----------------------------------------------------------------------------------
    ("from-later-shot", board(f"""
        - id: a
          model: {M20}
          prompt: x
          references: [{{from: b}}]
        - id: b
          model: {M20}
          prompt: y
        """), ['7:25: shots[0].references[0].from: must name an earlier shot, not "b", a later shot']),
    ("from-itself", board(f"""
        - id: a
          model: {M20}
          prompt: x
          references: [{{from: a}}]
        """), ["7:25: shots[0].references[0].from: must name an earlier shot, not itself"]),
    ("from-unknown-shot", board(f"""
        - id: intro
          model: {M20}
          prompt: x
        - model: {M20}
          prompt: y
          references: [{{from: intr}}]
        """), ['9:25: shots[1].references[0].from: unknown shot "intr" (did you mean "intro"?)']),
    ("from-kind-image", board(f"""
        - id: a
          model: {M20}
          prompt: x
        - model: {M20}
          prompt: y
          references: [{{from: a, kind: image}}]
        """), ["9:34: shots[1].references[0].kind: a shot's clip is a video: kind must be video"]),
    # --- models ----------------------------------------------------------------------------------
    ("refs-unsupported-model", board("""
        - model: doubao-seedance-1-5-pro-251215
          prompt: x
          references: [{url: 'https://example.com/a.png'}]
        """), [f"6:18: shots[0].references[0]: doubao-seedance-1-5-pro-251215 takes no references "
               f"(2.x models do: {REF_MODELS})"]),
    ("refs-default-model", board("""
        - prompt: x
          references: [{url: 'https://example.com/a.png'}]
        """), [f"5:18: shots[0].references[0]: doubao-seedance-1-0-pro-250528 takes no references "
               f"(2.x models do: {REF_MODELS})"]),
    # --- counts ----------------------------------------------------------------------------------
    ("too-many-images", board(f"""
        - model: {M20}
          prompt: x
          references: [{urls("image", 10)}]
        """), [f"6:342: shots[0].references[9]: {M20} takes at most 9 reference images"]),
    ("images-and-references-count-together", board(f"""
        - model: {M20}
          prompt: x
          images: [{{url: 'https://example.com/i.png', role: reference_image}}]
          references: [{urls("image", 9)}]
        """), [f"7:306: shots[0].references[8]: {M20} takes at most 9 reference images"]),
    ("too-many-videos", board(f"""
        - model: {M20}
          prompt: x
          references: [{urls("video", 4)}]
        """), [f"6:126: shots[0].references[3]: {M20} takes at most 3 reference videos"]),
    ("too-many-audios", board(f"""
        - model: doubao-seedance-2-0-fast-260128
          prompt: x
          references: [mia, {urls("audio", 4)}]
        """, MIA), ["8:131: shots[0].references[4]: doubao-seedance-2-0-fast-260128 takes at most 3 reference audios"]),
    ("too-many-videos-2.5", board(f"""
        - model: {M25}
          prompt: x
          references: [{urls("video", 11)}]
        """), [f"6:378: shots[0].references[10]: {M25} takes at most 10 reference videos"]),
    ("audio-alone", board(f"""
        - model: {M20}
          prompt: x
          references: [theme]
        """, THEME), [f"8:18: shots[0].references[0]: {M20} takes reference audio only with a reference image or video"]),
    # --- exclusivity -----------------------------------------------------------------------------
    ("first-frame-with-references", board(f"""
        - model: {M20}
          prompt: x
          images: [{{path: media/a.jpg}}]
          references: [mia]
        """, MIA), ["9:18: shots[0].references[0]: references cannot be combined with a first or last frame (images[0])"]),
    ("chain-true-with-references", board(f"""
        - model: {M20}
          prompt: x
        - model: {M20}
          prompt: y
          chain: true
          references: [mia]
        """, MIA), [f"6:12: warning: shots[0].model: AceData may not return a last frame for {M20}; the chained "
                    "frame will be taken from the downloaded clip",
                    "11:18: shots[1].references[0]: references cannot be combined with a first or last frame "
                    "(chain: true)"]),
    # --- local media -----------------------------------------------------------------------------
    ("local-video-not-inline", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/clip.mp4}}]
        """), ["6:25: shots[0].references[0].path: media/clip.mp4 is a local video; the service takes reference "
               "videos by URL only: upload it and give url:"]),
    ("local-video-too-few-pixels", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/small.mp4}}]
        """), ["6:25: shots[0].references[0].path: media/small.mp4 is 640x360 (230,400 pixels); a reference video "
               "must have 409,600 to 2,086,876 pixels"]),
    ("local-video-too-long", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/long.mp4}}]
        """), ["6:25: shots[0].references[0].path: media/long.mp4 is 16 s long; a reference video must be 2 to 15 s"]),
    ("audio-too-long", board(f"""
        - model: {M20}
          prompt: x
          references: [mia, {{path: media/long.wav}}]
        """, MIA), ["8:30: shots[0].references[1].path: media/long.wav is 20 s long; a reference audio clip must be "
                    "2 to 15 s"]),
    ("audio-too-short", board(f"""
        - model: {M20}
          prompt: x
          references: [mia, {{path: media/short.wav}}]
        """, MIA), ["8:30: shots[0].references[1].path: media/short.wav is 1 s long; a reference audio clip must be "
                    "2 to 15 s"]),
    ("audio-that-is-a-video", board(f"""
        - model: {M20}
          prompt: x
          references: [mia, {{path: media/clip.mp4, kind: audio}}]
        """, MIA), ["8:30: shots[0].references[1].path: media/clip.mp4 is not wav or mp3 audio (found a video); "
                    "reference audio must be wav or mp3"]),
    ("audio-total-too-long", board(f"""
        - model: {M20}
          prompt: x
          references: [mia, {{path: media/ten.wav}}, {{path: media/ten.wav}}]
        """, MIA), [f"8:23: shots[0].references[1]: reference audios last 20 s in all; {M20} takes at most 15 s"]),
    ("from-videos-total-too-long", board(f"""
        - id: a
          model: {M20}
          prompt: x
          duration: 10
        - model: {M20}
          prompt: y
          references: [{{from: a}}, {{from: a}}]
        """), [f"10:18: shots[1].references[0]: reference videos last 20 s in all; {M20} takes at most 15 s"]),
    ("from-clip-too-long", board(f"""
        - id: a
          model: {M25}
          prompt: x
          duration: 20
        - model: {M25}
          prompt: y
          chain: extend
        """), ["10:12: shots[1].chain: shot a's clip is 20 s; a reference video must be 2 to 15 s"]),
    ("body-over-64-mb", board(f"""
        - model: {M20}
          prompt: x
          references: [{{path: media/big1.png}}, {{path: media/big2.png}}, {{path: media/big3.png}}]
        """), ["4:5: shots[0]: its inline media make a 68.0 MB request; the API takes at most 64 MB "
               "(give big files as url:)"]),
    # --- task types ------------------------------------------------------------------------------
    # one mistake, one line: the adaptive ratio extend implies is not reported on a 1.0 model again
    ("extend-on-1.0", board(f"""
        - model: {M20}
          prompt: x
        - model: doubao-seedance-1-0-pro-250528
          prompt: y
          chain: extend
        """), ["8:12: shots[1].chain: chain: extend is not available for doubao-seedance-1-0-pro-250528 (only "
               f"{M25})"]),
    ("extend-on-2.0", board(f"""
        - model: {M20}
          prompt: x
        - model: {M20}
          prompt: y
          chain: extend
        """), [f"8:12: shots[1].chain: chain: extend is not available for {M20} (only {M25})"]),
    ("extend-first-shot", board(f"""
        - model: {M25}
          prompt: x
          chain: extend
        """), ["6:12: shots[0].chain: the first shot has no previous shot to chain from"]),
    ("task-type-on-2.0", board(f"""
        - model: {M20}
          prompt: x
          omni_reference_task_type: reference
          references: [mia]
        """, MIA), [f"8:31: shots[0].omni_reference_task_type: omni_reference_task_type reference is not available "
                    f"for {M20} (only {M25})"]),
    ("edit-without-video", board(f"""
        - model: {M25}
          prompt: x
          omni_reference_task_type: edit
          ratio: adaptive
          references: [mia]
        """, MIA), ["8:31: shots[0].omni_reference_task_type: omni_reference_task_type edit needs a reference video "
                    "(references: [{from: SHOT}] or chain: edit)"]),
    ("extend-fixed-ratio", board(f"""
        - model: {M25}
          prompt: x
        - model: {M25}
          prompt: y
          chain: extend
          ratio: "16:9"
        """), ["9:12: shots[1].ratio: must be adaptive for an extend shot (the service requires it)"]),
    ("edit-with-duration", board(f"""
        - model: {M25}
          prompt: x
        - model: {M25}
          prompt: y
          chain: edit
          duration: 5
        """), ["9:15: shots[1].duration: must be left out or -1 for an edit shot (it keeps its source's length)"]),
    ("task-type-unknown", board(f"""
        - model: {M25}
          prompt: x
          omni_reference_task_type: continue
        """), ["6:31: shots[0].omni_reference_task_type: must be one of auto, reference, edit or extend (got 'continue')"]),
    # --- other 2.x fields ------------------------------------------------------------------------
    ("mov-on-2.0", board(f"""
        - model: {M20}
          prompt: x
          output_format: mov
        """), [f"6:20: shots[0].output_format: mov is not available for {M20} (only mp4)"]),
    ("web-search-on-mini", board("""
        - model: doubao-seedance-2-0-mini-260615
          prompt: x
          tools: [{type: web_search}]
        """), ["6:12: shots[0].tools: web search is not available for doubao-seedance-2-0-mini-260615 (only "
               f"{M20}, doubao-seedance-2-0-fast-260128, {M25})"]),
    ("tool-unknown-type", board(f"""
        - model: {M20}
          prompt: x
          tools: [{{type: code}}]
        """), ["6:20: shots[0].tools[0].type: must be one of web_search (got 'code')"]),
    ("two-tools", board(f"""
        - model: {M20}
          prompt: x
          tools: [{{type: web_search}}, {{type: web_search}}]
        """), ["6:12: shots[0].tools: takes at most 1 item (got 2)"]),
    ("priority-on-1.0", board("""
        - prompt: x
          priority: 3
        """), ["5:15: shots[0].priority: doubao-seedance-1-0-pro-250528 does not take priority (2.x models only)"]),
    ("priority-too-high", board(f"""
        - model: {M20}
          prompt: x
          priority: 10
        """), ["6:15: shots[0].priority: must be at most 9 (got 10)"]),
    ("safety-identifier-too-long", board(f"""
        - model: {M20}
          prompt: x
          safety_identifier: {"u" * 65}
        """), ["6:24: shots[0].safety_identifier: must be at most 64 characters"]),
    ("duration-over-2.0-max", board(f"""
        - model: {M20}
          prompt: x
          duration: 16
        """), [f"6:15: shots[0].duration: must be between 4 and 15 for {M20}"]),
    ("chain-bad-word", board(f"""
        - model: {M25}
          prompt: x
        - model: {M25}
          prompt: y
          chain: continue
        """), ["8:12: shots[1].chain: must be true, false, extend or edit (got 'continue')"]),
]  # fmt: skip


@pytest.fixture(scope="session")
def ref_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ref_media(tmp_path_factory.mktemp("ref-media"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref_media: Path) -> Path:
    media = make_media(tmp_path)
    copy_ref_media(ref_media, media)
    for i in (1, 2, 3):  # valid headers, padded (sparsely) to 17 MB: three of them pass 64 MB inline
        with open(media / f"big{i}.png", "wb") as fh:
            Image.new("RGB", (640 + i, 360)).save(fh, format="PNG")
            fh.truncate(17 * 1024 * 1024)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(workdir: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    (workdir / FILE).write_text(text, encoding="utf-8")
    code = main(["validate", FILE])
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def test_the_corpus_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({case_id for case_id, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in CASES], ids=[c[0] for c in CASES])
def test_invalid_references_print_exact_lines_and_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    code, err, out = validate(workdir, text, capsys)
    assert err == [f"{FILE}:{line}" for line in expected]
    assert code == 2
    assert out == ""
