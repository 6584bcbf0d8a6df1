"""The references screen's "what if" panel (``w``): pick a device and power mode, see what
``edgeprof predict --device`` predicts for this run's model there, beside this run's measured row.

Every predicted figure is marked estimated with its 80 % interval and the basis (a fit on that
class's rows, or EXTRAPOLATED from similar classes, named); the measured column is this run's own
last finished row. The fit (about 2 s the first time) runs in a worker thread, so the screen never
freezes; ``panel_text`` is a plain function of typed values, tested without a terminal.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Select, Static

from edgeprof.views.tui import fmt
from edgeprof.views.tui.theme import Palette

DEFAULT_DEVICE = "jetson_orin_nano_8gb_super"
LEVEL = 0.8
KIND_ORDER = ("jetson", "rpi", "apple", "cpu", "nvidia", "gpu")


def device_options() -> list[tuple[str, str]]:
    """(label, spec id) of every device with a published bandwidth, edge boards first."""
    from edgeprof.analysis import specs

    rows = [r for r in specs.load_table() if r.peak_mem_bandwidth_gbs]
    rows.sort(key=lambda r: (KIND_ORDER.index(r.kind) if r.kind in KIND_ORDER else 9, r.name))
    return [(f"{r.name} ({r.kind})", r.id) for r in rows]


def mode_options(device_id: str) -> list[tuple[str, str]]:
    from edgeprof.analysis import specs

    return [(m.name + (" (default)" if m.default else "") +
             (f" · {m.budget_w:g} W" if m.budget_w else " · uncapped"), m.name)
            for m in specs.power_modes(device_id)]


def _est(e) -> str:
    return "n/a" if e is None else f"{fmt.num(e.value)} [{fmt.num(e.lo)}–{fmt.num(e.hi)}]"


def _measured(rec, name: str) -> str:
    m = rec.metric(name) if rec is not None else None
    if m is None:
        return "—"
    return fmt.est(fmt.num(m.center), m.provenance is not None and m.provenance.estimated)


def panel_text(pred, rec, colour: Palette | None = None) -> Text:
    """The prediction beside the measured row: one line per figure, then basis, power and notes."""
    c = colour or Palette()
    t = Text()
    t.append("what if: ", style="bold")
    t.append(f"{pred.label} — estimated, {pred.decode.level:.0%} interval (a model, NOT a measurement)\n",
             style=f"bold {c.warning}".strip())
    where = (rec.device.name or rec.device.id) if rec is not None else "no finished row yet"
    t.append(f"{'':14}{'predicted':30}this run ({where})\n", style=c.muted)
    for label, est, metric in (("decode t/s", pred.decode, "decode_tokens_per_s"),
                               ("prefill t/s", pred.prefill, "prefill_tokens_per_s"),
                               ("TTFT ms", pred.ttft_ms, "ttft_ms"),
                               ("J/token", pred.j_per_token, "energy_per_token_j")):
        t.append(f"{label:14}", style="bold")
        t.append(f"{fmt.est(_est(est), est is not None):30}")
        t.append(_measured(rec, metric) + "\n")
    if pred.basis == "fit":
        t.append(f"basis: fit on {len(pred.rows)} measured rows of this class ({', '.join(pred.rows[:3])}"
                 f"{' …' if len(pred.rows) > 3 else ''})\n")
    else:
        tot = sum(n.weight for n in pred.neighbours) or 1.0
        t.append(f"basis: EXTRAPOLATED — no rows of this class; from {len(pred.neighbours)} similar classes ("
                 + ", ".join(f"{n.name} {n.weight / tot:.0%}" for n in pred.neighbours[:3]) + ")\n",
                 style=c.warning)
    t.append(f"power: {pred.power_basis}\n", style=c.muted)
    for note in pred.notes:
        t.append(f"· {note}\n", style=c.muted)
    return t


class WhatIfPanel(Vertical):
    """Hidden until ``w``; ``show_for(record)`` predicts for that record's model."""

    DEFAULT_CSS = """
    WhatIfPanel { height: auto; max-height: 16; display: none; border: round $warning; padding: 0 1; }
    WhatIfPanel > Horizontal { height: auto; }
    WhatIfPanel Select { width: 1fr; }
    WhatIfPanel #wi-out { height: auto; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.record = None
        self.border_title = "what if · this model on another device"

    def compose(self) -> ComposeResult:
        opts = device_options()
        with Horizontal():
            yield Select(opts, value=DEFAULT_DEVICE if any(v == DEFAULT_DEVICE for _, v in opts) else opts[0][1],
                         id="wi-device", allow_blank=False)
            yield Select(mode_options(DEFAULT_DEVICE), id="wi-mode", prompt="mode (the board's default)")
        yield Static("pick a device and a power mode", id="wi-out")

    def show_for(self, record) -> None:
        self.record = record
        self._predict()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "wi-device":
            modes = mode_options(str(event.value))
            self.query_one("#wi-mode", Select).set_options(modes)
        self._predict()

    def _choice(self) -> tuple[str, str | None]:
        dev = str(self.query_one("#wi-device", Select).value)
        mode = self.query_one("#wi-mode", Select)
        return dev, (None if mode.is_blank() else str(mode.value))

    def _predict(self) -> None:
        if self.record is None:
            self.query_one("#wi-out", Static).update("no finished row in this run yet: the panel predicts for its model")
            return
        dev, mode = self._choice()
        self.query_one("#wi-out", Static).update(f"predicting {self.record.model.name or '?'} on {dev}…")
        self.run_worker(lambda: self._compute(dev, mode, self.record), thread=True, exclusive=True, group="whatif")

    def _compute(self, dev: str, mode: str | None, rec) -> None:
        from edgeprof.compare import whatif

        try:
            tgt = whatif.target_of_record(rec)
            if tgt is None:
                raise whatif.WhatIfError("this row's model file size is unknown")
            w = rec.workload
            pred = whatif.predict_one(whatif.device_of(dev), mode, tgt, int(w.prompt_tokens or 128),
                                      int(w.gen_tokens or 128), LEVEL)
            out = panel_text(pred, rec, _colours(self.app))
        except (whatif.WhatIfError, whatif.TargetError) as exc:
            out = Text(f"no prediction: {exc}")
        self.app.call_from_thread(self.query_one("#wi-out", Static).update, out)


def _colours(app) -> Palette:
    from edgeprof.views.tui.theme import colours

    return colours(app)
