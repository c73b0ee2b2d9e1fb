"""The one rule of how a transition shares its length between the two clips it joins.

The validator uses it in seconds and the assembly in output frames, so both must agree: a cut
takes nothing, a crossfade overlaps both clips for its whole length, a fade to black takes half
from each (in whole frames, the odd frame going to the clip after).
"""

from __future__ import annotations

from typing import get_args

import pytest

from storyboard.spec.model import Transition, TransitionKind, transition_shares


def test_the_kinds_are_the_transition_types() -> None:
    assert set(get_args(TransitionKind)) == {"cut", "crossfade", "fade"}
    assert Transition().type == "cut"


@pytest.mark.parametrize(
    ("kind", "frames", "shares"),
    [
        ("cut", 0, (0, 0)),
        ("cut", 12, (0, 0)),
        ("crossfade", 0, (0, 0)),
        ("crossfade", 12, (12, 12)),
        ("crossfade", 13, (13, 13)),
        ("fade", 0, (0, 0)),
        ("fade", 1, (0, 1)),
        ("fade", 12, (6, 6)),
        ("fade", 13, (6, 7)),
    ],
)
def test_frames_split_in_whole_frames(kind: TransitionKind, frames: int, shares: tuple[int, int]) -> None:
    result = transition_shares(kind, frames)
    assert result == shares
    assert all(type(share) is int for share in result)


@pytest.mark.parametrize(
    ("kind", "seconds", "shares"),
    [
        ("cut", 0.0, (0.0, 0.0)),
        ("cut", 0.5, (0.0, 0.0)),
        ("crossfade", 0.5, (0.5, 0.5)),
        ("crossfade", 1.25, (1.25, 1.25)),
        ("fade", 0.5, (0.25, 0.25)),
        ("fade", 1.0, (0.5, 0.5)),
        ("fade", 0.75, (0.375, 0.375)),
    ],
)
def test_seconds_split_in_exact_halves(kind: TransitionKind, seconds: float, shares: tuple[float, float]) -> None:
    result = transition_shares(kind, seconds)
    assert result == shares
    assert all(type(share) is float for share in result)


@pytest.mark.parametrize("kind", get_args(TransitionKind))
@pytest.mark.parametrize("frames", range(0, 30))
def test_frame_shares_add_up_to_what_the_transition_takes(kind: TransitionKind, frames: int) -> None:
    before, after = transition_shares(kind, frames)
    expected = {"cut": 0, "crossfade": 2 * frames, "fade": frames}[kind]
    assert before + after == expected
    assert 0 <= before <= after


@pytest.mark.parametrize("kind", get_args(TransitionKind))
def test_seconds_and_frames_agree_on_even_frame_counts(kind: TransitionKind) -> None:
    fps = 24
    for frames in range(0, 121, 2):
        seconds = transition_shares(kind, frames / fps)
        counted = transition_shares(kind, frames)
        assert seconds == pytest.approx(tuple(n / fps for n in counted))
