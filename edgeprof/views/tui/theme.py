"""Colours for text the panels draw themselves (charts, marks), taken from the app's current
theme, so light and dark themes both read well; phase shading is a faint blend of a theme colour
into the background."""
from __future__ import annotations

from dataclasses import dataclass

THEMES = ("textual-dark", "textual-light")


def _rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")[:6]
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def blend(a: str, b: str, t: float) -> str:
    """``t`` of colour ``b`` over ``a``."""
    ra, rb = _rgb(a), _rgb(b)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ra, rb))


def luminance(h: str) -> float:
    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4
    r, g, b = _rgb(h)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(fg: str, bg: str, ratio: float = 4.5) -> str:
    """``fg``, moved toward black on a light background (white on a dark one) until it reads on
    ``bg`` at WCAG AA (4.5:1): the light theme's amber and green are unreadable as text as they are."""
    to = "#000000" if luminance(bg) > 0.18 else "#ffffff"
    for step in range(21):
        out = blend(fg, to, step / 20)
        if contrast(out, bg) >= ratio:
            return out
    return to


def cursor_colours(variables: dict[str, str], ratio: float = 4.5) -> dict[str, str]:
    """The highlighted row's colours (Textual's block cursor: DataTable, OptionList, the tick
    lists) at WCAG AA. Textual draws "auto 87%" text (white or black at 87 %) on ``$primary``,
    which in the dark theme reads at 3.8:1 (#DDEDF9 on #0178D4). The background is moved away
    from its text (toward black under light text) until it reads, and the text is given as the
    colour it draws; a theme where it already reads (the light one: 8:1) is left as it is."""
    from textual.color import Color, ColorParseError

    try:
        bg = Color.parse(variables.get("block-cursor-background", ""))
    except ColorParseError:   # a theme's own cursor such as "ansi_magenta": the terminal's colours
        return {}
    away = Color(0, 0, 0) if bg.brightness < 0.5 else Color(255, 255, 255)
    for step in range(21):
        out = bg.blend(away, step / 20)
        fg = out + out.get_contrast_text(0.87)
        if contrast(fg.hex[:7], out.hex[:7]) >= ratio:
            return {"block-cursor-background": out.hex[:7], "block-cursor-foreground": fg.hex[:7]} if step else {}
    return {}


@dataclass(frozen=True)
class Palette:
    """The colours the panels draw with, from the app's theme (``colours``); empty strings draw in
    the terminal's own colours (a panel rendered outside an app)."""
    fg: str = ""
    bg: str = ""
    muted: str = ""
    good: str = ""
    warning: str = ""
    error: str = ""
    bar: str = ""
    baseline: str = ""
    axis: str = ""
    shade_load: str = ""
    shade_prefill: str = ""
    shade_decode: str = ""
    shade_idle: str = ""


_cache: dict[str, Palette] = {}


def colours(app) -> Palette:
    name = getattr(app, "theme", "") or ""
    if name not in _cache:
        v = app.get_css_variables()
        bg, fg = v.get("background", "#121212")[:7], v.get("foreground", "#e0e0e0")[:7]
        good, warn = v.get("success", "#4EBF71")[:7], v.get("warning", "#FEA62B")[:7]
        primary = v.get("primary", "#0178D4")[:7]
        _cache[name] = Palette(
            fg=fg, bg=bg, muted=readable(blend(bg, fg, 0.62), bg), good=readable(good, bg), warning=readable(warn, bg),
            error=readable(v.get("error", "#B93C5B")[:7], bg), bar=primary, baseline=warn,
            axis=readable(blend(bg, fg, 0.5), bg), shade_load=blend(bg, fg, 0.10), shade_prefill=blend(bg, warn, 0.22),
            shade_decode=blend(bg, good, 0.16), shade_idle=blend(bg, primary, 0.18))
    return _cache[name]


def shades(c: Palette) -> dict[str, str]:
    """Each phase's shading colour, by phase name."""
    return {"load": c.shade_load, "depth": c.shade_load, "prefill": c.shade_prefill,
            "decode": c.shade_decode, "idle": c.shade_idle}
