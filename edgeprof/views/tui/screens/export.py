"""The export page (``e``): pick an HF source and schemes, watch each step with its own bar, read
the manifest (sizes, hashes, compression, quality) and bench every artifact with one key.

The export runs ``exporters.export`` on a thread; its progress events are queued and drawn on the
app's timer, like a run's events."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Static

from edgeprof.errors import EdgeprofError
from edgeprof.exporters.manifest import ExportManifest
from edgeprof.views.tui.widgets.progress import token_bar
from edgeprof.views.tui.widgets.ticks import Tick, TickList
from edgeprof.views.tui.widgets.titlebar import TitleBar
from edgeprof.views.tui.theme import colours

SCHEMES = ("onnx:fp32", "onnx:fp16", "onnx:int8", "onnx:int4", "gguf:f16", "gguf:q8_0", "gguf:q4_0", "gguf:q4_k_m")
DEFAULT_SCHEMES = ("onnx:int4", "gguf:q4_k_m")


def targets(picked: list[str]) -> list[str]:
    """``["onnx:fp32", "onnx:int4", "gguf:q8_0"]`` → ``["onnx:fp32,int4", "gguf:q8_0"]`` (``--to`` syntax)."""
    by: dict[str, list[str]] = {}
    for p in picked:
        fmt, _, scheme = p.partition(":")
        by.setdefault(fmt, []).append(scheme)
    return [f"{k}:{','.join(v)}" for k, v in by.items()]


@dataclass(frozen=True)
class Prepare:
    """The step before the exporter's own: resolving the source (a catalogue id may be prepared
    from its packaged GGUF first). It ends ``done`` or ``failed`` like every other step."""

    status: str
    message: str
    elapsed_s: float | None = None


@dataclass(frozen=True)
class Step:
    """A step of the export as the screen shows it: its last status, message and time."""

    status: str
    message: str | None
    elapsed_s: float | None = None


class ExportScreen(Screen):
    DEFAULT_CSS = """
    ExportScreen VerticalScroll { padding: 0 1; }
    ExportScreen #schemes { height: auto; max-height: 10; }
    ExportScreen .row { height: auto; }
    ExportScreen Button { margin: 1 2 0 0; }
    ExportScreen #source, ExportScreen #out, ExportScreen #quality { margin: 1 0 0 0; }
    """
    BINDINGS = [Binding("ctrl+r", "export", "export"), Binding("b", "bench", "bench these")]
    LEAVE_TO = "#schemes"     # esc in a field focuses the scheme list, where letters act

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return not (action == "bench" and self.app.in_field())   # "b" in the directory field is text

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll():
            yield Static(Text("export — an HF source to quantized ONNX/GGUF artifacts with a manifest", style="bold"))
            yield Input(value="smollm2-135m-instruct-hf", placeholder="HF directory or catalogue id", id="source", compact=True)
            yield TickList(*((s, s, s in DEFAULT_SCHEMES) for s in SCHEMES), id="schemes", compact=True)
            yield Input(placeholder="output directory (default exports/<model>)", id="out", compact=True)
            yield Tick("measure quality (perplexity, greedy agreement vs the source)", value=True, id="quality", compact=True)
            yield Tick("overwrite an existing export directory (--overwrite)", value=False, id="overwrite", compact=True)
            with Horizontal(classes="row"):
                yield Button("export", variant="primary", id="go", compact=True)
                yield Button("bench these", id="bench", compact=True)
            yield Static(id="steps")
            yield Static(id="manifest")
        yield Footer()

    def __init__(self) -> None:
        super().__init__()
        self.events: deque = deque()
        self.steps: dict[str, Step] = {}
        self.error: str | None = None
        self.out: Path | None = None
        self.manifest: ExportManifest | None = None
        self.busy = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_export() if event.button.id == "go" else self.action_bench()

    def action_export(self) -> None:
        if self.busy:
            self.notify("an export is running", severity="warning")
            return
        picked = list(self.query_one("#schemes", TickList).selected)
        source = self.query_one("#source", Input).value.strip()
        if not picked or not source:
            self.error = "give a source and pick at least one scheme"
            return
        self.error, self.manifest, self.steps, self.busy, self.out = None, None, {}, True, None
        out = self.query_one("#out", Input).value.strip()
        self._run(source, targets(picked), Path(out) if out else None, self.query_one("#quality", Checkbox).value,
                  self.query_one("#overwrite", Checkbox).value)

    @work(thread=True, exclusive=True, group="export")
    def _run(self, source: str, to: list[str], out: Path | None, quality: bool, overwrite: bool) -> None:
        import time

        from edgeprof.exporters import ExportError, export
        from edgeprof.exporters.manifest import load_manifest

        from edgeprof.models.exporting import converter_cache, resolve_source

        t0, prepared = time.monotonic(), False
        try:
            self.events.append(Prepare("started", "resolving the source"))
            src = resolve_source(source, lambda m: self.events.append(Prepare("started", m)))
            self.events.append(Prepare("done", f"source {src.name}", time.monotonic() - t0))
            prepared = True
            dest = out or Path("exports") / src.name
            export(src, to, dest, overwrite=overwrite, progress=self.events.append, converter_cache=converter_cache(),
                   quality=quality)
            self.manifest, self.out = load_manifest(dest), dest
        except (ExportError, EdgeprofError) as exc:
            self.error = str(exc) + (" (here: tick 'overwrite an existing export directory' and export again)"
                                     if "--overwrite" in str(exc) else "")
            if not prepared:
                self.events.append(Prepare("failed", str(exc), time.monotonic() - t0))
        finally:
            self.busy = False

    def action_bench(self) -> None:
        if not self.manifest or self.out is None:
            self.notify("export first: 'bench these' benches the artifacts of a finished export", timeout=4)
            return
        self.app.home_defaults["models"] = [str(self.out)]
        self.app.pending_pick = str(self.out)     # the form picks this export alone, listed or not
        self.app.action_mode("home")
        self.notify(f"{self.out} picked (alone): every artifact of the export is benched; start with ctrl+r",
                    timeout=6)

    def refresh_view(self) -> None:
        app, c = self.app, colours(self.app)
        self.query_one(TitleBar).show(app.current, app.clock_text(), app.device_hint)
        while self.events:
            e = self.events.popleft()
            step = "prepare" if isinstance(e, Prepare) else e.step
            if e.status == "info" and step in self.steps:    # a note on a running step: its state stays
                self.steps[step] = replace(self.steps[step], message=e.message)
                continue
            self.steps[step] = Step(e.status, e.message, e.elapsed_s)
        t = Text()
        for name, s in self.steps.items():
            if s.status == "info":                         # e.g. the resource estimate: a line, not a step
                t.append(f"{name:<22} {s.message}\n", style=c.muted)
                continue
            done = s.status in ("done", "skipped")
            bar = token_bar(1 if done else 0, 1, 16) if s.status != "started" else "▕" + "▒" * 16 + "▏"
            style = c.good if done else c.error if s.status == "failed" else c.warning
            took = f" {s.elapsed_s:.1f} s" if s.elapsed_s is not None else ""
            t.append(f"{name:<22} {bar} {s.status}{took}", style=style)
            t.append(f"  {s.message}\n" if s.message else "\n", style=c.muted)
        if self.busy:
            t.append("exporting… (each step writes atomically; an interrupted export resumes)\n", style=c.warning)
        if self.error:
            t.append(f"error: {self.error}\n", style=f"bold {c.error}")
        self.query_one("#steps", Static).update(t)
        self.query_one("#manifest", Static).update(self._manifest_table() if self.manifest else "")

    def _manifest_table(self) -> Table:
        from edgeprof.models.exporting import MANIFEST_COLUMNS, manifest_rows

        m = self.manifest
        tab = Table(title=f"{self.out} — {m.model_id} ({m.baseline_label}); b benches these",
                    header_style="bold", expand=True)
        for col in MANIFEST_COLUMNS:
            tab.add_column(col, no_wrap=True)
        for row in manifest_rows(m):
            tab.add_row(*row)
        return tab
