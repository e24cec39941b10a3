"""python -m oxmlx.conformance [--backend NAME] [--out DIR] [--ops a,b] [--files f1,f2]
[--seed N] [--max-cases N] [--list]: run the conformance spec on oxmlx and MLX."""

import argparse
import datetime
import sys

from oxmlx.conformance.cases import load_cases
from oxmlx.conformance.report import write_reports
from oxmlx.conformance.runner import run_cases


def _setup_oxmlx(backend):
    import oxmlx.core as ox

    if backend:
        if backend not in ox.backends():
            raise SystemExit(f"unknown oxmlx backend {backend!r}; available: {ox.backends()}")
        ox.set_default_stream(ox.new_stream(ox.cpu, backend=backend))
    return ox


def _setup_mlx(device):
    try:
        import mlx.core as mlx
    except ImportError:
        return None
    mlx.set_default_device(mlx.gpu if device == "gpu" else mlx.cpu)
    return mlx


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m oxmlx.conformance", description=__doc__)
    p.add_argument("--backend", default=None, help="oxmlx backend name (default: the default backend)")
    p.add_argument("--mlx-device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--out", default="conformance-report", help="directory for report.md / report.json")
    p.add_argument("--ops", default=None, help="comma-separated op names to run (default: all)")
    p.add_argument("--files", default=None, help="comma-separated spec file stems (default: all)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the generated inputs")
    p.add_argument("--max-cases", type=int, default=None, help="run only the first N cases")
    p.add_argument("--no-errors", action="store_true", help="skip the error-behaviour cases")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    a = p.parse_args(argv)
    ops = set(a.ops.split(",")) if a.ops else None
    files = set(a.files.split(",")) if a.files else None
    cases = load_cases(ops=ops, files=files, base_seed=a.seed, include_errors=not a.no_errors)
    if a.max_cases is not None:
        cases = cases[: a.max_cases]
    if a.list:
        for c in cases:
            print(c.id)
        print(f"{len(cases)} cases", file=sys.stderr)
        return 0
    ox = _setup_oxmlx(a.backend)
    mlx = _setup_mlx(a.mlx_device)
    if mlx is None:
        print("warning: mlx is not installed; every case is reported as missing_in_mlx", file=sys.stderr)
    results = run_cases(cases, ox, mlx)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "oxmlx_backend": a.backend or ox.default_backend(ox.cpu), "mlx_device": a.mlx_device,
            "mlx_version": getattr(mlx, "__version__", None) if mlx else None, "seed": a.seed,
            "filter": {"ops": sorted(ops) if ops else None, "files": sorted(files) if files else None}}
    s = write_reports(results, a.out, meta)
    print(f"{s['passed']}/{s['compared']} cases pass ({s['failed']} mismatches, "
          f"{s['harness_errors']} harness errors, {s['missing_in_oxmlx']} missing in oxmlx); "
          f"reports in {a.out}/report.md and report.json")
    return 0 if s["failed"] == 0 and s["harness_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
