"""Owns what survives a process: crash-safe writes, the content-addressed clip cache, the journal of
paid-for task ids, the per-key locks that let processes on one machine share them, and the
lockfile committed beside a storyboard (``lockfile``: its format, read strictly, written stably),
the shared remote cache (``remote``, over fsspec) with the local cache in front of it (``tiered``:
``ClipStore``, ``TieredCache``) and the inventory of local entries (``inventory``).

Knows files, keys and records, not shots, plans or the API. Must not import ``storyboard.spec``,
``storyboard.engine``, ``storyboard.assemble``, ``storyboard.emulator`` or ``storyboard.cli``.
"""
