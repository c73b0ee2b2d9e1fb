"""An offline emulator of the AceData SeeDance API: a real HTTP server making real MP4 clips.

Owns the offline service. Public API: ``Emulator`` (start/stop/serve_forever, ``url``, ``stats()``, ``requests``,
``set_faults()``), ``FaultSpec`` and ``parse_faults`` (the ``--faults`` syntax, documented in
``faults.py``)::

    with Emulator(latency=0.1) as emu:
        httpx.post(f"{emu.url}/seedance/videos", json=body, headers={"Authorization": "Bearer x"})

Written from ``docs/protocol.md`` (the § numbers below refer to it), never from the client: the subpackage must not import
anything of the package except ``storyboard.seedance.capabilities`` (data), and not MoviePy (it drives
the bundled ffmpeg directly, so starting it stays fast). Modules: ``server`` (the Emulator
object), ``state`` (what the HTTP handler shares with it), ``routes`` (HTTP), ``validate``
(create bodies), ``fields`` (field checks), ``references`` (2.x video/audio items, task types,
tools, limits), ``media`` (probing and decoding reference files), ``taskstore`` (records,
lifecycle), ``clips`` (synthesis), ``encode`` (ffmpeg command lines), ``usage`` (tokens),
``faults``, ``requestlog``.

Choices made where the protocol description is silent or its sources conflict:

* An image URL that is not one of the emulator's own ``/files/`` URLs fails the task with
  ``api_error`` "fetch failed" (the service fetches images after accepting the task; a record's
  ``response`` is what a sync call would answer, so a sync create answers HTTP 500 with it).
* A ``fail=`` task fails with ``OutputVideoSensitiveContentDetected`` (Ark's code); a sync
  create answers it with HTTP 400.
* ``return_last_frame`` follows the capability table: models marked as stripping it (2.x,
  lite) answer ``last_frame_url: null``. The PNG is the decoded last frame, watermark included.
* ``duration: -1`` renders 5 s; ``frames`` wins over ``duration`` (SDK-SPEC); ``camerafixed``
  on a model without it and ``generate_audio`` on a silent model are accepted and ignored.
* ``ratio`` defaults to 16:9 (AceData), except on 2.5 with a first frame (adaptive); adaptive
  takes the ratio closest to the first frame, else the first reference image, else 16:9.
* Inline ``--rs/--rt/--dur/--frames/--seed/--cf/--wm`` prompt flags (§10) are honoured when the
  body lacks the field and the value is valid, and are not drawn on the clip.
* ``data`` carries ``usage`` tokens, W*H*(24*d+1)//1024 (§11.1), besides the documented fields.
* A running task's record has ``response: null`` and ``finished_at: null`` (§2, §14).
* ``service_tier`` (withdrawn, §1.2) is accepted and ignored; ``Emulator(strict=True)`` refuses it.
* References (§1.3, §7, §9): an audio data URI is checked at create time (400); a video or audio
  URL when the task runs, like images: only the emulator's own files resolve, and one breaking a
  §9 limit fails the task with ``InvalidParameter``. Reference images and videos show as
  thumbnails; ``extend`` starts on its source's last frame (source included when the table's
  ``extend_includes_source`` says so); ``edit`` keeps the source's frames; reference audio is
  mixed in when audio is generated; ``adaptive`` takes a video's shape before an image's.
* 2.0-family tokens with a reference video: (input + output seconds) x W x H x 24 / 1024, the
  input counted as at least 2 s (§11.1, ``usage.py``).
"""

from .faults import FaultSpec, parse_faults
from .server import DEFAULT_MAX_BODY, Emulator

__all__ = ["DEFAULT_MAX_BODY", "Emulator", "FaultSpec", "parse_faults"]
