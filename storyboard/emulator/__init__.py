"""An offline emulator of the AceData SeeDance API: a real HTTP server making real MP4 clips.

Public API: ``Emulator`` (start/stop/serve_forever, ``url``, ``stats()``, ``requests``),
``FaultSpec`` and ``parse_faults`` (the ``--faults`` syntax, documented in ``faults.py``).

Written from ``shared/reference/seedance-api.md``, never from the client: the subpackage imports
nothing of the package except ``storyboard.capabilities`` (data), and not MoviePy (it drives
the bundled ffmpeg directly, so starting it stays fast).

    with Emulator(latency=0.1) as emu:
        httpx.post(f"{emu.url}/seedance/videos", json=body, headers={"Authorization": "Bearer x"})
"""

from .faults import FaultSpec, parse_faults
from .server import DEFAULT_MAX_BODY, Emulator

__all__ = ["DEFAULT_MAX_BODY", "Emulator", "FaultSpec", "parse_faults"]
