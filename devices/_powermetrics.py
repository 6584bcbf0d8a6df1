"""The ``powermetrics`` plist stream (macOS): parsing, the reader thread, and the sudo runner.

``powermetrics -f plist`` writes one XML plist per sample, separated by NUL bytes (powermetrics(1));
chunks from a pipe cut documents anywhere, so parsing buffers up to each NUL. Keys used
(as parsed by public tools: asitop, pumas): ``elapsed_ns``; ``processor.{cpu,gpu,ane}_energy``
(mJ over the sample) and, on newer macOS, ``processor.{cpu,gpu,ane,combined}_power`` (mW);
``processor.clusters[].freq_hz``; ``gpu.{freq_hz,idle_ratio}``.
"""
from __future__ import annotations

import logging
import math
import os
import plistlib
import subprocess
import threading
import time
from typing import Any, Callable, Iterable
from xml.parsers.expat import ExpatError

from .errors import DeviceError, NoPermission, NotPresent

log = logging.getLogger(__name__)

ARGS = ["powermetrics", "--samplers", "cpu_power,gpu_power,ane_power", "-f", "plist", "-i"]
NOTE = "Apple energy model (not shunt resistors): powermetrics on-chip estimate"
HINT = ("powermetrics needs root: run 'sudo -v' before edgeprof, or add a sudoers line such as "
        "'youruser ALL=(root) NOPASSWD: /usr/bin/powermetrics' (visudo -f /etc/sudoers.d/powermetrics)")
#: runner(argv) -> iterable of stdout byte chunks; raises NoPermission / NotPresent.
Runner = Callable[[list[str]], Iterable[bytes]]


#: What a malformed XML plist can raise from plistlib (expat errors, bad <integer>/<real>/<date>
#: text, bad base64 <data>, unbalanced tags, a dict key that is not a string, an unknown encoding
#: in the XML declaration — LookupError, found by tests/devices/test_fuzz_parsers.py).
PLIST_ERRORS = (plistlib.InvalidFileException, ValueError, ExpatError, TypeError, LookupError,
                AttributeError, OverflowError, RecursionError)
#: A document longer than this is not a powermetrics sample (a few kB): dropped, not parsed.
MAX_DOC_BYTES = 1 << 20


def _load(doc: bytes) -> dict[str, Any] | None:
    if len(doc) > MAX_DOC_BYTES:
        log.warning("skipped a %d-byte powermetrics document (limit %d)", len(doc), MAX_DOC_BYTES)
        return None
    try:
        out = plistlib.loads(doc, fmt=plistlib.FMT_XML)  # powermetrics -f plist writes XML only
    except PLIST_ERRORS as exc:
        log.warning("skipped a malformed powermetrics plist: %s", exc)
        return None
    if not isinstance(out, dict):
        log.warning("skipped a powermetrics plist whose root is a %s, not a dict", type(out).__name__)
        return None
    return out


