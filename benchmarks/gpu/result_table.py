#!/usr/bin/env python3
"""One table of SpatialNet's and PyTorch's training-step benchmarks, with ratios (ours / PyTorch).

Reads the RESULT lines that benchmarks/SpatialNet.Benchmarks (impl=spatialnet-...) and
benchmarks/reference/vit_train_bench.py (impl=pytorch-...) print, from files or standard input,
ignoring every other line, and prints a Markdown table:

  python3 benchmarks/gpu/result_table.py results.log
  python3 benchmarks/gpu/result_table.py --self-test

Each SpatialNet run is compared with the PyTorch run of the same device and batch whose precision
corresponds (fp32 with fp32; our bf16 mixed precision and the pure-bf16 TorchSharp loop with
PyTorch's pure bf16); PyTorch's autocast run is listed against our bf16 mixed precision too. The
targets are the project's (paper configuration on an H100). Caption-decoding runs (impl=spatialnet-...-decode,
from `spatialnet-benchmarks --decode`) have no PyTorch counterpart; they get a table of their own
below, with the cached variant's speed-up over the uncached one of the same configuration.
"""
import argparse
import sys

# (our precision, batch) -> minimum ratio of img/s, from the performance targets (docs/performance.md).
TARGETS = {("bf16-mixed", 32): 1.0, ("bf16-mixed", 128): 1.1, ("fp32", 32): 1.0}
# Our precision -> the PyTorch precision it is compared with.
COUNTERPART = {"fp32": "fp32", "bf16-mixed": "bf16-pure", "bf16-pure": "bf16-pure"}
PEAK_TFLOPS = 790.0  # bf16 dense peak used for the "% of peak" column


def parse(lines):
    """RESULT lines -> list of dicts (key=value pairs; numbers as float where they parse)."""
    runs = []
    for line in lines:
        line = line.strip()
        if not line.startswith("RESULT "):
            continue
        run = {}
        for field in line[len("RESULT "):].split():
            if "=" not in field:
                continue
            key, value = field.split("=", 1)
            try:
                run[key] = float(value)
            except ValueError:
                run[key] = value
        if "impl" in run and "batch" in run:
            run["batch"] = int(run["batch"])
            runs.append(run)
    return runs


def is_ours(run):
    impl = str(run["impl"])
    return impl.startswith("spatialnet-") and not impl.endswith(("-soak", "-pipeline", "-decode")) and "img_s" in run


def is_decode(run):
    return str(run["impl"]).endswith("-decode") and "ms_per_batch" in run


def is_reference(run):
    return str(run["impl"]).startswith("pytorch-") and "img_s" in run


