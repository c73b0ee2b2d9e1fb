"""Owns the way from a loaded storyboard to finished videos: plan, variants, the service seam, the scheduler,
the last-frame policy, finishing one video, reports and ``render()``.

Talks to a video service only through ``engine.service.VideoService`` (the SeeDance client is
one implementation; the tests use an in-memory fake). Prints nothing, reads no environment and
imports MoviePy only inside ``finish`` when a video is assembled. Must not import
``storyboard.cli`` or ``storyboard.emulator``.
"""
