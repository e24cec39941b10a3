"""oxmlx-bench: oxmlx beside numpy, mlx, torch and jax on the same machine.

    oxmlx-bench [--quick] [--only gemm,norms] [--device cpu|gpu]
                [--frameworks oxmlx,torch] [--json out.json] [--plot out.png]

Every result is checked against the reference (numpy where it has the case)
before it is timed; the table gives each framework's time and its ratio to
the fastest framework of the row (1.00x = fastest).
"""

import argparse
import json
import os
import platform
import sys

from oxmlx.bench.frameworks import discover
from oxmlx.bench.runner import run
from oxmlx.bench.workloads import WORKLOADS


def _fmt_time(s):
    if s is None:
        return None
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def table(rows, names):
    """Markdown table: time and ratio to the fastest, per framework."""
    head = "| workload | case | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (2 + len(names))]
    for r in rows:
        times = [r["results"][n]["seconds"] for n in names if r["results"].get(n, {}).get("seconds")]
        best = min(times) if times else None
        cells = []
        for n in names:
            res = r["results"].get(n, {})
            s = res.get("seconds")
            if s is None:
                st = res.get("status", "n/a")
                cells.append("n/a" if st == "n/a" else st.split(":")[0])
            else:
                cells.append(f"{_fmt_time(s)} ({s / best:.2f}x)")
        lines.append(f"| {r['workload']} | {r['case']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows, names, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib (pip install matplotlib)")
    import numpy as np

    labels = [f"{r['workload']}: {r['case']}" for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) * max(1, len(names)) / 2 + 1.5))
    h = 0.8 / max(1, len(names))
    y = np.arange(len(rows))
    for i, n in enumerate(names):
        vals = []
        for r in rows:
            times = [v["seconds"] for v in r["results"].values() if v.get("seconds")]
            s = r["results"].get(n, {}).get("seconds")
            vals.append(min(times) / s if s else 0.0)
        ax.barh(y + i * h, vals, height=h, label=n)
    ax.set_yticks(y + h * (len(names) - 1) / 2)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed relative to the fastest framework (1.0 = fastest; higher is better)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"oxmlx-bench on {platform.machine()}, {os.cpu_count()} cores")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="oxmlx-bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the quick subset (under 2 minutes)")
    ap.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--frameworks", default="", help="comma-separated (default: all installed)")
    ap.add_argument("--budget", type=float, default=None, help="seconds of timing per cell")
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    ap.add_argument("--plot", metavar="PATH", help="write a bar chart (PNG) of the ratios")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {bad}; choose from {sorted(WORKLOADS)}")
    workloads = [WORKLOADS[n] for n in (only or WORKLOADS)]
    fws = discover(args.device, [s for s in args.frameworks.split(",") if s] or None)
    if not fws:
        ap.error(f"no framework available on {args.device}")
    rows = run(workloads, fws, quick=args.quick, budget=args.budget,
               progress=not args.no_progress and sys.stderr.isatty())
    names = [f.name for f in fws]
    print(f"oxmlx-bench: {platform.machine()}, {os.cpu_count()} cores, device {args.device}; "
          f"frameworks: {', '.join(names)}")
    print(table(rows, names))
    notes = {(n, r["results"][n]["status"]) for r in rows for n in names
             if r["results"].get(n, {}).get("status", "ok") not in ("ok", "n/a")}
    for n, st in sorted(notes):
        print(f"  {n}: {st}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.machine(), "cores": os.cpu_count(),
                       "device": args.device, "frameworks": names, "rows": rows}, f, indent=1)
    if args.plot:
        plot(rows, names, args.plot)
    return 0