def fmt(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def rows(runs):
    """Table rows: one per SpatialNet run, then PyTorch runs that no SpatialNet run was compared with."""
    ours = [r for r in runs if is_ours(r)]
    refs = [r for r in runs if is_reference(r)]
    used = set()
    out = []

    def find(device, batch, precision):
        for i, r in enumerate(refs):
            if r.get("device") == device and r["batch"] == batch and r.get("precision") == precision:
                return i, r
        return None, None

    for r in ours:
        precision = r.get("precision")
        i, ref = find(r.get("device"), r["batch"], COUNTERPART.get(precision))
        if i is not None:
            used.add(i)
        target = TARGETS.get((precision, r["batch"])) if r.get("optimizer", "flat") == "flat" else None
        out.append(row(r, ref, target))
    for i, ref in enumerate(refs):
        if i in used:
            continue
        # E.g. PyTorch autocast: compare with our bf16 mixed precision at that batch, if we ran it.
        match = next((r for r in ours if r.get("device") == ref.get("device") and r["batch"] == ref["batch"]
                      and r.get("precision") == "bf16-mixed" and r.get("optimizer", "flat") == "flat"), None)
        out.append(row(match, ref, None))
    return out


def row(ours, ref, target):
    ratio = ours["img_s"] / ref["img_s"] if ours is not None and ref is not None and ref["img_s"] > 0 else None
    base = ours if ours is not None else ref
    verdict = "" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
    return {
        "config": f"{base.get('device', '?')} b{base['batch']}",
        "ours": "—" if ours is None else f"{ours.get('precision')} ({ours.get('optimizer', 'flat')})",
        "ours_img_s": fmt(None if ours is None else ours["img_s"]),
        "ours_tflops": fmt(None if ours is None else ours.get("tflops"), 2),
        "ours_pct": fmt(None if ours is None or ours.get("precision") == "fp32" or ours.get("device") != "cuda"
                        else 100 * ours.get("tflops", 0) / PEAK_TFLOPS),
        "ours_mem": fmt(None if ours is None else ours.get("mem_mib"), 0),
        "ref": "—" if ref is None else str(ref.get("precision")),
        "ref_img_s": fmt(None if ref is None else ref["img_s"]),
        "ref_tflops": fmt(None if ref is None else ref.get("tflops"), 2),
        "ref_mem": fmt(None if ref is None else ref.get("mem_mib"), 0),
        "ratio": "—" if ratio is None else f"{ratio:.2f}",
        "target": "—" if target is None else f"≥ {target:.1f}",
        "met": verdict,
    }


HEADER = ["config", "SpatialNet", "img/s", "TFLOP/s", "% of 790", "MiB",
          "PyTorch", "img/s", "TFLOP/s", "MiB", "ratio", "target", "met"]
KEYS = ["config", "ours", "ours_img_s", "ours_tflops", "ours_pct", "ours_mem",
        "ref", "ref_img_s", "ref_tflops", "ref_mem", "ratio", "target", "met"]


DECODE_KEY = ("device", "precision", "batch", "beam", "max_len")


def decode_rows(runs):
    """One row per decoding run; a cached run's speed-up = uncached ms per batch ÷ cached, for the next
    uncached run of the same configuration (the benchmark prints the two of one invocation in that order)."""
    decodes = [r for r in runs if is_decode(r)]
    out = []
    for i, r in enumerate(decodes):
        key = tuple(r.get(k) for k in DECODE_KEY)
        off = next((x for x in decodes[i + 1:] if x.get("cache") == "off" and tuple(x.get(k) for k in DECODE_KEY) == key), None)
        speedup = None
        if r.get("cache") == "on" and off is not None and r["ms_per_batch"] > 0:
            speedup = off["ms_per_batch"] / r["ms_per_batch"]
        out.append({
            "config": f"{r.get('device', '?')} b{r['batch']} beam {r.get('beam', 0):g} L {r.get('max_len', 0):g}",
            "precision": str(r.get("precision", "?")),
            "cache": str(r.get("cache", "?")),
            "img_s": fmt(r.get("img_s"), 2),
            "ms_per_batch": fmt(r.get("ms_per_batch"), 2),
            "ms_per_token": fmt(r.get("ms_per_token"), 4),
            "mem": fmt(r.get("mem_mib"), 0),
            "speedup": "—" if speedup is None else f"{speedup:.1f}×",
            "identical": str(r.get("ids_identical", "?")),
        })
    return out


DECODE_HEADER = ["caption decoding", "precision", "cache", "img/s", "ms per batch", "ms per token", "MiB", "cached speed-up", "ids identical"]
DECODE_KEYS = ["config", "precision", "cache", "img_s", "ms_per_batch", "ms_per_token", "mem", "speedup", "identical"]


def table(runs):
    lines = []
    training = rows(runs)
    if training:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
        for r in training:
            lines.append("| " + " | ".join(r[k] for k in KEYS) + " |")
        impls = sorted({str(r["impl"]) for r in runs if is_ours(r) or is_reference(r)})
        lines.append("")
        lines.append("ratio = SpatialNet img/s ÷ PyTorch img/s on the same machine; implementations: " + ", ".join(impls))
    extra = [r for r in runs if str(r["impl"]).endswith(("-pipeline", "-soak"))]
    for r in extra:
        lines.append("also: " + " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
    decoding = decode_rows(runs)
    if decoding:
        if lines:
            lines.append("")
        lines.append("| " + " | ".join(DECODE_HEADER) + " |")
        lines.append("|" + "|".join(" --- " for _ in DECODE_HEADER) + "|")
        for r in decoding:
            lines.append("| " + " | ".join(r[k] for k in DECODE_KEYS) + " |")
    return "\n".join(lines)


SAMPLE = """\
noise line that is ignored
RESULT impl=spatialnet-0.1.0 device=cuda precision=fp32 optimizer=flat batch=32 img_s=560.0 step_ms=57.14 tflops=35.71 mem_mib=9000 live_tensors=400 input=fixed
RESULT impl=spatialnet-0.1.0 device=cuda precision=bf16-mixed optimizer=flat batch=32 img_s=1900.0 step_ms=16.84 tflops=121.17 pct_peak=15.3 mem_mib=5000 live_tensors=420 input=fixed
RESULT impl=spatialnet-0.1.0 device=cuda precision=bf16-mixed optimizer=flat batch=128 img_s=3300.0 step_ms=38.79 tflops=210.45 pct_peak=26.6 mem_mib=17000 live_tensors=420 input=fixed
RESULT impl=pytorch-2.11.0+cu130 device=cuda precision=fp32 batch=32 img_s=551.0 step_ms=58.08 tflops=35.14 peak_mib=8800 mem_mib=9100
RESULT impl=pytorch-2.11.0+cu130 device=cuda precision=bf16-pure batch=32 img_s=1866.0 step_ms=17.15 tflops=119.0 peak_mib=4500 mem_mib=4800
RESULT impl=pytorch-2.11.0+cu130 device=cuda precision=bf16-pure batch=128 img_s=3162.0 step_ms=40.48 tflops=201.6 peak_mib=16000 mem_mib=16500
RESULT impl=pytorch-2.11.0+cu130 device=cuda precision=bf16-amp batch=32 img_s=1054.0 step_ms=30.36 tflops=67.2 peak_mib=7000 mem_mib=7400
RESULT impl=spatialnet-0.1.0-pipeline device=cuda precision=bf16-mixed batch=32 pipeline_img_s=60000.0 prefetch_img_s=58000.0 model_img_s=1900.0 ratio=31.58
RESULT impl=spatialnet-0.1.0-decode device=cuda precision=bf16 batch=32 beam=3 max_len=22 cache=on img_s=800.00 ms_per_batch=40.00 ms_per_token=0.0568 mem_mib=900 live_tensors=300 ids_identical=yes
RESULT impl=spatialnet-0.1.0-decode device=cuda precision=bf16 batch=32 beam=3 max_len=22 cache=off img_s=200.00 ms_per_batch=160.00 ms_per_token=0.2273 mem_mib=1400 live_tensors=300 ids_identical=yes
"""


def self_test():
    runs = parse(SAMPLE.splitlines())
    assert len(runs) == 10, len(runs)
    r = rows(runs)
    assert [x["config"] for x in r] == ["cuda b32", "cuda b32", "cuda b128", "cuda b32"], r
    # 560 / 551 = 1.016; 1900 / 1866 = 1.018; 3300 / 3162 = 1.044 (below the 1.1 target); 1900 / 1054 = 1.803.
    assert [x["ratio"] for x in r] == ["1.02", "1.02", "1.04", "1.80"], [x["ratio"] for x in r]
    assert [x["met"] for x in r] == ["yes", "yes", "NO", ""], [x["met"] for x in r]
    assert [x["ref"] for x in r] == ["fp32", "bf16-pure", "bf16-pure", "bf16-amp"]
    # % of the 790 TFLOP/s bf16 peak: 210.45 / 790 = 26.6 %; none for fp32.
    assert r[2]["ours_pct"] == "26.6" and r[0]["ours_pct"] == "—", (r[2]["ours_pct"], r[0]["ours_pct"])
    text = table(runs)
    assert text.splitlines()[0].startswith("| config | SpatialNet | img/s |"), text
    assert "also: impl=spatialnet-0.1.0-pipeline" in text and "noise" not in text
    # Decoding runs stay out of the training table and get their own: 160 / 40 = 4.0× for the cached run.
    d = decode_rows(runs)
    assert [(x["cache"], x["speedup"]) for x in d] == [("on", "4.0×"), ("off", "—")], d
    assert d[0]["config"] == "cuda b32 beam 3 L 22" and d[0]["identical"] == "yes", d[0]
    assert "| caption decoding | precision | cache |" in text, text
    # Two invocations of one configuration: each cached run is compared with its own uncached run.
    twice = decode_rows(parse(["RESULT impl=spatialnet-0.1.0-decode device=cpu precision=fp32 batch=8 beam=3 max_len=22 cache=on img_s=20 ms_per_batch=400",
                               "RESULT impl=spatialnet-0.1.0-decode device=cpu precision=fp32 batch=8 beam=3 max_len=22 cache=off img_s=2 ms_per_batch=4000",
                               "RESULT impl=spatialnet-0.1.0-decode device=cpu precision=fp32 batch=8 beam=3 max_len=22 cache=on img_s=16 ms_per_batch=500",
                               "RESULT impl=spatialnet-0.1.0-decode device=cpu precision=fp32 batch=8 beam=3 max_len=22 cache=off img_s=1.6 ms_per_batch=5000"]))
    assert [x["speedup"] for x in twice] == ["10.0×", "—", "10.0×", "—"], twice
    # A SpatialNet run without a PyTorch counterpart still gets a row, with no ratio.
    lone = rows(parse(["RESULT impl=spatialnet-0.1.0 device=cpu precision=bf16-pure optimizer=torch batch=8 img_s=10 tflops=0.01"]))
    assert lone[0]["ratio"] == "—" and lone[0]["target"] == "—" and lone[0]["ours_pct"] == "—", lone
    print(text)
    print("\nself-test passed")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", help="logs with RESULT lines (default: standard input)")
    p.add_argument("--self-test", action="store_true", help="check the table logic on built-in sample lines")
    a = p.parse_args()
    if a.self_test:
        self_test()
        return
    lines = []
    if a.files:
        for name in a.files:
            with open(name, encoding="utf-8", errors="replace") as f:
                lines.extend(f)
    else:
        lines = sys.stdin.readlines()
    runs = parse(lines)
    if not runs:
        sys.exit("no RESULT lines found")
    print(table(runs))


if __name__ == "__main__":
    main()
