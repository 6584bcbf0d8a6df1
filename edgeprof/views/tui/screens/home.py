"""Screen 4, new run (what ``edgeprof tui`` opens without a MODEL): pick models, a workload or a
preset, placement and repetitions; see the device, its power source and unavailable sensors, and
which reference rows the plan will meet — before anything starts. Starting shows the model fetch
and the preparation as they happen, then the live screen."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, ProgressBar, RadioSet, Select, Static

from edgeprof.errors import EdgeprofError
from edgeprof.results.described import DeviceDesc
from edgeprof.views.tui import homeform
from edgeprof.views.tui.widgets.ticks import Radio, TickList
from edgeprof.views.tui.widgets.titlebar import TitleBar, device_title
from edgeprof.views.tui.theme import colours


PRESET_LABELS = ("quick 32/32 ×3", "default 128/128 ×5", "llama-bench 512/128", "match reference", "custom")


class HomeScreen(Screen):
    DEFAULT_CSS = """
    HomeScreen VerticalScroll { padding: 0 1; }
    HomeScreen .row { height: auto; margin: 1 0 0 0; }
    HomeScreen .field { width: 9; margin: 0 1 0 1; }
    HomeScreen #path { margin: 1 0 0 0; }
    HomeScreen #models { height: auto; max-height: 6; }
    HomeScreen #preset { layout: horizontal; width: 1fr; height: auto; }
    HomeScreen #preset Radio { width: auto; margin: 0 2 0 0; }
    HomeScreen.-narrow #preset Radio { margin: 0 1 0 0; }
    HomeScreen #fa { width: 12; margin: 0 2 0 1; }
    HomeScreen #suite { width: 26; margin: 0 2 0 1; }
    HomeScreen #host { width: 1fr; margin: 0 1 0 1; }
    HomeScreen #device, HomeScreen #plan { margin: 1 0 0 0; }
    HomeScreen #prepare { display: none; }
    HomeScreen.-preparing #prepare { display: block; }
    HomeScreen Button { margin: 0 2 0 0; }
    """
    BINDINGS = [Binding("ctrl+r", "start", "start run"), Binding("f5", "start", "start run", show=False)]
    LEAVE_TO = "#models"      # esc in a field focuses the model list, where letters act

    def __init__(self) -> None:
        super().__init__()
        self.choices: list[homeform.Choice] = []
        self.error: str | None = None
        self._started = None
        self._plan_key, self._plan = None, []
        self._reference: dict | None = None     # what "match reference" last filled in

    def compose(self) -> ComposeResult:
        d = self.app.home_defaults or {}
        yield TitleBar()
        with VerticalScroll():
            yield Static(Text("new run — pick models (space), set the workload, start (ctrl+r)", style="bold"))
            yield TickList(id="models", compact=True)
            yield Input(placeholder="or a path: GGUF/ONNX file, export directory, HF directory", id="path",
                        compact=True)
            with Horizontal(classes="row"):
                for name in ("prompt", "gen", "depth", "threads", "reps"):
                    yield Label(name)
                    yield Input(value=str(d.get(name, "")), id=name, classes="field", compact=True,
                                restrict=homeform.ACCEPTS[name])
            with Horizontal(classes="row"):
                yield Label("preset ")
                first = homeform.PRESET_KEYS.index(homeform.preset_of(d, d.get("suite")))
                yield RadioSet(*(Radio(t, value=(i == first), compact=True) for i, t in enumerate(PRESET_LABELS)),
                               id="preset", compact=True)
            with Horizontal(classes="row"):
                yield Label("suite")
                yield Select([("none: the fields above", "none")] + [(s, s) for s in homeform.suites()],
                             value=d.get("suite") or "none", allow_blank=False, id="suite", compact=True)
                yield Label("flash attention")
                yield Select([(x, x) for x in ("auto", "on", "off")], value=d.get("flash_attn", "auto"),
                             allow_blank=False, id="fa", compact=True)
                yield Label("GPU layers")
                yield Input(value=str(d.get("gpu_layers", "0")), id="gpu_layers", classes="field", compact=True,
                            restrict=homeform.ACCEPTS["gpu_layers"])
            with Horizontal(classes="row"):
                yield Label("host")
                yield Input(value=str(d.get("host") or ""), id="host", compact=True,
                            placeholder="this machine — or user@board[:port]: the run goes there over SSH")
            with Horizontal(classes="row"):
                yield Button("start", variant="primary", id="start", compact=True)
                yield Button("export first…", id="export", compact=True)
            yield Static(id="status")
            yield ProgressBar(total=None, show_eta=False, id="prepare")
            yield Static(id="device")
            yield Static(id="plan")
        yield Footer()

    def on_mount(self) -> None:
        self.discover()
        if self.app.device_hint is None:
            self.detect_device()
        self.query_one("#models", TickList).focus()
        self.on_resize()

    def on_screen_resume(self) -> None:
        self.discover()

    def on_resize(self, event=None) -> None:
        """Below 110 columns the presets say only their names (the fields show their values), so
        all five fit on one line whole."""
        narrow = self.app.size.width < 110
        self.set_class(narrow, "-narrow")
        for radio, label, key in zip(self.query_one("#preset", RadioSet).query(Radio), PRESET_LABELS,
                                     homeform.PRESET_KEYS):
            radio.label = key if narrow else label

    @work(thread=True, group="home-discover")
    def discover(self) -> None:
        choices = homeform.discover(Path.cwd())
        self.app.call_from_thread(self._fill_models, choices)

    def _fill_models(self, choices: list) -> None:
        """(Re)fill the list; a refill (the screen shown again, a model just downloaded) keeps what
        the user picked rather than going back to the defaults — except after "bench these" on
        the export page, which picks that export alone (added to the list if it is elsewhere)."""
        sel = self.query_one("#models", TickList)
        refill = bool(self.choices)
        pick, self.app.pending_pick = self.app.pending_pick, None
        if pick:
            wanted = {pick}
            if pick not in {c.arg for c in choices}:
                extra = homeform.export_choice(Path(pick))
                choices = list(choices) + [extra or homeform.Choice(pick, pick)]
        elif refill:
            wanted = {self.choices[i].arg for i in sel.selected if i < len(self.choices)}
        else:
            wanted = set(self.app.home_defaults.get("models") or [])
        self.choices = choices
        sel.clear_options()
        for i, ch in enumerate(choices):
            sel.add_option((ch.label, i, ch.arg in wanted or (not refill and not wanted and ch.default)))
        if pick:
            sel.highlighted = next(i for i, ch in enumerate(choices) if ch.arg == pick)   # scrolled into view
            self.query_one("#path", Input).value = ""
        self.refresh_view()

    @work(thread=True, group="home-device")
    def detect_device(self) -> None:
        """The devices as the engine opens them for a run (identity and declared sensors; no sample)."""
        from edgeprof import home
        from edgeprof.engine.device_choice import bench_device, open_devices
        from edgeprof.engine.session import describe_devices

        try:
            found = open_devices(home.sysroot())
        except EdgeprofError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        try:
            desc, label = describe_devices(found, bench_device(found, {}))
        finally:
            for dev in found:
                dev.close()
        self.app.call_from_thread(self._device_found, replace(desc, power_label=label))

    def _device_found(self, desc: DeviceDesc) -> None:
        self.app.device_hint = desc
        self.refresh_view()

    # -- the form ----------------------------------------------------------------------------
    def picked(self) -> list[homeform.Choice]:
        idx = self.query_one("#models", TickList).selected
        out = [self.choices[i] for i in idx if i < len(self.choices)]
        path = self.query_one("#path", Input).value.strip()
        return out + ([homeform.Choice(path, path)] if path else [])

    def options(self):
        values = {n: self.query_one(f"#{n}", Input).value for n in homeform.FIELDS}
        fa = str(self.query_one("#fa", Select).value)
        suite = str(self.query_one("#suite", Select).value)
        return homeform.build_options(self.app.home_defaults.get("opts"), [c.arg for c in self.picked()], values,
                                      fa, self.query_one("#gpu_layers", Input).value,
                                      None if suite == "none" else suite, pull=any(c.pull for c in self.picked()))

    def host(self) -> str | None:
        """The host field: None for this machine, else USER@BOARD[:PORT] as ``bench --host`` takes
        it (raises ``UsageError`` naming the expected form)."""
        from edgeprof.fleet.ssh import Target

        text = self.query_one("#host", Input).value.strip()
        return str(Target.parse(text)) if text else None

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        key = homeform.PRESET_KEYS[event.index]
        if key == "custom":      # what the fields hold (chosen by the form itself when they match no preset)
            return
        if key == "reference":
            first = next((c for c in self.picked() if c.model_id), None)
            values = homeform.reference_workloads(first.model_id if first else None, self.app.sets,
                                                   first.name if first else None)
            if values is None:
                self.notify("no reference set has rows for this model; see r (references) for how to add one",
                            severity="warning")
                self._sync_preset()
                return
            self._reference = values
        else:
            values = homeform.PRESETS[key]
        if "suite" in values:   # its server rows are suite summaries: run that suite
            if self.query_one("#suite", Select).value != values["suite"]:
                self.query_one("#suite", Select).value = values["suite"]
                self.notify(f"suite {values['suite']}: the workload its server rows were measured with")
            return
        self.query_one("#suite", Select).value = "none"
        for name, v in values.items():
            self.query_one(f"#{name}", Input).value = v

    def _sync_preset(self) -> None:
        """The preset shown is the one the fields hold: a field typed by hand that matches no
        preset selects "custom" (never a preset whose values are no longer there)."""
        values = {n: self.query_one(f"#{n}", Input).value for n in homeform.FIELDS}
        suite = str(self.query_one("#suite", Select).value)
        key = homeform.preset_of(values, suite, self._reference)
        radios = list(self.query_one("#preset", RadioSet).query(Radio))
        want = radios[homeform.PRESET_KEYS.index(key)]
        if not want.value:
            want.value = True

    def on_input_changed(self, event: Input.Changed) -> None:
        self.error = None
        if event.input.id in homeform.FIELDS:
            self._sync_preset()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "suite":
            self._sync_preset()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "export":
            self.app.action_mode("export")

    def action_start(self) -> None:
        run = self.app.current
        if run is not None and getattr(run, "alive", False):
            self.notify("a run is in progress: l shows it, x (on the live screen) cancels it", severity="warning")
            return
        if not self.picked():
            self.error = "pick at least one model (space in the list) or type a path"
            self.refresh_view()
            return
        try:
            opts, host = self.options(), self.host()
            self._started = self.app.start_run(opts, host=host)
        except EdgeprofError as exc:
            self.error = str(exc)
            self.refresh_view()
            return
        self.error = None
        self.refresh_view()

    # -- refresh (the app's timer) ---------------------------------------------------------
    def refresh_view(self) -> None:
        app = self.app
        c = colours(app)
        run = app.current
        self.query_one(TitleBar).show(None, app.clock_text(), app.device_hint)
        dev = app.device_hint
        host = self.query_one("#host", Input).value.strip()
        if host:
            self.query_one("#device", Static).update(Text(
                f"device     on {host}, over SSH: its devices are read there when the run starts, and its "
                "events stream here as a local run's", style=c.fg))
        elif dev:
            off = [s for d in dev.all for s in d.sensors or () if not s.available]
            self.query_one("#device", Static).update(Text(
                f"device     {device_title(dev, dev.power_label)} · {len(off)} sensor(s) unavailable "
                "(d: why)", style=c.fg))
        try:
            opts = self.options()
            self.host()
            key = (tuple(c.arg for c in self.picked()), tuple(opts.prompt), tuple(opts.gen), tuple(opts.depth),
                   tuple(opts.suite or ()), id(app.sets))
            if key != self._plan_key:    # matching reads every reference row: only when the plan changes
                self._plan_key, self._plan = key, homeform.plan_lines(self.picked(), opts, app.sets)
            lines = self._plan
        except EdgeprofError as exc:
            lines = [("none", f"fix the form: {exc}")]
        plan = Text("reference  " if lines else "")
        for kind, text in lines[:6]:
            plan.append(("✓ " if kind in ("exact", "same-model") else "✗ ") + text + "\n",
                        style=c.good if kind in ("exact", "same-model") else c.warning)
        self.query_one("#plan", Static).update(plan)
        preparing = run is not None and run.stage == "preparing" and not run.replay
        self.set_class(preparing, "-preparing")
        status = self.query_one("#status", Static)
        if self.error:
            status.update(Text(f"error: {self.error}", style=f"bold {c.error}"))
        elif run is not None and run.stage == "failed" and run.error:
            t = Text(f"the run could not start: {run.error}", style=f"bold {c.error}")
            hints = () if getattr(run, "host", None) else (homeform.supply_hint(ch.arg) for ch in self.picked())
            for hint in filter(None, hints):
                t.append(f"\n{hint}", style=c.warning)
            status.update(t)
        elif preparing:
            last = run.state.notices[-1].message if run.state.notices else "starting"
            status.update(Text(f"status     {last}", style=c.warning))
        else:
            status.update("")
        if run is not None and run is getattr(self, "_started", None) and run.stage in ("running", "done"):
            self._started = None   # the run this form started is under way: watch it
            app.action_mode("live")
