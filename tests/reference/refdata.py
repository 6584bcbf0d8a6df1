"""Helpers for tests/reference: synthetic records in the CONTRACTS schema and run directories built
from them (no model runs)."""
from __future__ import annotations

import json
import random
from pathlib import Path

from edgeprof.results.schema import Record


def metric(samples, unit, kind="measured", source="llama.cpp perf counters"):
    xs = sorted(samples)
    med = xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
    return {"value": med, "unit": unit, "n": len(xs), "median": med, "p90": xs[-1], "cv": None, "ci95": None,
            "samples": list(samples), "provenance": {"kind": kind, "source": source, "scope": "process",
                                                     "period_s": None, "note": ""}}


def make_record(*, model="smollm2-135m-instruct", params=134515008, quant="q4_1", fmt="gguf", p=128, n=128,
                depth=0, decode=None, ttft=None, tpot=None, run_id="run-a", host="hostA", device_id="cpu0:test",
                device_name="Test CPU", kind="cpu", extra=None, size_bytes=98362432, arch="llama", dims=None):
    metrics = {}
    if decode is not None:
        metrics["decode_tokens_per_s"] = metric(decode, "tokens/s")
    if ttft is not None:
        metrics["ttft_ms"] = metric(ttft, "ms")
    if tpot is not None:
        metrics["tpot_ms"] = metric(tpot, "ms")
    metrics.update(extra or {})
    return Record.from_dict({"schema_version": 1, "case_id": f"{quant}-{p}-{n}-{depth}", "run_id": run_id, "host": host,
            "started_at": "2026-11-23T02:00:00+00:00", "status": "ok", "error": None,
            "model": {"id": model, "name": model, "params": params, "architecture": arch, **(dims or {})},
            "artifact": {"path": f"/m/{quant}.{fmt}", "format": fmt, "quant": quant, "size_bytes": size_bytes,
                         "sha256": f"sha-{quant}", "files": []},
            "runtime": {"name": "llama.cpp", "version": "0.3.36",
                        "placement": {"threads": 2, "gpu_layers": 0, "flash_attn": "off", "kv_type": "f16"}},
            "device": {"id": device_id, "kind": kind, "name": device_name, "memory_bytes": 24_000_000_000},
            "workload": {"prompt_tokens": p, "gen_tokens": n, "depth": depth, "n_seqs": 1},
            "metrics": metrics})


def write_run(path: Path, records, plan=None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "records.jsonl").write_text("".join(json.dumps(r.to_dict() if isinstance(r, Record) else r) + "\n"
                                                for r in records))
    (path / "plan.json").write_text(json.dumps(plan or {"cases": []}))
    (path / "env.json").write_text(json.dumps({"edgeprof_version": "0.1.0"}))
    (path / "baseline.json").write_text(json.dumps({"idle_power_w": 5.0}))
    return path


def noisy(center, n=7, rel=0.03, seed=0):
    rng = random.Random(seed)
    return [center * (1 + rng.gauss(0, rel)) for _ in range(n)]


def write_gguf(path: Path, meta: dict, n: int = 64) -> Path:
    """A tiny but well-formed GGUF (one f32 tensor) whose metadata says what a test needs, e.g.
    ``{"general.name": "Llama 3.2 1B Instruct", "general.file_type": 15}`` (15 = Q4_K_M)."""
    import struct

    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = b""
    for k, v in meta.items():
        kv += s(k) + (struct.pack("<I", 8) + s(v) if isinstance(v, str) else struct.pack("<II", 4, v))
    tensor = s("token_embd.weight") + struct.pack("<IQIQ", 1, n, 0, 0)
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, len(meta)) + kv + tensor
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + b"\0" * ((-len(head)) % 32) + struct.pack(f"<{n}f", *([0.5] * n)))
    return path


LOCALSCORE_CASES = [(1024, 16), (4096, 256), (2048, 256), (2048, 768), (1024, 1024), (1280, 3072), (384, 1152),
                    (64, 1024), (16, 1536)]


def suite_case(p, n, prefill, decode, ttft, suite="localscore", **kw):
    """One case of a suite run with given repetition-level samples (a recorded run's shape)."""
    extra = {"prefill_tokens_per_s": metric(prefill, "tokens/s")} if prefill else {}
    rec = make_record(p=p, n=n, decode=decode, ttft=ttft, extra=extra, **kw)
    from dataclasses import replace

    return replace(rec, workload=replace(rec.workload, suite=suite, tokens="random", seed=1,
                                         extra={"suite_version": 1}))


def respoof(src: Path, dst: Path, claims: dict) -> Path:
    """A copy of a real GGUF with its metadata claims rewritten (string or uint32 values), tensors
    and weights untouched: what an attacker (or a careless converter) can do to any file. The
    tensor table is copied as it is; its offsets are relative to the data section, which is
    re-aligned after the new metadata."""
    import struct

    data = src.read_bytes()
    pos = 24
    _, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip(t: int, p: int) -> int:
        if t in sizes:
            return p + sizes[t]
        if t == 8:
            return p + 8 + struct.unpack_from("<Q", data, p)[0]
        it, n = struct.unpack_from("<IQ", data, p)
        p += 12
        if it in sizes:
            return p + n * sizes[it]
        for _ in range(n):
            p = skip(it, p)
        return p

    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    def value(v) -> bytes:
        return struct.pack("<I", 8) + s(v) if isinstance(v, str) else struct.pack("<II", 4, v)

    kvs, align = [], 32
    for _ in range(n_kv):
        klen = struct.unpack_from("<Q", data, pos)[0]
        key = data[pos + 8:pos + 8 + klen].decode()
        (t,) = struct.unpack_from("<I", data, pos + 8 + klen)
        end = skip(t, pos + 12 + klen)
        if key == "general.alignment":
            align = struct.unpack_from("<I", data, pos + 12 + klen)[0]
        kvs.append((key, s(key) + value(claims[key]) if key in claims else data[pos:end]))
        pos = end
    kvs += [(k, s(k) + value(v)) for k, v in claims.items() if k not in {x for x, _ in kvs}]
    t0 = pos
    for _ in range(n_tensors):
        nlen = struct.unpack_from("<Q", data, pos)[0]
        (nd,) = struct.unpack_from("<I", data, pos + 8 + nlen)
        pos += 8 + nlen + 4 + 8 * nd + 12
    tensors = data[t0:pos]
    old_start = (pos + align - 1) // align * align
    head = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + b"".join(b for _, b in kvs) + tensors
    dst.write_bytes(head + b"\0" * ((-len(head)) % align) + data[old_start:])
    return dst
