"""Obtain a ``llama-bench`` built from the SAME llama.cpp that the installed llama-cpp-python wraps.

The sdist of the installed llama-cpp-python version is downloaded at run time with pip (from the
package registry, never committed), its ``vendor/llama.cpp`` is configured with the same switches
llama-cpp-python's own build uses (native CPU, OpenMP, shared libraries, no curl) and only the
``llama-bench`` target is built, into a cache that later runs reuse:

    <edgeprof cache dir>/llama-bench/llama-cpp-python-<version>/
        sdist/      the downloaded .tar.gz and its extracted tree
        build/      the cmake build tree (bin/llama-bench inside)
        build.log   configure + build output

The cache dir is ``$EDGEPROF_HOME/cache`` when EDGEPROF_HOME is set (CONTRACTS.md "User
directories"), else the platform's user cache dir; ``--cache DIR`` on the benchmarks overrides it.
A clean build takes about 6 minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path

CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",            # as llama-cpp-python builds libllama/libggml
    "-DLLAMA_BUILD_COMMON=ON",           # llama-bench links common
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_CURL=OFF",                  # as llama-cpp-python forces it
    "-DLLAMA_OPENSSL=OFF",
]


class Unavailable(Exception):
    """llama-bench cannot be obtained here (no build tools, no network, ...); the message says why."""


def installed_version() -> str:
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError as exc:
        raise Unavailable("llama-cpp-python is not installed") from exc


def default_cache() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from edgeprof import home

        return home.cache_dir() / "llama-bench"
    except Exception:  # noqa: BLE001 - edgeprof/platformdirs missing: a plain fallback
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgeprof" / "llama-bench"


def missing_tools() -> list[str]:
    missing = []
    if not shutil.which("cmake"):
        missing.append("cmake")
    if not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        missing.append("a C++ compiler (g++ or clang++)")
    if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
        missing.append("a C compiler (gcc or clang)")
    return missing


def _log(msg: str) -> None:
    print(f"[llama-bench] {msg}", file=sys.stderr, flush=True)


def fetch_source(version: str, root: Path) -> Path:
    """The extracted llama.cpp source of llama-cpp-python==version (downloaded once)."""
    sdist_dir = root / "sdist"
    src = sdist_dir / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if (src / "CMakeLists.txt").exists():
        return src
    sdist_dir.mkdir(parents=True, exist_ok=True)
    tars = sorted(sdist_dir.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not tars:
        _log(f"downloading the llama-cpp-python=={version} sdist (pip download) ...")
        # pip prepares the sdist's metadata in an isolated env (it fetches scikit-build-core for
        # that, a few seconds); nothing is built or installed.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"llama-cpp-python=={version}", "-d", str(sdist_dir)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        tars = sorted(sdist_dir.glob(f"llama_cpp_python-{version}.tar.gz"))
        if not tars:
            tail = (proc.stdout + proc.stderr)[-1500:]
            raise Unavailable(f"could not download the llama-cpp-python {version} sdist:\n{tail}")
    with tarfile.open(tars[0]) as tf:
        kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(sdist_dir, **kw)  # noqa: S202 - a registry archive, extracted with the data filter
    if not (src / "CMakeLists.txt").exists():
        raise Unavailable(f"{tars[0]} has no vendor/llama.cpp")
    return src


def build(version: str | None = None, cache: Path | None = None, jobs: int | None = None) -> Path:
    """Path of a llama-bench binary for ``version`` (default: the installed llama-cpp-python).

    Raises :class:`Unavailable` with a clear message when it cannot be built here."""
    version = version or installed_version()
    root = (cache or default_cache()) / f"llama-cpp-python-{version}"
    binary = root / "build" / "bin" / "llama-bench"
    stamp = root / "build" / "edgeprof-build.json"
    if stamp.exists():  # a finished earlier build: reuse it
        built = Path(json.loads(stamp.read_text()).get("binary", binary))
        if built.exists():
            return built
    missing = missing_tools()
    if missing:
        raise Unavailable("cannot build llama-bench: missing " + ", ".join(missing)
                          + " (install them, e.g. apt-get install cmake build-essential)")
    src = fetch_source(version, root)
    bdir = root / "build"
    bdir.mkdir(parents=True, exist_ok=True)
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    jobs = jobs or os.cpu_count() or 1
    log = root / "build.log"
    t0 = time.monotonic()
    _log(f"building llama-bench from {src} into {bdir} (about 6 min on 2 cores; log: {log}) ...")
    with open(log, "w") as f:
        for cmd in (["cmake", "-S", str(src), "-B", str(bdir), *gen, *CMAKE_FLAGS],
                    ["cmake", "--build", str(bdir), "--target", "llama-bench", "-j", str(jobs)]):
            f.write("$ " + " ".join(cmd) + "\n")
            f.flush()
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
            if rc != 0:
                tail = log.read_text()[-2000:]
                raise Unavailable(f"llama-bench build failed (exit {rc}, see {log}):\n{tail}")
    if not binary.exists():
        found = list(bdir.rglob("llama-bench"))
        found = [p for p in found if p.is_file() and os.access(p, os.X_OK)]
        if not found:
            raise Unavailable(f"build finished but no llama-bench binary under {bdir}")
        binary = found[0]
    stamp.write_text(json.dumps({"version": version, "binary": str(binary), "flags": CMAKE_FLAGS,
                                 "build_s": round(time.monotonic() - t0, 1)}, indent=1))
    _log(f"built {binary} in {time.monotonic() - t0:.0f} s")
    return binary


# -- shared by the benchmarks: running both tools, and the statistics of paired ratios ---------

REPO = Path(__file__).resolve().parents[1]


def default_model() -> Path:
    """The default model's GGUF, fetched like ``edgeprof bench`` with no model does."""
    sys.path.insert(0, str(REPO))
    from edgeprof.models import catalogue

    return catalogue.ensure(catalogue.get("smollm2-135m-instruct"),
                            log=lambda m: print(f"[model] {m}", file=sys.stderr, flush=True))


