"""The live chart of a ``--sustain`` run: decode tok/s as it goes (from the worker's token progress,
binned like the power chart), with the first window's level drawn as the burst reference, so a
board that slows down after a minute is seen slowing down. Shown only for a sustained run."""
from __future__ import annotations

from edgeprof.views.tui import fmt
from edgeprof.views.tui.widgets.charts import _Chart, _w


class SustainChart(_Chart):
    def show(self, run, now_ns: int, window_s: float) -> None:
        st = run.state
        first = [b for b in st.decode.bins if b.n][: max(1, int(window_s * 4))]   # 0.25 s bins: the first window
        burst = sum(b.total for b in first) / sum(b.n for b in first) if first else None
        bits = [f"burst ╌ {fmt.num(burst)} tok/s (first {window_s:g} s)" if burst is not None else "waiting for tokens"]
        if st.decode.last is not None:
            bits.append(f"now {fmt.num(st.decode.last)} tok/s")
            if burst:
                bits.append(f"{100 * st.decode.last / burst:.0f} % of burst")
        self.titles("decode tok/s · sustained run", " · ".join(bits))
        self._draw(st.decode, run, now_ns, (burst or 0) * 1.2, 1.0, burst, _w)
