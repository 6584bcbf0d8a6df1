"""The live screen's text panels: title bar, progress, sensors and the server comparison. Each
renders from a :class:`~edgeprof.views.tui.runner.Run` and a ``now_ns`` the app supplies; none
reads hardware or a clock of its own."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from edgeprof.views.tui import fmt, refview
from edgeprof.views.tui.theme import colours


def text_key(*parts) -> tuple:
    """What a Rich ``Text`` (or several) shows, as a comparable value."""
    return tuple((t.plain, tuple(t.spans), t.style) if isinstance(t, Text) else t for t in parts)


class Quiet(Static):
    """A Static that redraws only when what it shows changed. A redraw is the TUI's main cost (it
    shares the CPU with the measured worker) and most ticks change nothing on most panels."""

    _key = None
    _titles = (None, None)

    def put(self, renderable, key) -> None:
        if key != self._key:
            self._key = key
            self.update(renderable)

    def titles(self, title: str | None, subtitle: str | None = None) -> None:
        if (title, subtitle) != self._titles:   # setting a border title always repaints
            self._titles = (title, subtitle)
            self.border_title, self.border_subtitle = title, subtitle


def device_title(device: dict, power_label: str) -> str:
    """``Jetson AGX Orin · nvpmodel MAXN · L4T 35.4.1 · power VDD_IN (measured, module)``."""
    extra = " · ".join(f"{label} {device[k]}" for k, label in (("power_mode", "nvpmodel"), ("l4t", "L4T"),
                                                                ("driver", "driver")) if device.get(k))
    name = device.get("name") or "device"
    power = f"power {power_label}" if power_label else "power: no sensor (energy not reported)"
    return " · ".join(x for x in (name, extra, power) if x)


class TitleBar(Quiet):
    DEFAULT_CSS = "TitleBar { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }"

    def show(self, run, now_text: str, fallback_device: dict | None = None) -> None:
        st = run.state if run else None
        device = (st.device if st and st.device else fallback_device) or {}
        label = st.power_label if st and st.device else (fallback_device or {}).get("power_label", "")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("edgeprof", style="bold")
        text.append(" ─ " + device_title(device, label))
        if run is not None and run.replay:
            text.append("  [replay]", style="italic")
        pad = max(1, self.size.width - 2 - text.cell_len - len(now_text))
        text.append(" " * pad + now_text)
        self.put(text, text_key(text))


def token_bar(n: int, of: int, width: int = 20) -> str:
    if of <= 0:
        return ""
    eighths = int(round(min(1.0, n / of) * width * 8))
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return "▕" + bar + "░" * (width - len(bar)) + "▏"


class ProgressPanel(Quiet):
    DEFAULT_CSS = "ProgressPanel { height: auto; max-height: 5; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }"

    def show(self, run, now_ns: int) -> None:
        c = colours(self.app)
        if run is None:
            self.put(Text("no run yet — press n for a new run, h for history, ? for help", style=c["muted"]), "none")
            return
        st = run.state
        lines: list[Text] = []
        if run.stage == "preparing":
            spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int(now_ns / 1e8) % 10] if not run.replay else "…"
            last = st.notices[-1].message if st.notices else "starting"
            lines.append(Text(f"{spin} preparing ({now_ns / 1e9 - run.t_start:.0f} s): {last}", style=c["warning"]))
        case = st.case
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"case {st.index}/{st.total or '?'} ", style="bold")
        if case:
            head.append(case.label)
        elif st.ended:
            head.append(f"done: {st.ended.n_ok} ok, {st.ended.n_failed} not ok" +
                        (" (cancelled)" if st.ended.cancelled else "") + f" → {st.run_dir}")
        lines.append(head)
        meta = Text(no_wrap=True, overflow="ellipsis")
        if case:
            rep = "" if case.rep is None else f"rep {case.rep + 1}/{case.reps}" + (
                " warm-up" if case.phase_label == "warmup" else "") + " · "
            meta.append(rep + f"{case.phase}")
        el, eta = st.elapsed_s(now_ns), st.eta_s(now_ns)
        eta_text = "done" if st.ended else ("~" + fmt.dur(eta) if eta is not None else "--:--")
        meta.append(f"   elapsed {fmt.dur(el)}   ETA {eta_text}")
        peak = st.rss.peak(now_ns, 3600)
        if peak:
            total = (case.device if case else st.device).get("memory_bytes")
            meta.append(f"   RSS {fmt.size(peak)}" + (f" of {fmt.size(total)}" if total else ""))
        if st.paused:
            meta.append("   PAUSED", style=f"bold {c['warning']}")
        lines.append(meta)
        if case and (tok := self._tokens(case, now_ns, c)).plain:
            lines.append(tok)
        if run.error:
            lines.append(Text(f"error: {run.error}", style=f"bold {c['error']}"))
        elif st.notices:
            n = st.notices[-1]
            lines.append(Text(f"› {n.message}", style=c["warning"] if n.level == "warning" else c["muted"],
                              no_wrap=True, overflow="ellipsis"))
        self.put(Group(*lines), text_key(*lines))

    @staticmethod
    def _tokens(case, now_ns: int, c: dict) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if case.phase == "prefill":
            t.append(f"prefill {case.workload.get('prompt_tokens')} tokens … "
                     f"{(now_ns - case.phase_t0_ns) / 1e9:.1f} s   ")
        elif case.tokens:
            n, of = case.tokens
            t.append(f"decode {token_bar(n, of)} {n}/{of}   ")
        if case.live_tps is not None and case.phase == "decode":
            t.append(f"live {case.live_tps:.1f} t/s ", style=f"bold {c['good']}")
        if case.rep_median_tps is not None:
            t.append(f"(rep median {case.rep_median_tps:.1f} t/s)")
        if case.ttft_median_ms is not None:
            t.append(f"   TTFT {fmt.num(case.ttft_median_ms)} ms")
        return t


class SensorsPanel(Quiet):
    """Every reading of the device and each unavailable sensor with its reason and fix (jtop)."""

    DEFAULT_CSS = """SensorsPanel { padding: 0 1; border: round $panel-lighten-2; border-title-color: $foreground;
                                   text-wrap: nowrap; text-overflow: ellipsis; }"""

    def show(self, run, fallback_device: dict | None = None) -> None:
        c = colours(self.app)
        st = run.state if run else None
        rows = st.sensor_rows(others=False) if st and st.device else info_rows(fallback_device)
        t = Text(no_wrap=True, overflow="ellipsis")
        width = max(10, self.size.width - 4)
        for row in rows:
            info = row["info"]
            if info is not None and not info.get("available", True):
                head = f"✗ {info['name']}: "
                why = info.get("reason") or "unavailable"
                t.append(head, style=c["error"])
                t.append(_cut(why, width - len(head)) + "\n", style=c["muted"])
                continue
            for r in row["readings"] or []:
                mark = "◆" if info and info.get("total") else " "
                t.append(f"{mark}{_cut(r.sensor, 20):<20} ", style=c["muted"])
                t.append(f"{reading_text(r)}\n")
            if info is not None and not row["readings"]:
                t.append(f" {_cut(info['name'], 20):<20} ", style=c["muted"])
                t.append("waiting for a sample\n", style=c["muted"])
        t = t if t.plain else Text("no sensors declared", style=c["muted"])
        self.put(t, text_key(t, width))


def reading_text(r) -> str:
    """One reading as the sensors panel shows it: value and unit, ``~`` when estimated, or why not."""
    if r.value is None and r.sensor.startswith("worker:") and str(r.reason or "").startswith("vanished"):
        return "— (no case running)"   # the last case's worker exited: its normal end, not a lost sensor
    if r.value is None:
        return f"n/a ({r.reason})" if r.reason else "n/a"
    return fmt.est(fmt.reading(r.value, r.unit, r.quantity), r.kind == "estimated")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:max(0, n - 1)] + "…"


def info_rows(device: dict | None) -> list[dict]:
    """Declared sensors of every detected device (before any run: nothing sampled yet)."""
    return [{"info": s, "readings": [], "other": None}
            for d in ((device or {}).get("devices") or [device or {}]) for s in d.get("sensors", [])]


class ServerPanel(Quiet):
    """Edge vs server for the running case (live) or a chosen row (its record's comparison)."""

    DEFAULT_CSS = "ServerPanel { padding: 0 1; border: round $panel-lighten-2; }"

    def show(self, kind: str, head: dict, lines: list, footer: list[str]) -> None:
        c = colours(self.app)
        warn = kind in ("normalized", "none")
        key = (kind, tuple(sorted(head.items())), tuple(lines), tuple(footer), self.size.width, self.app.theme)
        if key == self._key:
            return
        self.titles(f"vs SERVER · {head.get('set') or '—'} ({refview.KIND_TEXT.get(kind, kind)})")
        self.styles.border_title_color = c["warning"] if warn else c["good"]
        parts: list = []
        if kind == "normalized":
            parts.append(Text("NOT A MATCH — per-parameter context only", style=f"bold {c['warning']}"))
        if lines:
            tab = Table(box=None, padding=(0, 1), show_edge=False, expand=False, header_style="bold")
            ratio = "edge÷server" if self.size.width >= 50 else "e÷s"
            for col, just in (("metric", "left"), ("edge", "right"), ("server", "right"), (ratio, "right")):
                tab.add_column(col, justify=just, no_wrap=True, min_width=7 if col == ratio else None)
            for ln in lines:
                tab.add_row(ln.label, ln.edge, ln.server, ln.ratio)
            parts.append(tab)
        for f in footer:
            parts.append(Text(f, style=c["muted"], overflow="fold"))
        self.put(Group(*parts), key)
