"""LocalScore's public results as reference records: the loader behind the packaged ``localscore``
set and ``edgeprof reference import localscore FILE.tsv`` (one loader for both, so a newer export
is checked exactly as the shipped one).

Why every row keeps its result id, page URL, accelerator, host CPU, OS and date: these are
unverified public submissions, and a ratio against one is only as good as the reader's ability to
open that result and judge it. Each row is the LocalScore *summary* (means over its nine tests),
so its workload is the suite ``localscore`` with no per-case prompt/gen: it matches an edge run's
suite summary, never a single case. A malformed row is rejected with its line number.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path
from typing import Any, Mapping

from edgeprof.compare.identity import norm, quant_name
from edgeprof.compare.setmeta import FileFacts, ModelFacts, read_model_facts
from edgeprof.errors import UsageError
from edgeprof.results.schema import (ArtifactInfo, DeviceRef, Metric, ModelInfo, Provenance, Record,
                                     ResolvedPlacement, RuntimeInfo, Workload)

COLUMNS = ("test_num", "test_date", "gen_tps", "ttft", "ttft_unit", "prompt_tps", "localscore", "model_name",
           "model_quant", "model_params", "model_params_unit", "accel_name", "accel_type", "accel_group", "accel_ram",
           "accel_ram_unit", "system_cpu", "system_ram", "system_ram_unit", "system_os")
URL = "https://www.localscore.ai/result/{}"
RUNTIME_LABEL = "llamafile (version not published)"
_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9}
_RAM = {"GB": 1e9, "MB": 1e6, "TB": 1e12}
_DATACENTER = re.compile(r"\b(h100|h200|gh200|b100|b200|a100|a10|a30|a40|l4|l40s?|t4|v100|p100|mi\d{3}x?)\b", re.I)
_APPLE_CORES = re.compile(r"\s+\d+P\+\d+E(\+\d+GPU)?$")
#: bounds on what a row may hold (an export is untrusted input): a result id of at most 18 ASCII
#: digits, numbers up to 1e9 in their column's unit, memory up to 1 EiB, fields up to 4 KiB
MAX_ID_DIGITS = 18
MAX_NUMBER = 1e9
MAX_BYTES = 2**60
MAX_FIELD = 4096


class LocalScoreError(UsageError):
    """A malformed LocalScore export (the message names the file, the line and the fix)."""


def role(accel_name: str, accel_type: str, accel_group: str) -> str:
    """What kind of machine a row is, for picking the rows a user wants to see: datacenter-gpu,
    jetson, rpi, apple, cpu, gpu (desktop/laptop), other."""
    n = accel_name.lower()
    if "orin" in n or "jetson" in n or "tegra" in n:
        return "jetson"
    if "raspberry pi" in n:
        return "rpi"
    if accel_group.lower().startswith("apple") or n.startswith("apple"):
        return "apple"
    if accel_type.upper() == "CPU" or accel_group.lower().endswith("cpu"):
        return "cpu"
    if _DATACENTER.search(n):
        return "datacenter-gpu"
    return "gpu" if accel_type.upper() == "GPU" else "other"


def spec_name(accel_name: str) -> str:
    """The accelerator name as ``devices.csv`` matches it ("Apple M1 4P+4E+8GPU" -> "Apple M1")."""
    return _APPLE_CORES.sub("", accel_name.strip())


def _num(row: dict[str, str], col: str, where: str, empty_ok: bool = False) -> float | None:
    text = (row.get(col) or "").strip()
    if not text and empty_ok:
        return None
    try:
        v = float(text)
    except ValueError:
        raise LocalScoreError(f"{where}: column {col} is {text[:40]!r}, not a number; fix or drop that row") from None
    if not math.isfinite(v) or v < 0 or v > MAX_NUMBER:
        raise LocalScoreError(f"{where}: column {col} is {text[:40]!r}, not a number in [0, {MAX_NUMBER:g}]; fix or "
                              f"drop that row")
    return v


def _read_record(row: dict[str, str], where: str, models: Mapping[str, ModelFacts]) -> Record:
    """One TSV row (column name -> text) read into a reference record, every field checked."""
    rid = row["test_num"].strip()
    if not (rid.isascii() and rid.isdigit()) or len(rid) > MAX_ID_DIGITS:
        raise LocalScoreError(f"{where}: test_num {rid[:40]!r} is not a result id (an integer of at most "
                              f"{MAX_ID_DIGITS} digits); fix or drop that row")
    long = next((c for c, v in row.items() if len(v) > MAX_FIELD), None)
    if long is not None:
        raise LocalScoreError(f"{where}: column {long} holds {len(row[long]):,} characters (at most {MAX_FIELD:,}); "
                              f"fix or drop that row")
    ctl = next((c for c, v in row.items() if not v.strip("\r").isprintable()), None)
    if ctl is not None:  # a NUL, an escape sequence for the terminal that prints the name
        raise LocalScoreError(f"{where}: column {ctl} holds a control character; fix or drop that row")
    try:
        when = dt.datetime.strptime(row["test_date"].strip(), "%Y.%m.%d %H:%M:%S").isoformat()
    except ValueError:
        raise LocalScoreError(f"{where}: test_date {row['test_date'][:40]!r} is not 'YYYY.MM.DD HH:MM:SS'") from None
    if row["ttft_unit"].strip() != "ms":
        raise LocalScoreError(f"{where}: ttft_unit {row['ttft_unit'][:20]!r} is not 'ms' (the only unit this loader "
                              f"reads)")
    unit = row["model_params_unit"].strip().upper()
    if unit not in _UNITS:
        raise LocalScoreError(f"{where}: model_params_unit {unit[:20]!r} is not one of {', '.join(_UNITS)}")
    name = row["model_name"].strip()
    if not name:
        raise LocalScoreError(f"{where}: model_name is empty")
    gen, prompt, score = (_num(row, c, where) for c in ("gen_tps", "prompt_tps", "localscore"))
    ttft, params_shown = _num(row, "ttft", where), _num(row, "model_params", where) * _UNITS[unit]
    ram = _num(row, "accel_ram", where, empty_ok=True)
    ram_unit = _RAM.get(row["accel_ram_unit"].strip().upper(), 1e9)
    if ram and ram * ram_unit > MAX_BYTES:
        raise LocalScoreError(f"{where}: accel_ram {ram:g} {row['accel_ram_unit'].strip()[:8]} is more than 1 EiB; fix "
                              f"or drop that row")
    quant = quant_name(row["model_quant"])
    known = models.get(norm(name)) or ModelFacts()
    file_info = known.files.get(quant) or FileFacts()
    url = URL.format(rid)
    prov = Provenance("reference", f"LocalScore result {rid} ({url})",
                      f"{row['accel_type'].strip() or '?'} {row['accel_name'].strip() or '(unnamed accelerator)'}",
                      note=f"UNVERIFIED public submission; mean over LocalScore's nine tests; runtime {RUNTIME_LABEL}")
    metrics = {m: Metric(v, u, prov) for m, v, u in (("prefill_tokens_per_s", prompt, "tokens/s"),
                                                      ("decode_tokens_per_s", gen, "tokens/s"),
                                                      ("ttft_ms", ttft, "ms"), ("localscore", score, "score"))}
    accel = row["accel_name"].strip() or "(unnamed accelerator)"
    rl = role(accel, row["accel_type"].strip(), row["accel_group"].strip())
    return Record(
        case_id=f"localscore/{rid}", status="ok", host=row["system_cpu"].strip() or None, started_at=when,
        model=ModelInfo(norm(name), name, known.params or params_shown,
                        extra={"params_published": params_shown, "params_basis": known.params_basis if
                               known.params_basis is not None else
                               "as the LocalScore site shows it (may be rounded or wrong)"}),
        artifact=ArtifactInfo(None, "gguf", quant, file_info.size_bytes,
                              extra={"file_type_name": row["model_quant"].strip(),
                                     **({"size_basis": file_info.basis} if file_info.basis else {})}),
        runtime=RuntimeInfo("llamafile", None, ResolvedPlacement.from_dict({"accel_type": row["accel_type"].strip()}),
                            extra={"label": RUNTIME_LABEL}),
        device=DeviceRef(f"localscore:{norm(accel)}", {"datacenter-gpu": "nvidia", "gpu": "gpu"}.get(rl, rl), accel,
                         int(ram * ram_unit) if ram else None,
                         extra={"role": rl, "accel_group": row["accel_group"].strip(), "spec_name": spec_name(accel),
                                "os": row["system_os"].strip(), "system_ram_gb": _num(row, "system_ram", where, True)}),
        workload=Workload(None, None, None, 1, suite="localscore", extra={"suite_version": 1}),
        metrics=metrics,
        extra={"result_id": int(rid), "url": url, "verification_status": "UNVERIFIED-PUBLIC-SUBMISSION"})


def read_tsv(path: str | Path, models: Mapping[str, Any] | None = None) -> list[Record]:
    """Every row of a LocalScore TSV export as a reference record; raises on the first malformed
    row with ``FILE:LINE``. ``models`` (the set's ``models`` block) supplies real parameter counts
    and file sizes the site does not publish, each with its basis."""
    path = Path(path)
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise LocalScoreError(f"cannot read {path}: {exc.strerror}; pass a LocalScore .tsv export") from None
    with fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            return _rows(reader, path, read_model_facts(models))
        except UnicodeDecodeError as exc:
            raise LocalScoreError(f"{path}: not UTF-8 text (near line {reader.line_num + 1}: {exc.reason}); pass the "
                                  f"export as LocalScore serves it") from None
        except csv.Error as exc:  # a NUL byte, a field over the csv module's 128 KiB limit
            raise LocalScoreError(f"{path}:{reader.line_num + 1}: unreadable ({str(exc)[:80]}); fix or drop that "
                                  f"row") from None


def _rows(reader, path: Path, models: Mapping[str, ModelFacts]) -> list[Record]:
    out, seen = [], set()
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise LocalScoreError(f"{path}:1: header is not LocalScore's ({', '.join(COLUMNS[:4])}, ...); pass the "
                              f"tab-separated export with its header line")
    for fields in reader:
        where = f"{path}:{reader.line_num}"
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            raise LocalScoreError(f"{where}: {len(fields)} tab-separated fields, expected {len(COLUMNS)}; "
                                  f"fix or drop that row")
        rec = _read_record(dict(zip(COLUMNS, fields)), where, models)
        if rec.case_id in seen:
            raise LocalScoreError(f"{where}: result id {rec.extra['result_id']} appears twice; keep one row")
        seen.add(rec.case_id)
        out.append(rec)
    if not out:
        raise LocalScoreError(f"{path}: no result rows after the header")
    return out


def row_offsets(path: str | Path) -> list[int]:
    """The byte offset of every row ``read_tsv`` returns, in its order: lines are split as the
    reader splits them (``\\r\\n``, ``\\r`` or ``\\n``), the header and blank lines left out. What
    the set's row index (``refindex.py``) stores, so matching reads only the rows it needs."""
    data = Path(path).read_bytes()
    out, header = [], True
    for m in re.finditer(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", data):
        if header:
            header = False
            continue
        if any(f.strip() for f in m.group().decode("utf-8").rstrip("\r\n").split("\t")):
            out.append(m.start())
    return out


def read_row(fh, offset: int, path: Path, models: Mapping[str, Any] | None = None) -> Record:
    """The row at ``offset`` of an export opened in binary (``fh``), read as ``read_tsv`` reads it."""
    fh.seek(offset)
    line = fh.readline(64 * MAX_FIELD)
    line = re.split(rb"[\r\n]", line, maxsplit=1)[0]
    where = f"{path} (byte {offset})"
    try:
        fields = next(csv.reader([line.decode("utf-8")], delimiter="\t", quoting=csv.QUOTE_NONE), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LocalScoreError(f"{where}: unreadable ({str(exc)[:80]})") from None
    if len(fields) != len(COLUMNS):
        raise LocalScoreError(f"{where}: {len(fields)} tab-separated fields, expected {len(COLUMNS)}")
    return _read_record(dict(zip(COLUMNS, fields)), where, read_model_facts(models))
