"""`LiveView` takes events from the scheduler's thread and from assembly workers while its table
is drawn from another: hammered from several threads at once it neither raises nor loses a
state, and prints one whole line per event when the console is not a terminal."""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Callable

from rich.console import Console

from storyboard.cli.progress import LiveView
from storyboard.engine.render import VideoEvent
from storyboard.engine.scheduler import Event

WRITERS = 6
SHOTS_EACH = 40
VIDEOS_EACH = 100
STATES = ("submitted", "running", "downloading", "done")


def shot(writer: int, n: int) -> str:
    return f"w{writer}-s{n}"


def quiet_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200, color_system=None, highlight=False), buffer


def run_threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    """Start every target at the same moment; the exceptions they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def guarded(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    return errors


def test_events_from_many_threads_while_the_table_is_drawn() -> None:
    console, buffer = quiet_console()
    shots = [shot(w, n) for w in range(WRITERS) for n in range(SHOTS_EACH)]
    view = LiveView(console, shots)
    finished = threading.Event()
    tables = 0

    def writer(w: int) -> Callable[[], None]:
        def send() -> None:
            for n in range(SHOTS_EACH):
                for step, state in enumerate(STATES):
                    task = f"t{w}.{n}" if state == "submitted" else None
                    view(Event(shot(w, n), state, float(n + step), task))  # type: ignore[arg-type]
            for n in range(VIDEOS_EACH):  # each a new key while the table is being drawn
                name = f"v{w}-{n}"
                view.video(VideoEvent(name, "assembling", float(n + 4)))
                view.video(VideoEvent(name, "done" if n % 2 else "failed", float(n + 6), "detail"))

        return send

    def reader() -> None:
        nonlocal tables
        draw, _ = quiet_console()
        while not finished.is_set() or tables < 3:
            table = view._table()
            if tables % 25 == 0:  # drawing it is slow; building it is what races the writers
                draw.print(table)
            tables += 1

    def writers() -> None:
        try:
            run_threads([writer(w) for w in range(WRITERS)])
        finally:
            finished.set()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows up at once
    try:
        with view:
            assert view.live is None  # not a terminal: nothing is drawn live
            errors = run_threads([writers, reader])
    finally:
        sys.setswitchinterval(switch)

    assert errors == []
    assert tables >= 3
    assert view.states == {shot(w, n): ("done", float(n + 3), "") for w in range(WRITERS) for n in range(SHOTS_EACH)}
    assert view.started == {shot(w, n): float(n) for w in range(WRITERS) for n in range(SHOTS_EACH)}
    assert view.videos == {
        f"v{w}-{n}": ("done" if n % 2 else "failed", float(n + 4), float(n + 6))
        for w in range(WRITERS)
        for n in range(VIDEOS_EACH)
    }

    lines = buffer.getvalue().splitlines()
    assert len(lines) == WRITERS * (SHOTS_EACH * len(STATES) + VIDEOS_EACH * 2)  # one whole line per event
    whole = re.compile(r" *\d+\.\ds (w\d+-s\d+: [a-z]+( task t\d+\.\d+)?|video v\d+-\d+: [a-z]+)")
    assert [line for line in lines if not whole.fullmatch(line)] == []
    for w in range(WRITERS):  # each thread's lines, in the order it sent them
        n = 7
        own = [line for line in lines if f" {shot(w, n)}: " in line or f" video v{w}-{n}: " in line]
        assert own == [
            f"    7.0s {shot(w, n)}: submitted task t{w}.{n}",
            f"    8.0s {shot(w, n)}: running",
            f"    9.0s {shot(w, n)}: downloading",
            f"   10.0s {shot(w, n)}: done",
            f"   11.0s video v{w}-{n}: assembling",
            f"   13.0s video v{w}-{n}: done",
        ]


def test_the_table_shows_the_final_states_and_times() -> None:
    console, _ = quiet_console()
    view = LiveView(console, ["intro", "hero", "end"])
    view(Event("intro", "cached", 0.0))
    view(Event("hero", "submitted", 1.5, "t1"))
    view(Event("hero", "failed", 31.75, "t1", "OutputVideoSensitiveContentDetected: refused"))
    view.video(VideoEvent("promo", "assembling", 40.0))
    view.video(VideoEvent("promo", "done", 42.5, "out/promo.mp4"))
    draw, buffer = quiet_console()
    draw.print(view._table())
    rows = [re.sub(r"\s+", " ", line).strip() for line in buffer.getvalue().splitlines()]
    assert rows[:3] == [
        "shot state time detail",
        "intro cached 0.0s",
        "hero failed 30.2s OutputVideoSensitiveContentDetected: refused",
    ]
    assert re.fullmatch(r"end waiting \d+\.\ds", rows[3])  # not ended: its clock keeps running
    assert rows[4:] == ["video promo done 2.5s", rows[5]]  # then the progress bar
    assert len(rows) == 6
