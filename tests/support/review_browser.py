"""Open a review page in a real headless Chromium and report what a viewer would see.

Every picture's natural size, every video played to its end (muted, at 16x), the shot panels in
order, and every console message or page error; a screenshot of the whole page is saved under
``test-artifacts/`` at the repository root (kept by CI as an artifact, ignored by git).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# As root on a server: no sandbox, no GPU; no background traffic (without these flags chromium
# tries the network at start-up, and refused connections end up in the log)
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

_LOOK = """async () => {
  await Promise.all([...document.images].map(i => i.complete ? null
      : new Promise(done => { i.addEventListener('load', done); i.addEventListener('error', done); })));
  const play = v => new Promise(done => {
    const end = why => done({src: v.getAttribute('src'), seconds: v.dataset.seconds ? Number(v.dataset.seconds) : null,
                             duration: v.duration, how: why, at: v.currentTime});
    v.muted = true;
    v.addEventListener('ended', () => end('ended'));
    v.addEventListener('error', () => end('error ' + (v.error && v.error.code)));
    setTimeout(() => end('timeout'), 30000);
    v.playbackRate = 16;
    v.play().catch(e => end('play failed: ' + e));
  });
  const videos = await Promise.all([...document.querySelectorAll('video')].map(play));
  return {
    images: [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth})),
    videos,
    panels: [...document.querySelectorAll('section.panel')].map(s => ({
      id: s.dataset.shot, state: s.dataset.state,
      takes: s.querySelectorAll('[data-take]').length,
      error: (s.querySelector('.error') || {}).textContent || null})),
    chains: [...document.querySelectorAll('[data-chain]')].map(d => d.dataset.chain),
    headerError: (document.getElementById('video-error') || {}).textContent || null,
    hasVideo: !!document.getElementById('video'),
  };
}"""


@dataclass(frozen=True)
class Seen:
    """What the page showed."""

    images: list[dict[str, Any]]
    videos: list[dict[str, Any]]
    panels: list[dict[str, Any]]
    chains: list[str]
    header_error: str | None
    has_video: bool
    console: list[str]
    screenshot: Path


def look_at(chromium: Path, page: Path, name: str) -> Seen:
    """Open `page` from disk, load every picture, play every video; screenshot as review-NAME.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"review-{name}.png"
    console: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            tab.on("pageerror", lambda e: console.append(f"page error: {e}"))
            tab.goto(page.as_uri(), wait_until="load")
            seen = tab.evaluate(_LOOK)
            tab.evaluate("() => document.querySelectorAll('video').forEach(v => { v.pause(); v.currentTime = 0; })")
            tab.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"review page screenshot: {shot}")
    return Seen(seen["images"], seen["videos"], seen["panels"], seen["chains"], seen["headerError"],
                seen["hasVideo"], console, shot)  # fmt: skip