def run_edgeprof(model: Path, out: Path, *, prompt: int, gen: int, depth: int = 0, threads: int | None = None,
                 reps: int = 3, warmup: int = 1, sample_hz: float = 20.0, extra: list[str] | None = None,
                 timeout: float = 900, maxrss_file: Path | None = None, nice: int = 0) -> dict:
    """One ``edgeprof bench`` case in a subprocess (exactly what a user runs); returns its row.

    With ``maxrss_file``, the command runs under a tiny wrapper that writes the kernel's peak RSS
    of the largest process below it (``RUSAGE_CHILDREN.ru_maxrss``: the worker) to that file."""
    wrap = [sys.executable, "-c", _MAXRSS_WRAPPER, str(maxrss_file)] if maxrss_file else []
    cmd = [*wrap, sys.executable, "-m", "edgeprof", "bench", str(model), "-p", str(prompt), "-n", str(gen),
           "--depth", str(depth), "--reps", str(reps), "--warmup", str(warmup), "--min-seconds", "0",
           "--idle-seconds", "0", "--sample-hz", f"{sample_hz:g}", "--out", str(out), "--overwrite",
           "-o", "json", "-q", *(["-t", str(threads)] if threads else []), *(extra or [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout, preexec_fn=niceness(nice))
    if proc.returncode != 0:
        raise RuntimeError(f"edgeprof bench failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rows = json.loads(proc.stdout)
    if len(rows) != 1 or rows[0]["status"] != "ok":
        raise RuntimeError(f"edgeprof bench gave no ok row: {json.dumps(rows)[:2000]}")
    return rows[0]


_MAXRSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))\n"
    "sys.exit(rc)\n")


def run_llama_bench(binary: Path, model: Path, *, prompt: int, gen: int, depth: int, threads: int, reps: int,
                    flash_attn: str, repack: str, n_batch: int = 2048, n_ubatch: int = 512, kv_type: str = "f16",
                    timeout: float = 900, nice: int = 0) -> dict:
    """One llama-bench test (``-o json``); returns its JSON object."""
    cmd = [str(binary), "-m", str(model), "-p", str(prompt), "-n", str(gen), "-d", str(depth),
           "-t", str(threads), "-r", str(reps), "-fa", flash_attn, "--repack", "1" if repack == "on" else "0",
           "-b", str(n_batch), "-ub", str(n_ubatch), "-ctk", kv_type, "-ctv", kv_type, "-o", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=niceness(nice))
    if proc.returncode != 0:
        raise RuntimeError(f"llama-bench failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rows = json.loads(proc.stdout)
    if len(rows) != 1:
        raise RuntimeError(f"llama-bench printed {len(rows)} results, expected 1")
    return rows[0]


def niceness(nice: int):
    """A ``preexec_fn`` that changes the child's nice value (negative needs root), or None.

    Both tools get the same value; on a machine shared with other work a negative value gives the
    measured process most of a core, which cuts the noise (llama-bench's own ``--prio`` does the
    same by other means)."""
    if not nice:
        return None
    return lambda: os.nice(nice)


def median(xs: list[float]) -> float:
    import statistics

    return statistics.median(xs)


def spread(xs: list[float]) -> dict:
    """median, min, max and the interquartile range of paired ratios."""
    import statistics

    xs = sorted(xs)
    q1, q3 = (statistics.quantiles(xs, n=4, method="inclusive")[::2] if len(xs) >= 2 else (xs[0], xs[0]))
    return {"n": len(xs), "median": statistics.median(xs), "min": xs[0], "max": xs[-1], "q1": q1, "q3": q3}


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":  # python benchmarks/_llamabench.py  → build (or find) and print the path
    try:
        print(build())
    except Unavailable as exc:
        print(f"SKIP: {exc}", file=sys.stderr)
        sys.exit(0)
