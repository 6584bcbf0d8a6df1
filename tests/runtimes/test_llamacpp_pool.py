"""The llama.cpp context computes on one persistent ggml threadpool, as llama-bench's does (issue 20,
item 8): llama-cpp-python binds no threadpool API, so without one ggml built a disposable pool for
every decoded token (``threads - 1`` OS threads started and joined per token where ggml has no
OpenMP). The decode step itself is lean and gives the same greedy tokens as the general path."""
from __future__ import annotations

import pytest

from edgeprof.runtimes.base import Placement

pytest.importorskip("llama_cpp")


def _tokens(engine, n: int, one_step) -> list[int]:
    engine.reset()
    tok = engine.prefill(engine.tokenize("The quick brown fox jumps over the lazy dog."))
    out = [tok]
    for _ in range(n):
        tok = one_step(tok)
        out.append(tok)
    return out


@pytest.mark.parametrize("threads", [1, 2])
def test_a_persistent_threadpool_is_attached_and_decodes_the_same_tokens(smollm2_gguf, threads):
    from edgeprof.runtimes.llamacpp import LlamaCppEngine

    e = LlamaCppEngine(str(smollm2_gguf), Placement(threads=threads), 128)
    try:
        assert e.info.placement["threadpool"] == "attached", e.info.extra["threadpool_note"]
        assert e.info.extra["threadpool_note"].startswith("attached: one ggml threadpool")
        fast = _tokens(e, 24, e.decode)
        general = _tokens(e, 24, lambda t: e._eval([t]))  # set_batch + the wrapper's decode
        assert fast == general and len(set(fast)) > 3
        assert e.n_past == len(e.tokenize("The quick brown fox jumps over the lazy dog.")) + 24
    finally:
        e.close()
    assert e.pool.handle is None  # freed after the context


def test_an_unexpected_params_layout_attaches_nothing_and_says_so(smollm2_gguf, monkeypatch):
    from edgeprof.runtimes import ggml_threads
    from edgeprof.runtimes.llamacpp import LlamaCppEngine

    monkeypatch.setattr(ggml_threads, "MASK_BYTES", 256)  # n_threads is not where this build puts it
    e = LlamaCppEngine(str(smollm2_gguf), Placement(threads=2), 64)
    try:
        assert e.info.placement["threadpool"] == "disposable"
        assert "unexpected layout" in e.info.extra["threadpool_note"]
        assert e.decode(e.prefill(e.tokenize("Hello"))) >= 0  # still runs, on ggml's own pools
    finally:
        e.close()


def test_a_closed_engine_leaves_no_dangling_log_callback(smollm2_gguf):
    """An engine closed and collected, then another model loaded in the same process (the quality
    scorer after a bench, the Python API, a test run in one interpreter): llama.cpp logs the load
    through the callback it was given. One owned by the engine was freed with it, and that load
    crashed the interpreter (a segfault, found by the suite in another order). Run in a child so a
    crash is a failure here, not the end of the test run."""
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from edgeprof.runtimes.base import Placement\n"
        "from edgeprof.runtimes.llamacpp import LlamaCppEngine\n"
        "import llama_cpp\n"
        "e = LlamaCppEngine(sys.argv[1], Placement(threads=1), 64); e.close(); del e; gc.collect()\n"
        "for _ in range(3):\n"
        "    x = [bytearray(1 << 16) for _ in range(256)]; del x; gc.collect()\n"
        "    m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, verbose=False); m.close(); del m\n"
        "print('loaded after close')\n")
    res = subprocess.run([sys.executable, "-c", code, str(smollm2_gguf)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "loaded after close" in res.stdout, (res.returncode, res.stderr[-1500:])
