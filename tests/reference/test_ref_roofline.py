"""Device specs lookup, the bandwidth/FLOP probe, and roofline metrics."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from refdata import make_record

from edgeprof.devices import probe
from edgeprof.analysis import roofline
from edgeprof.analysis import specs
from edgeprof.results.printers import roofline_text
from edgeprof.results.schema import DeviceRef

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name,mem,expected", [
    ("NVIDIA H100 80GB HBM3", None, "nvidia_h100_sxm"),
    ("NVIDIA H100 PCIe", None, "nvidia_h100_pcie"),
    ("NVIDIA GH200 480GB", None, "nvidia_gh200"),
    ("NVIDIA H200", None, "nvidia_h200_sxm"),
    ("NVIDIA A100-SXM4-80GB", None, "nvidia_a100_80gb_sxm"),
    ("NVIDIA Jetson Orin Nano Developer Kit", 7.6e9, "jetson_orin_nano_8gb"),
    ("NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super", 7.6e9, "jetson_orin_nano_8gb_super"),
    ("NVIDIA Jetson AGX Orin Developer Kit", 64e9, "jetson_agx_orin_64gb"),
    ("Jetson-AGX", None, "jetson_agx_xavier_32gb"),
    ("Apple M2 Pro", None, "apple_m2_pro"),
    ("Apple M1", None, "apple_m1"),
    ("Raspberry Pi 5 Model B Rev 1.0", None, "rpi5_8gb"),
    # the accelerators LocalScore's rows name most often (issue 10: their roofline read n/a)
    ("NVIDIA H100 NVL", 93e9, "nvidia_h100_nvl"), ("NVIDIA A100 80GB PCIe", 79e9, "nvidia_a100_80gb_pcie"),
    ("NVIDIA L40S", 45e9, "nvidia_l40s"), ("NVIDIA L40", 44e9, "nvidia_l40"), ("NVIDIA A10", 22e9, "nvidia_a10"),
    ("Tesla V100-SXM2-32GB", 32e9, "nvidia_v100_sxm2"), ("NVIDIA GeForce RTX 3090", 24e9, "nvidia_rtx_3090"),
    ("NVIDIA GeForce RTX 3090 Ti", 24e9, "nvidia_rtx_3090_ti"), ("NVIDIA GeForce RTX 3080", 12e9, "nvidia_rtx_3080_12gb"),
    ("NVIDIA GeForce RTX 3060", 8e9, "nvidia_rtx_3060_8gb"), ("Raspberry Pi 400 Rev 1.0", None, "rpi4"),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", 16e9, None),   # a laptop part is not its desktop namesake
    ("NVIDIA RTX A5000 Laptop GPU", 16e9, None),
    ("NVIDIA GeForce RTX 3060 Laptop GPU", 6e9, "nvidia_rtx_3060_laptop"),  # its own row (issue 25), not the desktop's
    ("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", None, None),
])
def test_lookup(name, mem, expected):
    row = specs.lookup(name, memory_bytes=mem)
    assert (row.id if row else None) == expected
    if row:
        assert row.source_url  # every row keeps its source


def test_derived_bandwidths_follow_their_stated_arithmetic():
    """A row whose bandwidth is derived says how (rate x width / 8), and the figure is that product."""
    import re

    derived = [r for r in specs.packaged_table() if "derived" in r.source_note]
    assert len(derived) >= 18
    for r in derived:
        m = re.search(r"([\d.]+) Gbps x (\d+)-bit / 8 = ([\d.]+) GB/s", r.source_note)
        if m:
            rate, bits, said = float(m[1]), int(m[2]), float(m[3])
            assert rate * bits / 8 == pytest.approx(said) == pytest.approx(r.peak_mem_bandwidth_gbs), r.id


def test_table_keeps_sources_and_numbers():
    rows = {r.id: r for r in specs.load_table()}
    h100 = rows["nvidia_h100_sxm"]
    assert h100.peak_mem_bandwidth_gbs == 3350 and h100.peak_fp16_tflops == 989 and h100.tdp_w == 700
    assert rows["jetson_agx_orin_64gb"].peak_fp16_tflops is None  # sparse only: left empty
    assert len(rows) == 119 and all(r.source_url for r in rows.values())


def test_probe_bandwidth_and_flops_have_provenance():
    bw = probe.bandwidth(array_bytes=1 << 20, repeats=2, threads=1)
    assert bw["value"] > 0 and bw["copy_gbs"] > 0 and bw["triad_gbs"] > 0 and bw["unit"] == "GB/s"
    p = bw["provenance"]
    assert p["kind"] == "measured" and p["array_bytes"] == 1 << 20 and p["threads"] == 1 and "STREAM" in p["method"]
    assert "cache" in p["note"]  # small arrays are labelled as such
    fl = probe.matmul_flops(n=64, repeats=1)
    assert fl["value"] > 0 and fl["provenance"]["kind"] == "measured"


def test_probe_storage_and_device_spec(home):
    result = {"measured_at": "2026-11-23T00:00:00+00:00", "bandwidth": {"value": 20.0, "provenance": {"method": "m"}},
              "flops": {"value": 0.3, "provenance": {"method": "mm"}}}
    path = specs.save_probe("cpu0:test-cpu", result)
    assert path.parent == home / "devices" and specs.load_probe("cpu0:test-cpu").bandwidth.value == 20.0
    sp = specs.device_spec(DeviceRef(id="cpu0:test-cpu", kind="cpu", name="Unknown CPU"))
    assert sp.peak_mem_bandwidth_gbs == 20.0 and sp.provenance["peak_mem_bandwidth_gbs"].kind == "measured"
    gpu = specs.device_spec(DeviceRef(id="nvidia0", kind="nvidia", name="NVIDIA H100 80GB HBM3"))
    assert gpu.provenance["peak_mem_bandwidth_gbs"].kind == "spec" and gpu.spec_id == "nvidia_h100_sxm"
    assert specs.device_spec(DeviceRef(id="x", kind="cpu", name="Unknown CPU")) is None


def test_roofline_metrics():
    rec = make_record(decode=[100.0, 110.0, 120.0], dims={"n_layers": 30, "n_kv_heads": 3, "head_dim": 64, "n_heads": 9})
    spec = specs.DeviceSpec(id="cpu0:x", peak_mem_bandwidth_gbs=20.0, peak_fp32_tflops=0.5,
                            provenance={"peak_mem_bandwidth_gbs": specs.Peak("measured", "edgeprof.devices.probe", ""),
                                        "peak_fp32_tflops": specs.Peak("measured", "edgeprof.devices.probe", "")})
    m = roofline.roofline_metrics(rec, spec)
    kv = 2 * 30 * 3 * 64 * 2 * (128 + 64)
    limit = 20e9 / (98362432 + kv)
    rf = m["roofline_fraction"]
    assert rf.median == pytest.approx(110 / limit) and rf.unit == "ratio" and rf.n == 3
    assert rf.provenance.kind == "derived" and "measured" in rf.provenance.note
    assert "KV" in rf.provenance.note
    cu = m["compute_utilization"]
    flops_tok = 2 * 134515008 + 4 * 30 * (128 + 64) * 9 * 64
    assert cu.median == pytest.approx(110 * flops_tok / 0.5e12)
    # spec row (no provenance block) → labelled spec, KV left out without dims, GPU int4 → int8 peak
    rec2 = make_record(decode=[1000.0], kind="nvidia", quant="q4_k_m")
    row = specs.lookup("NVIDIA H100 80GB HBM3")
    m2 = roofline.roofline_metrics(rec2, row)
    assert "spec: assets/devices/devices.csv row nvidia_h100_sxm" in m2["roofline_fraction"].provenance.note
    assert "NOT included" in m2["roofline_fraction"].provenance.note
    assert "peak_int8_tops" in m2["compute_utilization"].provenance.note
    assert roofline.roofline_metrics(make_record(), row) == {}  # no decode figure, nothing invented
    assert roofline.roofline_metrics(rec2, None) == {}


def test_import_rules():
    tree = ast.parse((ROOT / "devices" / "probe.py").read_text())
    mods = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("edgeprof") for m in mods)
    for name in ("compare", "predict", "reference"):
        top = ast.parse((ROOT / "edgeprof" / "commands" / f"{name}.py").read_text()).body
        imported = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module for n in top if isinstance(n, ast.ImportFrom)]
        assert set(imported) <= {"__future__", "argparse", "json", "os", "sys", "re", "shutil", "pathlib"}, name


def test_gguf_dims_and_cell():
    meta = {"general.architecture": "llama", "llama.block_count": 30, "llama.embedding_length": 576,
            "llama.attention.head_count": 9, "llama.attention.head_count_kv": 3}
    assert roofline.model_dims_from_gguf(meta) == {"n_layers": 30, "n_heads": 9, "n_kv_heads": 3, "head_dim": 64}
    assert roofline.model_dims_from_gguf({}) == {}
    rec = make_record(decode=[100.0, 110.0], kind="nvidia")
    m = roofline.roofline_metrics(rec, specs.lookup("NVIDIA H100 80GB HBM3"))
    assert roofline_text(m).startswith("0% of BW roofline (spec nvidia_h100_sxm)")
    assert roofline_text({}).startswith("n/a")
    rec = make_record(decode=[100.0])
    m = roofline.roofline_metrics(rec, specs.DeviceSpec(peak_mem_bandwidth_gbs=20.0, provenance={
        "peak_mem_bandwidth_gbs": specs.Peak("measured", "edgeprof.devices.probe", "")}))
    # a probe stored without its date, quality or load says so in the cell (issue 13)
    assert roofline_text(m) == f"{100 / (20e9 / 98362432):.0%} of BW roofline (measured, probe (date and quality unknown))"


def test_a_share_above_its_limit_is_withheld_with_the_reason():
    """Compute utilization of 835 % (an int8 path against an fp32 peak, or a probe on a busy machine)
    is not a figure: it is withheld, and the warning says what it read and which limit is too low."""
    from edgeprof.analysis.roofline import make_metric
    from edgeprof.results.schema import Provenance

    prov = Provenance("derived", "FLOP/inference x inferences_per_s ÷ peak FLOP/s", "inference", note="peak_fp32_tflops 0.1e12")
    ok = make_metric([0.31, 0.33, 0.35], "ratio", prov)
    bad = make_metric([8.2, 8.35, 8.4], "ratio", prov)
    kept, why = roofline.withhold_impossible({"roofline_fraction": ok, "compute_utilization": bad})
    assert list(kept) == ["roofline_fraction"] and kept["roofline_fraction"] is ok
    (line,) = why
    assert line.startswith("compute_utilization withheld: it read 835% of its limit") and "int8" in line
    assert roofline.withhold_impossible({"compute_utilization": ok}) == ({"compute_utilization": ok}, [])
