"""The review page built from typed panels: structure, order, escaping, relative links, failures
in place, chain arrows, and takes side by side with the command that picks each."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from storyboard.engine.review.page import beside, render_page, take_files
from storyboard.engine.review.panels import Chain, Panel, Review, Take

OUT = Path("films/out/my film.mp4")  # never touched: the page only links relative to it


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def take(n: int, chosen: bool = True) -> Take:
    return Take(n, Path(f"/cache/clips/{n}/clip.mp4"), f"{n}" * 64, 3.0, chosen=chosen)


def make_panel(index: int, shot: str, prompt: str, **kw: object) -> Panel:
    fields: dict[str, object] = dict(
        index=index, id=shot, prompt=prompt, model="doubao-seedance-1-0-pro-fast-251015", width=864, height=480,
        seconds=3.0, tokens=29565, tokens_reported=True, cost=0.1242, state="generated", error=None, chains=(),
        continues_previous=False, takes=(take(1),), task_id=f"task-{shot}",
    )  # fmt: skip
    fields.update(kw)
    return Panel(**fields)  # type: ignore[arg-type]


def review(*panels: Panel, error: str | None = None) -> Review:
    return Review(name="my film", storyboard=Path("films/board.yaml"), output=OUT, error=error, preview=False,
                  panels=panels, seconds=12.5)  # fmt: skip


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def test_panels_in_order_with_escaped_prompts_and_relative_links() -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    page = review(
        make_panel(0, "open", evil),
        make_panel(1, "look", "turns", chains=(Chain("open", "first_frame"),), continues_previous=True,
                   state="locked"),
        make_panel(2, "fly", "flies", state="cached", tokens_reported=False, cost=None),
    )  # fmt: skip
    html = render_page(page, extras={"poster": beside(OUT).poster, "srt": beside(OUT).srt, "vtt": beside(OUT).vtt})
    tags = parse(html)
    assert "<script" not in html  # no script of ours, and the prompt's is text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert evil in "".join(tags.text)
    sections = [a for a in tags.all("section")]
    assert [a["data-shot"] for a in sections] == ["open", "look", "fly"]
    assert [a["data-state"] for a in sections] == ["generated", "locked", "cached"]
    assert [a["data-chain"] for a in tags.all("div") if "data-chain" in a] == ["open→look"]
    # every link is relative to the page: it opens from disk, wherever the folder is moved
    header, *clips = tags.all("video")
    assert header["src"] == "my%20film.mp4" and header["poster"] == "my%20film.jpg"
    files = take_files(OUT, page.panels[0], page.panels[0].takes[0])
    assert files.clip.parent == OUT.parent / "my film.review"
    assert clips[0]["src"] == "my%20film.review/01-open-t1-111111111111.mp4"
    assert [a["src"] for a in tags.all("img")][:2] == [
        "my%20film.review/01-open-t1-111111111111.first.jpg",
        "my%20film.review/01-open-t1-111111111111.last.jpg",
    ]
    assert all(a["preload"] == "metadata" and "controls" in a for a in [header, *clips])
    links = [a["href"] for a in tags.all("a") if not (a["href"] or "").startswith("#")]
    assert links == ["my%20film.report.json", "my%20film.jpg", "my%20film.srt", "my%20film.vtt"]
    urls = [v for _, attrs in tags.tags for k, v in attrs.items() if k in ("src", "href", "poster")]
    assert all(u and not u.startswith(("/", "http:", "https:", "file:")) and ".." not in u for u in urls), urls
    assert "~29,565" in html and "no published price" in html  # the estimate is marked; no price is said
    assert "storyboard pick" not in html  # one take: nothing to pick


def test_a_failed_video_shows_the_failure_in_place_and_no_video() -> None:
    page = review(
        make_panel(0, "a", "shot a"),
        make_panel(1, "b", "shot b", state="failed", error="the prompt was refused (Sensitive)", takes=()),
        make_panel(2, "c", "shot c", state="blocked", error="not generated: it needs b, which did not finish",
                   takes=(), chains=(Chain("b", "first_frame"),), continues_previous=True),
    error='shot "b" failed: the prompt was refused')  # fmt: skip
    html = render_page(page)
    tags = parse(html)
    assert len(tags.all("video")) == 1  # the clip of shot a; no finished video
    text = "".join(tags.text)
    assert 'The video was not made.\nshot "b" failed: the prompt was refused' in text
    errors = html.split('id="shot-')
    assert "the prompt was refused (Sensitive)" in errors[2] and "which did not finish" in errors[3]
    assert 'data-state="failed"' in errors[2] and 'data-state="blocked"' in errors[3]


def test_takes_side_by_side_each_with_the_command_that_picks_it() -> None:
    takes = (take(1, chosen=False), take(2, chosen=True), take(3, chosen=False))
    page = review(make_panel(0, "hero", "a hero shot", takes=takes))
    tags = parse(render_page(page))
    shown = [a for a in tags.all("div") if "data-take" in a]
    assert [(a["data-take"], "chosen" in (a["class"] or "")) for a in shown] == [
        ("1", False), ("2", True), ("3", False),
    ]  # fmt: skip
    assert len(tags.all("video")) == 4  # the finished video and the three takes
    picks = [t for t in tags.text if t.startswith("storyboard pick")]
    assert picks == [f"storyboard pick films/board.yaml hero {n}" for n in (1, 2, 3)]
