"""Owns what survives a process: crash-safe writes, the content-addressed clip cache, the journal of
paid-for task ids.

Knows files, keys and records, not shots, plans or the API. Must not import ``storyboard.spec``,
``storyboard.engine``, ``storyboard.assemble``, ``storyboard.emulator`` or ``storyboard.cli``.
"""
