"""Colours for text the panels draw themselves (charts, marks), taken from the app's current
theme, so light and dark themes both read well; phase shading is a faint blend of a theme colour
into the background."""
from __future__ import annotations

THEMES = ("textual-dark", "textual-light")
_cache: dict[str, dict[str, str]] = {}


def _rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")[:6]
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def blend(a: str, b: str, t: float) -> str:
    """``t`` of colour ``b`` over ``a``."""
    ra, rb = _rgb(a), _rgb(b)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ra, rb))


def colours(app) -> dict[str, str]:
    name = getattr(app, "theme", "") or ""
    if name not in _cache:
        v = app.get_css_variables()
        bg, fg = v.get("background", "#121212")[:7], v.get("foreground", "#e0e0e0")[:7]
        _cache[name] = {
            "fg": fg, "bg": bg, "muted": blend(bg, fg, 0.62),
            "good": v.get("success", "#4EBF71")[:7], "warning": v.get("warning", "#FEA62B")[:7],
            "error": v.get("error", "#B93C5B")[:7], "bar": v.get("primary", "#0178D4")[:7],
            "baseline": v.get("warning", "#FEA62B")[:7], "axis": blend(bg, fg, 0.5),
            "shade_load": blend(bg, fg, 0.10), "shade_prefill": blend(bg, v.get("warning", "#FEA62B")[:7], 0.22),
            "shade_decode": blend(bg, v.get("success", "#4EBF71")[:7], 0.16),
            "shade_idle": blend(bg, v.get("primary", "#0178D4")[:7], 0.18),
        }
    return _cache[name]


def shades(c: dict[str, str]) -> dict[str, str]:
    return {"load": c["shade_load"], "depth": c["shade_load"], "prefill": c["shade_prefill"],
            "decode": c["shade_decode"], "idle": c["shade_idle"]}
