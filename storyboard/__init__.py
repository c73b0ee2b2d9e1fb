"""storyboard: declarative YAML storyboards rendered with SeeDance (public API re-exports)."""

__version__ = "0.1.0"
