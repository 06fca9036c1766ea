#!/usr/bin/env python3
"""Collects the outputs of scripts/gpu-check.sh into <dir>/results.json and <dir>/results.md.

Reads (each optional; a missing or failed part shows as "missing"): bench_ours.jsonl
(bench/gpu_llama), bench_hf.jsonl (hf_bench.py), bench_kernels.jsonl (bench/gpu_kernels),
parity.json (parity.py), ctest.log, device.txt. Puts ours beside transformers/PEFT per row and
checks the issue-7 targets. --self-test builds a report from synthetic inputs in a temp folder.
"""
import argparse
import json
import os
import re
import sys
import tempfile


def read_jsonl(path):
    rows = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def pick(rows, bench, **match):
    for r in rows:
        if r.get("bench") == bench and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def fmt(x, nd=1):
    return "missing" if x is None else (f"{x:,.{nd}f}" if isinstance(x, float) else f"{x:,}")


def build(d, seconds, status):
    ours, hf = read_jsonl(os.path.join(d, "bench_ours.jsonl")), read_jsonl(os.path.join(d, "bench_hf.jsonl"))
    kern = read_jsonl(os.path.join(d, "bench_kernels.jsonl"))
    parity = read_jsonl(os.path.join(d, "parity.json"))
    parity = parity[0] if parity else None
    peak = (pick(ours, "gpu_peak") or {}).get("tflops")
    res = {"seconds": seconds, "status": status, "peak_bf16_tflops": peak, "rows": [],
           "parity": parity, "kernels": kern, "targets": {},
           "profiles": [r for r in ours if r.get("bench") == "gpu_profile"]}
    ctest = os.path.join(d, "ctest.log")
    if os.path.exists(ctest):
        m = re.search(r"(\d+)% tests passed(, (\d+) tests failed)? out of (\d+)",
                      open(ctest).read())
        res["ctest"] = m.group(0) if m else "no summary"
    if os.path.exists(os.path.join(d, "device.txt")):
        res["device"] = open(os.path.join(d, "device.txt")).read().strip()

    def row(name, o, h, key="tokens_per_s"):
        ov, hv = (o or {}).get(key), (h or {}).get(key)
        r = {"what": name, "ours": ov, "hf": hv,
             "speedup": (ov / hv) if ov and hv else None}
        res["rows"].append(r)
        return r

    dec = {}
    for b in (1, 32):
        dec[b] = row(f"decode tokens/s, batch {b}", pick(ours, "gpu_decode", batch=b),
                     pick(hf, "hf_decode", batch=b))
    row("prefill tokens/s (4 x 512)", pick(ours, "gpu_prefill"), pick(hf, "hf_prefill"))
    tr = row("LoRA r=16 training tokens/s (4 x 512)", pick(ours, "gpu_lora_train"),
             pick(hf, "hf_lora_train"))
    o_tr, h_tr = pick(ours, "gpu_lora_train"), pick(hf, "hf_lora_train")
    res["mfu_ours"] = (o_tr or {}).get("mfu")
    res["mfu_hf"] = (h_tr["tflops"] / peak) if h_tr and peak else None
    d1 = pick(ours, "gpu_decode", batch=1)
    if d1 and d1.get("hbm_bound_steps_per_s"):
        res["decode_b1_of_bound"] = d1["steps_per_s"] / d1["hbm_bound_steps_per_s"]
    nopdl = pick(read_jsonl(os.path.join(d, "bench_ours_nopdl.jsonl")), "gpu_decode", batch=1)
    if nopdl and nopdl.get("hbm_bound_steps_per_s"):
        res["decode_b1_no_pdl"] = {"tokens_per_s": nopdl["tokens_per_s"],
                                   "of_bound": nopdl["steps_per_s"] / nopdl["hbm_bound_steps_per_s"]}
    lg = next((k for k in kern if k.get("bench") == "gpu_lora_grouped"), None)
    res["targets"] = {
        "decode b1 >= 80% of HBM bound": (d1["steps_per_s"] >= 0.8 * d1["hbm_bound_steps_per_s"]) if d1 else None,
        "decode b1 ahead of transformers": (dec[1]["speedup"] > 1.0) if dec[1]["speedup"] else None,
        "LoRA MFU >= 40% of measured peak": (res["mfu_ours"] >= 0.4) if res["mfu_ours"] else None,
        "LoRA tokens/s >= 1.5x PEFT": (tr["speedup"] >= 1.5) if tr["speedup"] else None,
        "grouped LoRA, 32 adapters <= 1.3x one": (lg["ratio_32_vs_1"] <= 1.3) if lg else None,
        "parity": parity["ok"] if parity else None,
    }
    return res


