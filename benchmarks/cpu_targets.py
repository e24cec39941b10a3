"""The CPU-kernels issue's target table in one command: oxmlx against its
reference (numpy or torch) per row, measured in the same run.

    python benchmarks/cpu_targets.py [--markdown] [--json out.json]
                                     [--only gemm,chain,reduce,norms,overhead] [--rounds 7]

Each row checks oxmlx's result against the reference first, then times
interleaved rounds (oxmlx, reference, reference, oxmlx, ...: the order flips
every round so neither side always runs right after the other), each round a
batch of calls filling --round-time seconds, and takes the median per-call
time of the rounds. Between two measurements the script sleeps --settle
seconds so the worker threads of the framework measured before (OpenBLAS,
torch's OpenMP, oxmlx's pool spin for a while after a call) are idle again;
the environment also asks OpenMP and OpenBLAS to park their threads quickly
(set before numpy and torch are imported). Ratio = reference time / oxmlx
time (higher is better); the overhead row is absolute (us per op). The exit
status is 1 when a row misses its target (or fails its check).

The workloads (inputs, builders, tolerances) are oxmlx-bench's
(python/oxmlx/bench/workloads.py).
"""

import os

# Before numpy / torch load their thread pools: passive waiting, short spins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "0")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from oxmlx.bench.frameworks import discover  # noqa: E402
from oxmlx.bench.runner import _agree  # noqa: E402
from oxmlx.bench.workloads import WORKLOADS  # noqa: E402

# (group, label, workload, oxmlx params, reference framework, reference params
#  (None: the same), target). Target: minimum of reference time / oxmlx time,
# or for "overhead" the maximum microseconds per op.
ROWS = [
    ("gemm", "f32 GEMM n=256", "gemm", dict(n=256, dtype="float32"), "numpy", None, 0.8),
    ("gemm", "f32 GEMM n=1024", "gemm", dict(n=1024, dtype="float32"), "numpy", None, 1.0),
    ("gemm", "f32 GEMM n=2048", "gemm", dict(n=2048, dtype="float32"), "numpy", None, 1.0),
    ("gemm", "bf16 GEMM n=1024", "gemm", dict(n=1024, dtype="bfloat16"), "torch", None, 1.5),
    ("chain", "exp(x)*2+x*x-1, 1e7 f32, compiled", "chain", dict(size=10**7, compiled=True),
     "numpy", dict(size=10**7, compiled=False), 5.0),
    ("chain", "exp(x)*2+x*x-1, 1e7 f32", "chain", dict(size=10**7, compiled=False), "numpy", None,
     1.5),
    ("reduce", "sum 4096^2 f32, axis=0", "reduce", dict(n=4096, axis=0), "torch", None, 1.0),
    ("reduce", "sum 4096^2 f32, axis=1", "reduce", dict(n=4096, axis=1), "torch", None, 1.0),
    ("reduce", "sum 4096^2 f32, all", "reduce", dict(n=4096, axis=None), "torch", None, 1.0),
    ("norms", "softmax 4096^2 f32, last axis", "norms", dict(op="softmax", n=4096), "torch", None,
     3.0),
    ("norms", "layer_norm 4096^2 f32, last axis", "norms", dict(op="layer_norm", n=4096), "torch",
     None, 3.0),
    ("overhead", "1000 dependent adds of (16,), build + eval", "overhead",
     dict(ops=1000, shape=(16,)), None, None, 1.0),
]


def batch_time(fw, fn, seconds):
    """Per-call seconds of one batch of calls lasting about `seconds`."""
    t0 = time.perf_counter()
    fw.sync(fn())
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(seconds / once))
    t0 = time.perf_counter()
    for _ in range(n):
        fw.sync(fn())
    return (time.perf_counter() - t0) / n


def build(fw, w, p, seed=0):
    host = w.inputs(p, np.random.default_rng(seed))
    with fw.context():
        x = {k: fw.asarray(v) for k, v in host.items()}
        fn = getattr(w, fw.family)(fw, x, p)
        out = fn()
        fw.sync(out)
        return fn, fw.to_numpy(out)


