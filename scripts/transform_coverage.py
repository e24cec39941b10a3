"""Which primitives lack vjp / jvp / vmap rules of their own.

    python scripts/transform_coverage.py [--missing-only]

Reads the C++ sources: every ``class X : public Primitive`` (csrc/**/*.h,
csrc/**/*.cpp) and whether its body declares ``vjp``, ``jvp`` and ``vmap``
overrides (``OXMLX_VMAP_RULE`` counts as a vmap rule). A primitive without
a vmap rule still vmaps through the generic fallback (one node per batch
element, stacked); without vjp/jvp it cannot be differentiated.
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLASS = re.compile(r"class\s+(\w+)\s*(?:final\s*)?:\s*public\s+(?:oxmlx::)?Primitive\b")


def class_body(text, start):
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return text[i:]


def scan():
    rows = {}
    for path in sorted((ROOT / "csrc").rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        text = path.read_text(errors="replace")
        for m in CLASS.finditer(text):
            body = class_body(text, m.end())
            rules = {
                "vjp": re.search(r"\bvjp\s*\(", body) is not None,
                "jvp": re.search(r"\bjvp\s*\(", body) is not None,
                "vmap": re.search(r"\bvmap\s*\(", body) is not None or "OXMLX_VMAP_RULE" in body,
            }
            rows[m.group(1)] = (path.relative_to(ROOT), rules)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--missing-only", action="store_true")
    args = ap.parse_args()
    rows = scan()
    missing = 0
    print(f"{'primitive':24s} {'vjp':5s} {'jvp':5s} {'vmap':9s} file")
    for name, (path, r) in sorted(rows.items()):
        lack = [k for k, v in r.items() if not v]
        missing += bool(lack)
        if args.missing_only and not lack:
            continue
        mark = lambda k: "yes" if r[k] else "-"  # noqa: E731
        vm = "yes" if r["vmap"] else "fallback"
        print(f"{name:24s} {mark('vjp'):5s} {mark('jvp'):5s} {vm:9s} {path}")
    print(f"\n{len(rows)} primitives, {missing} lacking at least one rule.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
