"""report.json and report.md of a conformance run."""

import collections
import datetime
import json
import pathlib


def summarize(results):
    by = collections.Counter(r["status"] for r in results)
    ops = collections.defaultdict(collections.Counter)
    for r in results:
        ops[r.get("op", r["id"].split("[")[0])][r["status"]] += 1
    considered = by["pass"] + by["fail"] + by["harness_error"]  # deviations are listed apart
    return {
        "total": len(results),
        "compared": considered,
        "passed": by["pass"],
        "failed": by["fail"],
        "harness_errors": by["harness_error"],
        "missing_in_oxmlx": by["missing_in_oxmlx"],
        "missing_in_mlx": by["missing_in_mlx"],
        "known_deviations": by["known_deviation"],
        "value_cases": sum(1 for r in results if r.get("kind") == "value"),
        "error_cases": sum(1 for r in results if r.get("kind") == "error"),
        "pass_rate": (by["pass"] / considered) if considered else 1.0,
        "per_op": {op: dict(c) for op, c in sorted(ops.items())},
    }


def _fmt(x, limit=400):
    s = json.dumps(x, default=str)
    return s if len(s) <= limit else s[:limit] + " ..."


def write_reports(results, out_dir, meta):
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    doc = {"meta": meta, "summary": summary,
           "mismatches": [r for r in results if r["status"] in ("fail", "harness_error")],
           "known_deviations": [{k: r.get(k) for k in ("id", "deviation", "expected", "got")}
                                for r in results if r["status"] == "known_deviation"],
           "missing": sorted({r["op"] for r in results if r["status"] == "missing_in_oxmlx"}),
           "cases": [{k: r.get(k) for k in ("id", "status", "max_abs", "max_rel", "seed")} for r in results]}
    (out / "report.json").write_text(json.dumps(doc, indent=1, default=str))

    L = ["# oxmlx conformance report", ""]
    L.append(f"- date: {meta.get('date', datetime.datetime.utcnow().isoformat())}")
    for k in ("oxmlx_backend", "mlx_version", "mlx_device", "seed", "filter"):
        if k in meta:
            L.append(f"- {k}: {meta[k]}")
    L += ["", "## Summary", "",
          f"**{summary['passed']} / {summary['compared']} cases pass** "
          f"({summary['value_cases']} value cases, {summary['error_cases']} error-behaviour cases); "
          f"{summary['failed']} mismatches, {summary['harness_errors']} harness errors, "
          f"{summary['known_deviations']} documented deviations (listed below, not counted); "
          f"{summary['missing_in_oxmlx']} cases skipped (op not in oxmlx yet), "
          f"{summary['missing_in_mlx']} (op not in mlx).", "",
          "| op | pass | fail | documented deviation | missing |", "|---|---|---|---|---|"]
    for op, c in summary["per_op"].items():
        L.append(f"| `{op}` | {c.get('pass', 0)} | {c.get('fail', 0) + c.get('harness_error', 0)} | "
                 f"{c.get('known_deviation', 0)} | {c.get('missing_in_oxmlx', 0) + c.get('missing_in_mlx', 0)} |")
    if doc["missing"]:
        L += ["", "Ops of the spec that oxmlx does not have yet: " + ", ".join(f"`{o}`" for o in doc["missing"])]
    devs = [r for r in results if r["status"] == "known_deviation"]
    if devs:
        L += ["", "## Documented deviations", "", "| case | why |", "|---|---|"]
        L += [f"| `{r['id']}` | {r['deviation']} |" for r in devs]
    L += ["", "## Mismatches", ""]
    if not doc["mismatches"]:
        L.append("None.")
    for r in doc["mismatches"]:
        L += [f"### `{r['id']}`", ""]
        if r["status"] == "harness_error":
            L += ["harness error:", "", "```", r.get("detail", ""), "```", ""]
            continue
        L.append(f"- seed {r['seed']}, variant `{r['variant']}`, dtypes {r['dtypes']}, shapes {r['shapes']}, "
                 f"kwargs `{_fmt(r['kwargs'])}`, tolerance ({r.get('tol_class')}) rtol={r['rtol']} atol={r['atol']}")
        if "reason" in r:
            L.append(f"- reason: {r['reason']}")
        if "max_abs" in r:
            L.append(f"- max abs error {r.get('max_abs')}, max rel error {r.get('max_rel')}")
        L.append(f"- expected (mlx): `{_fmt(r.get('expected'))}`")
        L.append(f"- got (oxmlx): `{_fmt(r.get('got'))}`")
        if r.get("expected_message") or r.get("got_message"):
            L.append(f"- messages: mlx `{r.get('expected_message')}` / oxmlx `{r.get('got_message')}`")
        L += ["", "```python", r.get("repro", ""), "```", ""]
    (out / "report.md").write_text("\n".join(L) + "\n")
    return summary
