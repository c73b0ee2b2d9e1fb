"""`local_inputs`: the files `storyboard watch` watches are exactly the local files a storyboard reads."""

from __future__ import annotations

from pathlib import Path

from storyboard.spec.inputs import local_inputs
from storyboard.spec.model import Storyboard


def test_images_music_and_fonts_count_urls_frames_and_the_output_do_not(tmp_path: Path) -> None:
    board = Storyboard.model_validate(
        {
            "version": 1,
            "defaults": {"caption": {"text": "x", "font": "fonts/a.ttf"}},
            "output": {
                "path": "out/video.mp4",
                "font": "/abs/b.otf",
                "music": {"path": "media/rain.mp3"},
                "title": {"text": "t", "font": "fonts/c.ttf"},
            },
            "shots": [
                {"id": "a", "prompt": "p", "images": [{"path": "media/a.jpg"}, {"url": "https://e.com/x.png"}]},
                {"id": "b", "prompt": "p", "images": [{"from": "a"}, {"path": "../up.png", "role": "last_frame"}]},
                {"prompt": "p", "caption": "灯塔"},
            ],
        }
    )
    assert local_inputs(board, tmp_path) == {
        tmp_path / "fonts" / "a.ttf",
        Path("/abs/b.otf"),
        tmp_path / "media" / "rain.mp3",
        tmp_path / "fonts" / "c.ttf",
        tmp_path / "media" / "a.jpg",
        tmp_path.parent / "up.png",
    }


def test_assets_and_reference_paths_count(tmp_path: Path) -> None:
    board = Storyboard.model_validate(
        {
            "version": 1,
            "assets": {"mia": {"path": "media/mia.png"}, "web": {"url": "https://e.com/v.mp4"}},
            "shots": [
                {"id": "a", "prompt": "p", "model": "doubao-seedance-2-0-260128",
                 "references": ["mia", {"path": "media/voice.mp3"}, {"asset": "web"}]},
            ],
        }
    )  # fmt: skip
    assert local_inputs(board, tmp_path) == {tmp_path / "media" / "mia.png", tmp_path / "media" / "voice.mp3"}
