"""The review page: after a render, ``NAME.html`` beside each video shows its storyboard as panels.

Owns: the panel model (``panels``), the page and the layout of its files (``page``), and writing
them with the poster, contact sheet and subtitle files (``write``). The public entry point is
``write_reviews``. Must not import the CLI; assembly (stills, subtitles) only inside functions,
when a page is written.
"""

from __future__ import annotations

from storyboard.engine.review.write import ReviewWritten, write_reviews

__all__ = ["ReviewWritten", "write_reviews"]
