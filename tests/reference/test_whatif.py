"""``edgeprof predict --device`` / ``--require`` (issue 25): the two-term fit recovers what made the
rows, the host floor and the bandwidth term each dominate where they should, a class without rows
is extrapolated with a wider interval that says so, and ``--require`` keeps and ranks the right
devices. The device table's power modes and ids resolve as a user types them."""
from __future__ import annotations

import math
import random
from functools import lru_cache

import pytest

from edgeprof.analysis import specs, twoterm, whatif, whatif_predict
from edgeprof.analysis.whatif_types import DeviceClass, Estimate, PowerMode, Prediction, Row

BW = 400.0  # GB/s of the synthetic class


def _synthetic(a_s=0.002, eta=0.6, noise=0.05, seed=1, sizes=(0.8, 4.9, 9.0), per=6):
    rng = random.Random(seed)
    k = 1.0 / (eta * BW)
    xs, ys = [], []
    for x in sizes:
        for _ in range(per):
            xs.append(x)
            ys.append((a_s + k * x) * math.exp(rng.gauss(0, noise)))
    return xs, ys, k


def test_fit_recovers_known_parameters_from_synthetic_rows():
    xs, ys, k = _synthetic()
    weak = twoterm.Prior(0.004, 0.02, 1 / (0.5 * BW), 10 / (0.5 * BW), 0.3)
    f = twoterm.fit(xs, ys, weak)
    assert f.a_s == pytest.approx(0.002, rel=0.15)
    assert f.k == pytest.approx(k, rel=0.05)
    assert f.sigma < 0.12  # 5 % noise, shrunk towards the prior's 30 % by two pseudo-rows only
    lo, mid, hi = f.interval(2.0, 0.8)
    assert lo < 0.002 + k * 2.0 < hi and lo < mid < hi


def test_a_row_that_fell_back_to_the_cpu_does_not_widen_everything():
    xs, ys, _ = _synthetic(noise=0.03)
    clean = twoterm.fit(xs, ys, twoterm.Prior(0.004, 0.02, 0.005, 0.05, 0.3))
    bad = twoterm.fit(xs + [0.8], ys + [ys[0] * 10], twoterm.Prior(0.004, 0.02, 0.005, 0.05, 0.3))
    assert bad.weights[-1] < 0.2                       # the 10x row is down-weighted, kept
    assert bad.sigma < 2 * clean.sigma + 0.05          # and the spread stays that of the others


def _cls(cid="syn", fam="nvidia-gddr", bw=BW, **kw):
    return DeviceClass(cid, cid, fam, bandwidth_gbs=bw, compute_tflops=kw.pop("tf", 30.0), **kw)


def _rows(cid, xs, ys):
    return [Row(cid, x * 1e9, 2e9 * x, 1 / y, 2000.0, f"syn {i}") for i, (x, y) in enumerate(zip(xs, ys))]


def test_host_floor_dominates_a_tiny_model_and_bandwidth_a_large_one():
    xs, ys, _ = _synthetic()
    model = whatif.fit_model({"syn": _cls()}, _rows("syn", xs, ys))
    f = model.fits["syn"].decode
    tiny, large = 0.098, 9.0  # SmolLM2-135M (98 MB) and a 14B Q4_K_M (9 GB)
    assert f.a_s / f.value(tiny) > 0.6          # a per-token floor, not the roofline, sets a tiny model's speed
    assert f.k * large / f.value(large) > 0.6   # the bytes do for a large one
    roofline = BW / tiny
    est = whatif.phase_estimate(model, _cls(), "decode", tiny, 0.8)[0]
    assert est.hi < roofline / 5                # so it is never predicted at roofline speed


@lru_cache(maxsize=1)
def _packaged():
    from edgeprof.compare import whatif_rows
    from edgeprof.compare.refsets import load_sets

    sets = [s for s in load_sets("/nonexistent-user-dir") if s.meta.importer == "localscore"]
    rows = whatif_rows.localscore_rows(sets[0].records, specs.packaged_table())
    return rows, whatif.fit_model(rows.classes, rows.rows)


def test_real_rows_floor_and_bandwidth_regimes():
    rows, model = _packaged()
    f = model.fits["nvidia_rtx_3090"].decode
    assert f.n >= 30
    assert f.a_s / f.value(0.098) > 0.5 and f.k * 8.99 / f.value(8.99) > 0.5


def test_an_unknown_class_is_extrapolated_wider_and_says_so():
    rows, model = _packaged()
    jetson = specs.device_class(specs.resolve_device("orin-nano-super"))
    m4 = specs.device_class(next(r for r in specs.packaged_table() if r.id == "apple_m4"))  # 120 GB/s, has rows
    kw = dict(bytes_per_token=0.81e9, flop_per_token=2.48e9, prompt_tokens=128, gen_tokens=128)
    pj = whatif_predict.predict(model, jetson, **kw)
    pm = whatif_predict.predict(model, m4, **kw)
    assert pj.basis == "extrapolated" and pj.extrapolated and pm.basis == "fit"
    assert any("extrapolated" in n and "wider interval" in n for n in pj.notes)
    assert pj.neighbours and pj.rows  # it names the classes and rows it rests on
    assert math.log(pj.decode.hi / pj.decode.lo) > math.log(pm.decode.hi / pm.decode.lo)
    assert "LocalScore result" in pm.rows[0]