def parse_stream(chunks: Iterable[bytes]) -> Iterable[dict[str, Any]]:
    """NUL-separated plists -> dicts (a torn, malformed or non-dict document is logged and skipped)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        *docs, buf = buf.split(b"\x00")
        for doc in docs:
            if doc.strip() and (sample := _load(doc.strip())) is not None:
                yield sample
        if len(buf) > MAX_DOC_BYTES:  # no NUL for a megabyte: not powermetrics output
            log.warning("dropped %d bytes of powermetrics output with no document separator", len(buf))
            buf = b""
    if buf.strip() and (sample := _load(buf.strip())) is not None:
        yield sample


def num(value: Any) -> float | None:
    """A finite number from a plist value, else None (a string, a date, NaN are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def section(sample: Any, key: str) -> dict[str, Any]:
    """``sample[key]`` when both are dicts, else {} (malformed input reads as "not reported")."""
    value = sample.get(key) if isinstance(sample, dict) else None
    return value if isinstance(value, dict) else {}


def power_w(sample: dict[str, Any], part: str) -> float | None:
    """Average power of ``part`` (cpu, gpu, ane, combined) over the sample, in W.

    Newer macOS reports ``<part>_power`` (mW); older only ``<part>_energy`` (mJ over elapsed_ns).
    """
    proc = section(sample, "processor")
    mw = num(proc.get(f"{part}_power"))
    if mw is not None:
        return mw / 1e3 if mw >= 0 else None
    if part == "combined":
        parts = [power_w(sample, p) for p in ("cpu", "gpu", "ane")]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
    mj, dt_ns = num(proc.get(f"{part}_energy")), num(sample.get("elapsed_ns"))
    if mj is None or mj < 0 or not dt_ns or dt_ns <= 0:
        return None
    return mj / 1e3 / (dt_ns / 1e9)


def energy_j(sample: dict[str, Any]) -> float | None:
    """CPU+GPU+ANE energy of one sample interval, in J (None when any part is missing or negative)."""
    proc = section(sample, "processor")
    parts = [num(proc.get(f"{p}_energy")) for p in ("cpu", "gpu", "ane")]
    if all(p is not None and p >= 0 for p in parts):
        return sum(parts) / 1e3  # type: ignore[arg-type]
    watts, dt_ns = power_w(sample, "combined"), num(sample.get("elapsed_ns"))
    return None if watts is None or not dt_ns or dt_ns <= 0 else watts * dt_ns / 1e9


class PowermetricsStream:
    """Runs the tool once, keeps the latest sample and the cumulative energy (thread-safe)."""

    def __init__(self, runner: Runner, interval_ms: int):
        self.argv = ARGS + [str(interval_ms)]
        self.interval_ms = interval_ms
        #: a sample older than this is stale (the tool stopped or stalled): never re-served as "now"
        self.max_age_ns = int(max(5 * interval_ms / 1e3, 2.0) * 1e9)
        self._received_ns = 0
        self.energy_samples = 0
        self._source = runner(self.argv)
        self._chunks = iter(self._source)
        self._closed = False
        self._lock = threading.Lock()
        self.latest: dict[str, Any] | None = None
        self.samples = 0
        self.energy_total_j = 0.0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._pump, name="powermetrics", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for sample in parse_stream(self._chunks):
                e = energy_j(sample)
                with self._lock:
                    self.latest, self.samples = sample, self.samples + 1
                    self._received_ns = time.monotonic_ns()
                    if e is not None:
                        self.energy_total_j += e
                        self.energy_samples += 1
        except (OSError, DeviceError) as exc:
            self.error = f"powermetrics stopped: {exc}"

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def snapshot(self) -> tuple[dict[str, Any] | None, str | None]:
        """(latest sample, None) or (None, why there is no current sample)."""
        with self._lock:
            latest, received_ns = self.latest, self._received_ns
        if latest is None:
            return None, self.error or "no powermetrics sample yet"
        age_s = (time.monotonic_ns() - received_ns) / 1e9
        if age_s * 1e9 > self.max_age_ns:
            return None, (self.error or "powermetrics stopped") + f": last sample is {age_s:.1f} s old"
        return latest, None

    def energy(self) -> tuple[float | None, str]:
        """Cumulative CPU+GPU+ANE energy in J and a note on how many samples it sums."""
        with self._lock:
            total, used, n = self.energy_total_j, self.energy_samples, self.samples
        note = f"{NOTE}; sum of {used} sample energies"
        if used < n:
            note += f" ({n - used} sample(s) without energy keys were left out: an UNDER-count)"
        return (total if used else None), note

    def close(self) -> None:
        """Stop the tool (idempotent; every sensor of the device shares this stream)."""
        if self._closed:
            return
        self._closed = True
        closer = getattr(self._source, "close", None)
        if closer:
            try:
                closer()
            except ValueError:  # a generator source that the reader thread is executing right now
                log.debug("powermetrics source still running; the daemon reader thread ends with it")


def default_runner(argv: list[str]) -> Iterable[bytes]:
    """``sudo -n powermetrics ...``: fails fast (NoPermission) instead of prompting."""
    cmd = argv if os.geteuid() == 0 else ["sudo", "-n"] + argv
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise NotPresent("powermetrics (or sudo) is not installed", hint=HINT) from exc
    first = proc.stdout.read1(65536) if proc.stdout else b""  # type: ignore[union-attr]
    if not first and proc.wait(timeout=5) != 0:
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        raise NoPermission(f"powermetrics did not start: {err or 'exit ' + str(proc.returncode)}", hint=HINT)

    return _Process(proc, first)


class _Process:
    """The running tool as an iterable of stdout chunks; ``close()`` terminates it, which ends the
    iteration in the reader thread (its next read returns EOF)."""

    def __init__(self, proc: subprocess.Popen, first: bytes):
        self.proc, self.first = proc, first

    def __iter__(self) -> Iterable[bytes]:
        yield self.first
        while self.proc.stdout and (data := self.proc.stdout.read1(65536)):
            yield data

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()


