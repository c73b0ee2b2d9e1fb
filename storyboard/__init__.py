"""storyboard: declarative YAML storyboards rendered with SeeDance — the public Python API.

    from storyboard import load, make_plan
    loaded = load("examples/quickstart.yaml", overrides={"bird": "a heron"})
    plan = make_plan(loaded, service="emulator")

Names that pull in the HTTP client or the render engine are imported on first use, so
`import storyboard` (and `storyboard validate`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Batch": "storyboard.engine.variants",
    "ConfigError": "storyboard.errors",
    "Issue": "storyboard.errors",
    "Loaded": "storyboard.spec.load",
    "Plan": "storyboard.engine.plan",
    "RenderError": "storyboard.errors",
    "RenderOptions": "storyboard.engine.render",
    "SeedanceClient": "storyboard.seedance.client",
    "ServiceConfig": "storyboard.seedance.config",
    "Storyboard": "storyboard.spec.model",
    "StoryboardError": "storyboard.errors",
    "load": "storyboard.spec.load",
    "load_batch": "storyboard.engine.variants",
    "make_plan": "storyboard.engine.plan",
    "render": "storyboard.engine.render",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storyboard' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
