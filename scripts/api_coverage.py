"""Which public names of mlx.core (and its linalg, fft, random, fast submodules)
oxmlx.core lacks. Usage: python scripts/api_coverage.py [--json]"""

import json
import sys

SUBMODULES = ["", "linalg", "fft", "random", "fast"]


def public(mod):
    return sorted(n for n in dir(mod) if not n.startswith("_"))


def main():
    import mlx.core as M
    import oxmlx.core as X

    report = {}
    for sub in SUBMODULES:
        m = getattr(M, sub) if sub else M
        x = getattr(X, sub, None) if sub else X
        names = [n for n in public(m) if not (sub == "" and n in SUBMODULES)]
        missing = [n for n in names if x is None or not hasattr(x, n)]
        report["mlx.core" + ("." + sub if sub else "")] = {
            "total": len(names), "present": len(names) - len(missing), "missing": missing}
    total = sum(r["total"] for r in report.values())
    present = sum(r["present"] for r in report.values())
    if "--json" in sys.argv:
        print(json.dumps(report, indent=1))
        return
    for name, r in report.items():
        print(f"{name}: {r['present']}/{r['total']}")
        if r["missing"]:
            print("  missing: " + ", ".join(r["missing"]))
    print(f"overall: {present}/{total} = {100.0 * present / total:.1f}%")


if __name__ == "__main__":
    main()
