"""The fonts printouts are drawn with (DejaVu Sans: every Vietnamese letter)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def font_dir() -> Path:
    return Path(str(resources.files("motcua.shared") / "data" / "fonts"))