def _pred(name, decode, power, sd=0.2, fits=True):
    dev = DeviceClass(name, name, "jetson")
    est = Estimate(decode, decode * math.exp(-1.28 * sd), decode * math.exp(1.28 * sd), "tokens/s", 0.8, sd)
    mode = PowerMode(name, "m", power, None)
    return Prediction(dev, mode, est, None, None, None, power, "estimated", "fit", fits_memory=fits)


def test_require_filters_and_ranks():
    reqs = whatif_predict.parse_require("decode>=20, power<=10")
    preds = [_pred("fast-hot", 80, 25), _pred("ok", 30, 10), _pred("best", 60, 7), _pred("marginal", 21, 5),
             _pred("slow", 8, 5), _pred("no-power", 50, None), _pred("too-big", 90, 5, fits=False)]
    kept, left = whatif_predict.rank(preds, reqs)
    names = [p.device.name for p, _, _ in kept]
    assert names == ["best", "ok", "marginal"]           # probability first, then decode rate
    probs = [prob for _, prob, _ in kept]
    assert probs == sorted(probs, reverse=True) and probs[-1] < 0.7 and probs[0] > 0.99
    assert left == {"probability below 50%": 2, "cannot judge power<=10": 1, "model does not fit in memory": 1}
    with pytest.raises(whatif_predict.WhatIfError, match="METRIC>=N"):
        whatif_predict.parse_require("speed>=20")


def test_device_ids_and_power_modes_resolve_as_typed():
    assert specs.resolve_device("orin-nano-super").id == "jetson_orin_nano_8gb_super"
    assert specs.resolve_device("m4-max").id == "apple_m4_max"
    assert specs.resolve_device("H200").id == "nvidia_h200_sxm"
    assert specs.resolve_device("orin-nano-8gb").id == "jetson_orin_nano_8gb"  # the id less its prefix
    with pytest.raises(specs.DeviceIdError, match="jetson_orin_nano_4gb_super, jetson_orin_nano_8gb_super"):
        specs.resolve_device("nano-super")  # two boards: never a silent pick
    with pytest.raises(specs.DeviceIdError, match="--list-devices"):
        specs.resolve_device("commodore-64")
    assert specs.pick_mode("jetson_orin_nano_8gb_super", "25w").name == "25W"
    assert specs.pick_mode("jetson_orin_nano_8gb_super", None).default is True
    with pytest.raises(specs.DeviceIdError, match="15W, 25W, MAXN_SUPER"):
        specs.pick_mode("jetson_orin_nano_8gb_super", "60W")


def test_every_power_mode_names_its_source_and_one_default_per_board():
    by: dict[str, list] = {}
    for r in specs._csv_rows("devices", "power_modes.csv"):
        by.setdefault(r["device_id"], []).append(r)
        assert r["source_url"].startswith("https://") and "nvpmodel" in r["source_note"]
        assert float(r["peak_mem_bandwidth_gbs"]) > 0
    ids = {r.id for r in specs.packaged_table()}
    assert set(by) <= ids and len(by) == 10
    assert all(sum(m["default"] == "yes" for m in modes) == 1 for modes in by.values())


@pytest.mark.parametrize("name, expected", [
    ("Apple M3 Max 10P+4E+30GPU", "apple_m3_max_30gpu"), ("Apple M3 Max 12P+4E+40GPU", "apple_m3_max"),
    ("Apple M4 Max 10P+4E+32GPU", "apple_m4_max_32gpu"), ("Apple M1 4P+4E+8GPU", "apple_m1"), ("Apple M1", "apple_m1"),
    ("AMD Ryzen 9 5950X 16-Core Processor (znver3)", "amd_ryzen_9_5950x"), ("Radeon RX 7900 XTX", "amd_rx_7900_xtx"),
    ("11th Gen Intel Core i7-1185G7 @ 3.00GHz (tigerlake)", "intel_core_i7_1185g7"),
])
def test_localscore_names_find_the_new_rows(name, expected):
    row = specs.lookup(name)
    assert row is not None and row.id == expected and row.source_url


def test_cli_device_names_interval_energy_and_rows(home, capsys):
    from edgeprof.cli import main

    assert main(["predict", "--device", "orin-nano-super", "--power-mode", "25W", "smollm2-135m-instruct"]) == 0
    out = capsys.readouterr().out
    assert "@ 25W" in out and "80% interval" in out and "estimated, not measured" in out
    decode = next(line for line in out.splitlines() if line.startswith("| decode |")).split("|")
    lo, hi = (float(x) for x in decode[3].strip().split("–"))
    assert lo < float(decode[2]) < hi
    assert "| energy |" in out and "power-mode budget 25W" in out
    assert "EXTRAPOLATED" in out and "LocalScore result" in out
    assert "host floor ×" in out  # the mode's scaling is stated
    assert "e+" not in out and "parameters 134.5 M" in out  # figures read as numbers (was 2.82e+03, 1.35e+08)


def test_cli_require_lists_only_devices_meeting_it_best_first(home, capsys):
    from edgeprof.cli import main

    code = main(["predict", "--require", "decode>=20,power<=10", "llama-3.2-1b-instruct-q4_k_m", "-o", "csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and lines[0].startswith("device,mode,P(meets)")
    import csv as _csv

    rows = list(_csv.DictReader(lines))
    assert rows and all(float(r["power W"]) <= 10 and float(r["P(meets)"]) >= 0.5 for r in rows)
    probs = [float(r["P(meets)"]) for r in rows]
    assert probs == sorted(probs, reverse=True)
    assert any(r["id"].startswith("jetson_orin") for r in rows)