def measure(row, fws, args):
    group, label, wname, p, ref_name, ref_p, target = row
    w = WORKLOADS[wname]
    ox = fws["oxmlx"]
    res = {"group": group, "row": label, "target": target, "reference": ref_name}
    ox_fn, ox_out = build(ox, w, p)
    sides = [("oxmlx", ox, ox_fn)]
    if ref_name is not None:
        ref = fws.get(ref_name)
        if ref is None:
            res.update(status=f"{ref_name} not installed")
            return res
        ref_fn, ref_out = build(ref, w, ref_p or p)
        rtol, atol = w.tol(p) if hasattr(w, "tol") else (w.rtol, w.atol)
        if not _agree(ref_out, ox_out, rtol, atol):
            res.update(status=f"mismatch vs {ref_name}")
            return res
        sides.append((ref_name, ref, ref_fn))
    elif group == "overhead":
        exp = np.full(p["shape"], p["ops"], np.float32)
        if not np.array_equal(ox_out, exp):
            res.update(status="wrong result")
            return res
    for _, fw, fn in sides:  # warm-up
        with fw.context():
            batch_time(fw, fn, args.round_time / 4)
        time.sleep(args.settle)
    times = {name: [] for name, _, _ in sides}
    for r in range(args.rounds):
        for name, fw, fn in (sides if r % 2 == 0 else sides[::-1]):
            with fw.context():
                times[name].append(batch_time(fw, fn, args.round_time))
            time.sleep(args.settle)
    med = {k: statistics.median(v) for k, v in times.items()}
    res["seconds"] = med
    if group == "overhead":
        res["us_per_op"] = med["oxmlx"] / p["ops"] * 1e6
        res["ok"] = res["us_per_op"] <= target
    else:
        res["ratio"] = med[ref_name] / med["oxmlx"]
        res["ok"] = res["ratio"] >= target
    res["status"] = "ok"
    return res


def fmt_time(s):
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def render(results, markdown):
    head = ["row", "oxmlx", "reference", "measured", "target", "pass"]
    lines = []
    for r in results:
        if r["status"] != "ok":
            lines.append([r["row"], "-", r.get("reference") or "-", r["status"], "-", "FAIL"])
            continue
        s = r["seconds"]
        if r["group"] == "overhead":
            lines.append([r["row"], fmt_time(s["oxmlx"]), "-", f"{r['us_per_op']:.2f} us/op",
                          f"<= {r['target']} us/op", "pass" if r["ok"] else "FAIL"])
        else:
            ref = r["reference"]
            lines.append([r["row"], fmt_time(s["oxmlx"]), f"{ref} {fmt_time(s[ref])}",
                          f"{r['ratio']:.2f}x", f">= {r['target']}x {ref}",
                          "pass" if r["ok"] else "FAIL"])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in [head] + lines) for i in range(len(head))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(head)))
                     for c in [head] + lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    groups = sorted({r[0] for r in ROWS})
    ap.add_argument("--only", default="", help="comma-separated groups: " + ",".join(groups))
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds per row (median)")
    ap.add_argument("--round-time", type=float, default=0.1, help="seconds of calls per round")
    ap.add_argument("--settle", type=float, default=0.02,
                    help="seconds to sleep between measurements (worker threads park)")
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in groups]
    if bad:
        ap.error(f"unknown group(s) {bad}; choose from {groups}")
    fws = {f.name: f for f in discover("cpu", ["oxmlx", "numpy", "torch"])}
    if "oxmlx" not in fws:
        ap.error("oxmlx is not importable")
    import oxmlx.core as mx

    results = []
    for row in ROWS:
        if only and row[0] not in only:
            continue
        try:
            results.append(measure(row, fws, args))
        except Exception as e:  # noqa: BLE001 - a failing row is reported, not fatal
            results.append({"group": row[0], "row": row[1], "reference": row[4],
                            "target": row[6], "status": f"error: {type(e).__name__}: {e}"[:90]})
        if not args.markdown and sys.stderr.isatty():
            sys.stderr.write(f"  done: {row[1]}\n")
    threads = mx.num_threads() if hasattr(mx, "num_threads") else os.cpu_count()
    print(f"cpu_targets: {platform.machine()}, {os.cpu_count()} cores, oxmlx threads {threads}; "
          f"median of {args.rounds} interleaved rounds, ratio = reference / oxmlx")
    print(render(results, args.markdown))
    passed = sum(1 for r in results if r.get("ok"))
    print(f"{passed}/{len(results)} rows pass")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.machine(), "cores": os.cpu_count(),
                       "rounds": args.rounds, "rows": results}, f, indent=1)
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
