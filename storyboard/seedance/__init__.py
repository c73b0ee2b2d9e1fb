"""Owns the SeeDance protocol as AceData serves it: capability table, configuration, wire types,
task results, the HTTP client and result downloads.

Speaks JSON over HTTP and knows nothing of storyboards: request bodies come in typed
(``wire.CreateBody``), results go out as ``TaskResult``. Must not import ``storyboard.spec``,
``storyboard.store``, ``storyboard.engine``, ``storyboard.assemble``, ``storyboard.emulator`` or
``storyboard.cli``. This ``__init__`` imports nothing, so ``seedance.capabilities`` (pure data,
also read by the language rules and the emulator) loads without httpx.
"""
