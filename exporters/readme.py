"""The deployer ``README.md`` of an export directory (written beside ``manifest.json`` by
``manifest.write_manifest``): what each artifact is, its quality against the baseline, and how to
load it."""
from __future__ import annotations

import json
import shlex

from edgeprof.exporters.manifest import COMPRESSION_BASIS


def _snippet(a: dict) -> str:
    """Commands a deployer pastes: every file name is quoted (shlex), whatever the export named it."""
    main = a["main_file"]
    if a["format"] == "gguf":
        code = (f'import llama_cpp; llm = llama_cpp.Llama({json.dumps(main)}); '
                f'print(llm("Hello", max_tokens=32)["choices"][0]["text"])')
        return (f"    {shlex.join(['llama-cli', '-m', main, '-p', 'Hello', '-n', '64'])}\n"
                f"    {shlex.join(['python', '-c', code])}")
    code = f'import onnxruntime as ort; s = ort.InferenceSession({json.dumps(main)}); print([i.name for i in s.get_inputs()])'
    return (f"    {shlex.join(['python', '-c', code])}\n"
            f"    # inputs: input_ids, attention_mask, position_ids (optimum graphs only), past_key_values.N.key/value "
            f"(fp32, [1, kv_heads, past, head_dim]); outputs: logits, present.N.key/value")


def render_readme(m: dict) -> str:
    """A short deployer README: what each artifact is and how to load it."""
    lines = [f"# {m['model']['name']}: exported artifacts", "",
             f"Source: `{m['source']['path']}` ({m['baseline']['label']}), "
             f"{m['model']['params']:,} parameters, weights sha256 `{m['source']['weights_sha256'][:16]}…`.",
             f"Compression rate = {COMPRESSION_BASIS} ÷ artifact size. Quality: perplexity on the "
             f"bundled evaluation text (lower is better) next to the baseline's, and greedy-token "
             f"agreement with the baseline.", "",
             "| artifact | format | quant | size MiB | compression | perplexity | greedy agreement | quality |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    base = (m.get("quality_method") or {}).get("baseline") or {}
    if base.get("perplexity") is not None:  # the row every other one is measured against
        lines.append(f"| {m['baseline']['label']} (scored as {base.get('format')}) | source | | "
                     f"{m['baseline']['size_16bit_bytes'] / 2**20:.1f} (16-bit) | 1 (basis) | "
                     f"{base['perplexity']:.3f} | reference | reference |")
    for a in m["artifacts"]:
        q = a.get("quality") or {}
        ppl = f"{q['perplexity']:.3f}" if q.get("perplexity") is not None else "n/a"
        agree = f"{q['greedy_agreement']:.3f}" if q.get("greedy_agreement") is not None else "n/a"
        status = a.get("quality_status", "unchecked")
        lines.append(f"| `{a['path']}` | {a['format']} | {a['quant']} | {a['size_bytes'] / 2**20:.1f} | "
                     f"{a['compression_rate']:.2f}× | {ppl} | {agree} | {'**DEGRADED**' if status == 'degraded' else status} |")
    bad = [a for a in m["artifacts"] if a.get("quality_status") == "degraded"]
    if bad:
        lines += ["", "**Warning: degraded artifacts.** These failed the quality gate and were kept only because "
                  "the export was run with `--allow-degraded`; do not deploy them without checking:", ""]
        lines += [f"- `{a['path']}`: {'; '.join((a.get('quality_gate') or {}).get('failures') or [])}" for a in bad]
    lines += ["", "Quality gate: each artifact's perplexity ratio and greedy agreement must stay within the limits "
              "of its precision tier (`quality_method.gate` in `manifest.json`).", "", "## Loading", ""]
    for a in m["artifacts"]:
        lines += [f"**{a['path']}** ({a['runtime']}); every file it needs is inside its directory:", "",
                  _snippet(a), ""]
    lines += ["The ONNX files keep fp32 inputs/outputs for every scheme (fp16 casts inside the graph), "
              "so one InferenceSession loop with a KV cache runs them all. `manifest.json` lists every "
              "file with its sha256; `edgeprof bench <this directory>` benches all artifacts.", ""]
    return "\n".join(lines)
