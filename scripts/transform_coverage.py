"""Which primitives lack vjp / jvp / vmap rules of their own, and why.

    python scripts/transform_coverage.py [--missing-only] [--check]

Reads the C++ sources: every ``class X : public Primitive`` (csrc/**/*.h,
csrc/**/*.cpp) and whether its body declares ``vjp``, ``jvp`` and ``vmap``
overrides (``OXMLX_VMAP_RULE`` counts as a vmap rule; an inline vmap whose
body only returns ``vmap_fallback(...)`` counts as the fallback). A primitive
without a vmap rule still vmaps through the generic fallback (one node per
batch element, stacked); without vjp/jvp it cannot be differentiated.

A gap is justified by a marker comment in the class body (or in the comment
block right above the class):

    // transforms: no vjp/jvp — <why> (MLX: <what MLX does>)
    // transforms: fallback vmap — <why>

``--check`` exits with status 1 when a primitive lacks a rule that no marker
justifies (tests/test_transform_coverage.py runs it).
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLASS = re.compile(r"class\s+(\w+)\s*(?:final\s*)?:\s*public\s+(?:oxmlx::)?Primitive\b")
MARKER = re.compile(r"//\s*transforms:\s*(no|fallback)\s+([\w/]+)\s*[—-]+\s*(.*)")
INLINE_FALLBACK = re.compile(r"\bvmap\s*\([^)]*\)\s*override\s*\{\s*return\s+vmap_fallback\s*\(")
RULES = ("vjp", "jvp", "vmap")


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


def preceding_comments(text, start):
    """The // comment lines right above position `start` (its line excluded)."""
    lines = text[:start].rsplit("\n", 1)[0].split("\n")
    out = []
    for line in reversed(lines):
        if line.strip().startswith("//"):
            out.append(line)
        else:
            break
    return "\n".join(reversed(out))


def markers(text):
    """{rule: justification} from the marker comments in `text`.

    A marker's text runs on over the // lines that follow it (wrapped
    comments), up to the next marker or a non-comment line."""
    found = {}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = MARKER.search(line)
        if not m:
            continue
        why = m.group(3).strip()
        for nxt in lines[i + 1:]:
            s = nxt.strip()
            if not s.startswith("//") or MARKER.search(s):
                break
            why += " " + s.lstrip("/").strip()
        for rule in m.group(2).split("/"):
            if rule in RULES:
                found[rule] = why
    return found


def scan():
    rows = {}
    for path in sorted((ROOT / "csrc").rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        text = path.read_text(errors="replace")
        for m in CLASS.finditer(text):
            body = class_body(text, m.end())
            has_vmap = re.search(r"\bvmap\s*\(", body) is not None or "OXMLX_VMAP_RULE" in body
            rules = {
                "vjp": re.search(r"\bvjp\s*\(", body) is not None,
                "jvp": re.search(r"\bjvp\s*\(", body) is not None,
                "vmap": has_vmap and INLINE_FALLBACK.search(body) is None,
            }
            why = markers(preceding_comments(text, m.start()) + "\n" + body)
            rows[m.group(1)] = (path.relative_to(ROOT), rules, why)
    return rows


def gaps(rows):
    """[(primitive, rule, justification or None)] for every missing rule."""
    out = []
    for name, (_, rules, why) in sorted(rows.items()):
        for rule in RULES:
            if not rules[rule]:
                out.append((name, rule, why.get(rule)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--missing-only", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 on an unjustified gap")
    args = ap.parse_args()
    rows = scan()
    print(f"{'primitive':24s} {'vjp':5s} {'jvp':5s} {'vmap':9s} file")
    lacking = 0
    for name, (path, r, why) in sorted(rows.items()):
        lack = [k for k in RULES if not r[k]]
        lacking += bool(lack)
        if args.missing_only and not lack:
            continue
        mark = lambda k: "yes" if r[k] else "-"  # noqa: E731
        vm = "yes" if r["vmap"] else "fallback"
        print(f"{name:24s} {mark('vjp'):5s} {mark('jvp'):5s} {vm:9s} {path}")
        shown = set()
        for k in lack:
            j = why.get(k)
            if j in shown:
                continue
            shown.add(j)
            ks = "/".join(x for x in lack if why.get(x) == j)
            print(f"    {ks}: {j if j else 'UNJUSTIFIED'}")
    bad = [g for g in gaps(rows) if g[2] is None]
    print(f"\n{len(rows)} primitives, {lacking} lacking at least one rule, "
          f"{len(bad)} unjustified gap(s).")
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
