"""Ctrl-C during a download stops it promptly: the scheduler tells the service to cancel its
downloads instead of waiting for a body that may never end, and the task stays journaled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from test_scheduler import Run, plan_of

from storyboard.errors import DownloadError, RenderInterrupted

from support.fake_service import FakeClock, FakeService


class CtrlCWhileDownloading(FakeClock):
    """The main thread's next look at the clock, once a download has started, is Ctrl-C."""

    def __init__(self) -> None:
        super().__init__()
        self.downloading = threading.Event()

    def monotonic(self) -> float:
        if self.downloading.is_set() and threading.current_thread() is threading.main_thread():
            self.downloading.clear()
            raise KeyboardInterrupt
        return super().monotonic()


class EndlessDownloads(FakeService):
    """Every clip download runs until ``cancel_downloads`` (at most 10 s, then the test fails)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.cancelled = threading.Event()

    def download(self, url: str, dest: Path) -> int:
        assert isinstance(self.clock, CtrlCWhileDownloading)
        self.clock.downloading.set()
        if not self.cancelled.wait(10):
            raise AssertionError("the download was never cancelled")
        raise DownloadError("stopped (the render was interrupted)")

    def cancel_downloads(self) -> None:
        super().cancel_downloads()
        self.cancelled.set()


def test_ctrl_c_stops_the_downloads_and_keeps_the_task_journaled(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n")
    service = EndlessDownloads(CtrlCWhileDownloading(), latency=5.0)
    run = Run(tmp_path, plan, service=service)
    t0 = time.monotonic()
    with pytest.raises(RenderInterrupted) as caught:
        run.run()
    assert time.monotonic() - t0 < 5
    assert service.downloads_cancelled
    assert caught.value.running == {"a": "t1"}
    entry = run.journal.get(plan.job("a").cache_key)
    assert entry is not None and entry.task_id == "t1"  # the next render downloads it for free
