"""Which fonts the report's charts draw Chinese in: the system's own, else the bundled one."""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

# Fonts drawn for Simplified Chinese, in order of preference, as font_manager names them.
# A machine that has one of these draws the charts in it; Japanese or Traditional faces of
# the same collections are left out on purpose (their forms of shared characters differ).
SYSTEM_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Droid Sans Fallback",
)
# Noto Sans SC (SIL Open Font License 1.1) comes with the `charts` extra, so that a fresh
# install draws Chinese without fonts installed by hand.
BUNDLED_PACKAGE = "pylopdf_fonts_zh_cn"
# Matplotlib's own font; it draws whatever a CJK font lacks (it has every Latin glyph).
LATIN_FALLBACK = "DejaVu Sans"


def families(installed: Collection[str], bundled: str | None) -> list[str]:
    """The font list for the charts, first choice first: the system's Simplified Chinese
    fonts, then the bundled one (also a fallback for a glyph the system font lacks), then
    matplotlib's own for anything else."""
    chosen = [name for name in SYSTEM_FAMILIES if name in installed]
    if bundled and bundled not in chosen:
        chosen.append(bundled)
    return [*chosen, LATIN_FALLBACK]


def chart_families(font_manager: Any) -> list[str]:
    """`families()` for this machine; `font_manager` is matplotlib.font_manager, which the
    bundled font is registered with (once) when its package is installed."""
    bundled = bundled_path()
    # The bundled copy is not the system's: its family (Noto Sans SC) is also one a system
    # may have, and counting it would put it before the system's other fonts.
    installed = {e.name for e in font_manager.fontManager.ttflist if e.fname != bundled}
    return families(installed, register(font_manager, bundled) if bundled else None)


def bundled_path() -> str | None:
    """Where the bundled font is; None without its package."""
    try:
        package = importlib.import_module(BUNDLED_PACKAGE)
    except ImportError:
        return None
    return str(package.sans_path())


def register(font_manager: Any, path: str) -> str:
    """The family name of the font at `path`, registered with matplotlib once."""
    manager = font_manager.fontManager
    for entry in manager.ttflist:
        if entry.fname == path:
            return entry.name
    before = len(manager.ttflist)
    manager.addfont(path)
    return manager.ttflist[before].name