def markdown(res):
    yes = {True: "yes", False: "NO", None: "not measured"}
    lines = ["# GPU check results", "",
             f"- device: {res.get('device', 'unknown')}",
             f"- ctest -L gpu: {res.get('ctest', 'missing')}",
             f"- measured bf16 cuBLAS peak: {fmt(res['peak_bf16_tflops'])} TFLOP/s",
             f"- wall time: {res['seconds']} s, status {res['status']}", "",
             "| measure (Llama 2 7B shape, bf16) | ours | transformers/PEFT | ours / theirs |",
             "| --- | ---: | ---: | ---: |"]
    for r in res["rows"]:
        lines.append(f"| {r['what']} | {fmt(r['ours'])} | {fmt(r['hf'])} | "
                     f"{fmt(r['speedup'], 2) if r['speedup'] else 'missing'} |")
    lines.append(f"| LoRA training MFU (4N + attention FLOPs / measured peak) | "
                 f"{fmt(res['mfu_ours'], 3)} | {fmt(res['mfu_hf'], 3)} | |")
    if res.get("decode_b1_of_bound") is not None:
        lines.append(f"\nDecode at batch 1: {res['decode_b1_of_bound']:.3f} of the HBM bound "
                     "(steps/s over bandwidth / weight bytes).")
    if res.get("decode_b1_no_pdl"):
        n = res["decode_b1_no_pdl"]
        lines.append(f"Without programmatic dependent launch (WB_CUDA_PDL=0): "
                     f"{n['tokens_per_s']:,.1f} tokens/s, {n['of_bound']:.3f} of the bound.")
    lines += ["", "| issue 7 target | met |", "| --- | --- |"]
    lines += [f"| {k} | {yes[v]} |" for k, v in res["targets"].items()]
    p = res["parity"]
    if p:
        lines += ["", "## Parity with transformers/PEFT (small random Llama, GQA, LoRA r=8)", "",
                  "| dtype | logits rel err | loss ours / ref | max LoRA grad rel err | greedy equal | ok |",
                  "| --- | ---: | --- | ---: | --- | --- |"]
        for r in p["results"]:
            lines.append(f"| {r['dtype']} | {r['logits_rel_err']:.2e} | {r['loss_ours']:.5f} / "
                         f"{r['loss_ref']:.5f} | {max(r['grad_rel_err'].values()):.2e} | "
                         f"{r['greedy_ours'] == r['greedy_ref']} | {r['ok']} |")
        lines.append(f"\nHF's own bf16-vs-fp32 logits error: {p['hf_bf16_logits_rel_err']:.2e}")
    for prof in res.get("profiles", []):
        ms = prof.get("ms", {})
        per = "per decode step" if prof.get("phase") == "decode" else "per training step"
        lines += ["", f"## Where the time goes: {prof.get('phase')} ({per}, "
                      f"{prof.get('total_ms', 0):.2f} ms, eager, cudaEvents)", "",
                  "| section | ms |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.3f} |" for k, v in sorted(ms.items(), key=lambda kv: -kv[1])]
    extra = [k for k in res["kernels"] if k.get("bench") in ("gpu_gemv", "gpu_attention")]
    if extra:
        lines += ["", "## Kernels", ""] + ["    " + json.dumps(k) for k in extra]
    return "\n".join(lines) + "\n"


def write(d, seconds, status):
    res = build(d, seconds, status)
    json.dump(res, open(os.path.join(d, "results.json"), "w"), indent=2)
    open(os.path.join(d, "results.md"), "w").write(markdown(res))
    return res


def self_test():
    with tempfile.TemporaryDirectory() as d:
        def put(name, rows):
            with open(os.path.join(d, name), "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
        put("bench_ours.jsonl", [
            {"bench": "gpu_peak", "tflops": 700.0},
            {"bench": "gpu_decode", "batch": 1, "tokens_per_s": 150.0, "steps_per_s": 160.0,
             "hbm_bound_steps_per_s": 190.0},
            {"bench": "gpu_decode", "batch": 32, "tokens_per_s": 3000.0},
            {"bench": "gpu_prefill", "tokens_per_s": 20000.0},
            {"bench": "gpu_lora_train", "tokens_per_s": 6000.0, "mfu": 0.3}])
        put("bench_hf.jsonl", [{"bench": "hf_decode", "batch": 1, "tokens_per_s": 30.0},
                               {"bench": "hf_lora_train", "tokens_per_s": 5000.0, "tflops": 140.0}])
        put("ctest.log", ["x"])
        open(os.path.join(d, "ctest.log"), "w").write("100% tests passed, 0 tests failed out of 48\n")
        res = write(d, 100, 0)
        assert res["rows"][0]["speedup"] == 5.0
        assert res["rows"][1]["hf"] is None and res["rows"][1]["speedup"] is None
        assert res["targets"]["decode b1 >= 80% of HBM bound"] is True
        assert res["targets"]["LoRA tokens/s >= 1.5x PEFT"] is False
        assert abs(res["mfu_hf"] - 0.2) < 1e-9
        md = open(os.path.join(d, "results.md")).read()
        assert "| decode tokens/s, batch 1 | 150.0 | 30.0 | 5.00 |" in md, md
        assert "ctest -L gpu: 100% tests passed" in md
    print("report.py self-test passed")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="gpu-results")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        sys.exit(self_test())
    write(a.dir, a.seconds, a.status)
    print(open(os.path.join(a.dir, "results.md")).read())
