"""The live screen's progress panel: case k of N, phase, repetition, tokens, live tokens/s, TTFT,
elapsed, ETA and the last notice. It renders from a :class:`~edgeprof.views.tui.runner.Run` and a
``now_ns`` the app supplies; it reads no hardware and no clock of its own."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from edgeprof.views.tui import fmt
from edgeprof.views.tui.theme import Palette, colours
from edgeprof.views.tui.widgets.quiet import Quiet, text_key


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
            self.put(Text("no run yet — press n for a new run, h for history, ? for help", style=c.muted), "none")
            return
        st = run.state
        lines: list[Text] = []
        if run.stage == "preparing":
            spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int(now_ns / 1e8) % 10] if not run.replay else "…"
            last = st.notices[-1].message if st.notices else "starting"
            lines.append(Text(f"{spin} preparing ({now_ns / 1e9 - run.t_start:.0f} s): {last}", style=c.warning))
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
        if case and case.inference:  # blocks of forward passes: passes so far of at least --reps
            meta.append(f"{case.passes} of ≥{case.reps} passes · {case.phase.replace('_', ' ')}")
        elif case:
            rep = "" if case.rep is None else f"rep {case.rep + 1}/{case.reps}" + (
                " warm-up" if case.phase_label == "warmup" else "") + " · "
            meta.append(rep + f"{case.phase}")
        el, eta = st.elapsed_s(now_ns), st.eta_s(now_ns)
        eta_text = "done" if st.ended else ("~" + fmt.dur(eta) if eta is not None else "--:--")
        meta.append(f"   elapsed {fmt.dur(el)}   ETA {eta_text}")
        peak = st.rss.peak(now_ns, 3600)
        if peak:
            total = (case.device if case else st.device).memory_bytes
            meta.append(f"   RSS {fmt.size(peak)}" + (f" of {fmt.size(total)}" if total else ""))
        if st.paused:
            meta.append("   PAUSED", style=f"bold {c.warning}")
        lines.append(meta)
        if case and (tok := self._tokens(case, now_ns, c)).plain:
            lines.append(tok)
        if st.probing_since_ns is not None:
            spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int(now_ns / 1e8) % 10] if not run.replay else "…"
            why = ("re-taking a probe made on a busy machine, at most once a day): every row is written already"
                   if st.probing_after_sweep else "once per machine, usually under a minute): the row is written after it")
            lines.append(Text(f"{spin} probing memory bandwidth and FLOP/s ({(now_ns - st.probing_since_ns) / 1e9:.0f} s, "
                              + why,
                              style=f"bold {c.warning}", no_wrap=True, overflow="ellipsis"))
        if run.error:
            lines.append(Text(f"error: {run.error}", style=f"bold {c.error}"))
        elif st.notices:
            n = st.notices[-1]
            lines.append(Text(f"› {n.message}", style=c.warning if n.level == "warning" else c.muted,
                              no_wrap=True, overflow="ellipsis"))
        self.put(Group(*lines), text_key(*lines))

    @staticmethod
    def _tokens(case, now_ns: int, c: Palette) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if case.inference:  # a model that is not a causal LM: forward passes, not tokens
            if case.rep_ips:
                b = int(case.workload.get("batch") or 1)
                t.append(f"{case.rep_ips[-1]:.1f} inferences/s ", style=f"bold {c.good}")
                t.append(f"({case.rep_ips[-1] * b:.1f} samples/s, batch {b})   ")
                t.append(f"latency {fmt.num(case.rep_latency_ms[-1])} ms per inference")
                t.append(f"   {case.passes} passes timed")
            elif case.phase in ("first_inference", "warmup", "inputs"):
                t.append(f"{case.phase.replace('_', ' ')} … {(now_ns - case.phase_t0_ns) / 1e9:.1f} s")
            return t
        if case.phase == "prefill":
            t.append(f"prefill {case.workload.get('prompt_tokens')} tokens … "
                     f"{(now_ns - case.phase_t0_ns) / 1e9:.1f} s   ")
        elif case.tokens:
            n, of = case.tokens
            t.append(f"decode {token_bar(n, of)} {n}/{of}   ")
        if case.live_tps is not None and case.phase == "decode":
            t.append(f"live {case.live_tps:.1f} t/s ", style=f"bold {c.good}")
        if case.rep_median_tps is not None:
            t.append(f"(rep median {case.rep_median_tps:.1f} t/s)")
        if case.ttft_median_ms is not None:
            t.append(f"   TTFT {fmt.num(case.ttft_median_ms)} ms")
        return t
