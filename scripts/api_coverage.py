"""Which public names of mlx.core (and its linalg, fft, random, fast submodules)
oxmlx.core lacks, and where the signatures of the names both have differ.

Usage: python scripts/api_coverage.py [--json]

The signature check compares, for every public callable of mlx.core, .linalg,
.fft and .random that oxmlx has (and every public method of ``array``), the
parameter names, their order, their defaults and their kinds (positional-only,
keyword-only, *args, **kwargs). MLX's functions are nanobind functions: their
signature is the first entry of ``__nb_signature__`` (``def name(...) -> ...``,
with defaults either written out or as ``\\N`` placeholders into a tuple of
objects). oxmlx's are nanobind functions too, or Python functions (inspect).
Names of positional-only parameters are not part of the calling interface and
are not compared."""

import ast
import inspect
import json
import re
import sys

SUBMODULES = ["", "linalg", "fft", "random", "fast"]
# Submodules whose signatures are compared (mx.fast is another lane's).
SIG_SUBMODULES = ["", "linalg", "fft", "random"]
# Names owned by other work (transforms, compile, custom functions): not compared.
SIG_SKIP = {"compile", "vmap", "custom_function", "checkpoint", "export_function",
            "export_to_dot", "import_function", "exporter"}

POS_ONLY, POS_OR_KW, VAR_POS, KW_ONLY, VAR_KW = (
    "positional-only", "positional-or-keyword", "*args", "keyword-only", "**kwargs")
_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: POS_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: POS_OR_KW,
    inspect.Parameter.VAR_POSITIONAL: VAR_POS,
    inspect.Parameter.KEYWORD_ONLY: KW_ONLY,
    inspect.Parameter.VAR_KEYWORD: VAR_KW,
}
NO_DEFAULT = "<required>"


def public(mod):
    return sorted(n for n in dir(mod) if not n.startswith("_"))


def norm_default(v):
    """A comparable text for a default value (an object or source text)."""
    if isinstance(v, str) and v.startswith("@src:"):
        text = v[5:].strip()
        try:
            return norm_default(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            pass
        text = re.sub(r"\b(?:mlx\.core|oxmlx\.core|mx|Dtype)\.", "", text)
        return {"float": "None"}.get(text, text)
    if isinstance(v, (tuple, list)):  # a shape or axes default: () and [] alike
        return repr([norm_default(x) for x in v]).replace("'", "")
    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    r = repr(v)
    r = re.sub(r"\b(?:mlx\.core|oxmlx\.core|oxmlx\._core)\.", "", r)
    r = re.sub(r"^<?(?:Dtype|DeviceType)\.(\w+)(?::.*)?>?$", r"\1", r)
    return r


def _parse_nb_signature(sig, defaults):
    """Parameters of one nanobind signature string ``def f(...) -> r``."""
    text = re.sub(r"\\(\d+)", r"__nbdefault_\1__", sig)
    text = text.strip()
    if not text.startswith("def "):
        text = "def " + text
    # Annotations may be anything (nanobind writes e.g. ndarray[dtype=float32]):
    # drop them, splitting at top-level commas, before parsing.
    head, _, rest = text.partition("(")
    depth, params, cur = 0, [], ""
    for ch in rest:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            params.append(cur)
            cur = ""
        else:
            cur += ch
    params.append(cur)
    bare = []
    for prm in params:
        name, default = prm, None
        d = 0
        for i, ch in enumerate(prm):  # top-level '=' starts the default
            d += ch in "([{"
            d -= ch in ")]}"
            if ch == "=" and d == 0:
                name, default = prm[:i], prm[i + 1:]
                break
        name = name.split(":")[0].strip()
        if name:
            bare.append(name if default is None else f"{name}={default.strip()}")
    fn = ast.parse(head + "(" + ", ".join(bare) + "): pass").body[0]
    a = fn.args

    def default_of(node):
        if isinstance(node, ast.Name) and node.id.startswith("__nbdefault_"):
            return norm_default(defaults[int(node.id[12:-2])])
        return norm_default("@src:" + ast.unparse(node))

    out = []
    positional = [(p, POS_ONLY) for p in a.posonlyargs] + [(p, POS_OR_KW) for p in a.args]
    pdefs = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for (p, kind), d in zip(positional, pdefs):
        out.append((p.arg, kind, NO_DEFAULT if d is None else default_of(d)))
    if a.vararg:
        out.append((a.vararg.arg, VAR_POS, NO_DEFAULT))
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((p.arg, KW_ONLY, NO_DEFAULT if d is None else default_of(d)))
    if a.kwarg:
        out.append((a.kwarg.arg, VAR_KW, NO_DEFAULT))
    return out


def signature(obj, drop_self=False):
    """List of (name, kind, default) for a callable, or None if unknown."""
    nbsig = getattr(obj, "__nb_signature__", None)
    if nbsig:
        sig, _doc, defaults = nbsig[0]
        params = _parse_nb_signature(sig, defaults or ())
    else:
        if isinstance(obj, type):
            obj = obj.__init__
        try:
            s = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        params = []
        for p in s.parameters.values():
            d = NO_DEFAULT if p.default is inspect.Parameter.empty else norm_default(p.default)
            params.append((p.name, _KINDS[p.kind], d))
    if drop_self and params and params[0][0] == "self":
        params = params[1:]
    return params


# What a parameter of each kind accepts: passing by position, passing by keyword.
_ACCEPTS = {POS_ONLY: (True, False), POS_OR_KW: (True, True), KW_ONLY: (False, True),
            VAR_POS: (True, False), VAR_KW: (False, True)}


def _stricter(ours, ref):
    """True if a parameter of kind `ours` rejects a way of passing that `ref` allows."""
    (p1, k1), (p2, k2) = _ACCEPTS[ours], _ACCEPTS[ref]
    return (p2 and not p1) or (k2 and not k1)


def compare(ref, ours):
    """Differences between two parameter lists: [(category, text)], category
    "signature" (names, order, defaults, count) or "kind" (a parameter that
    MLX's signature lets one pass by position or by keyword and ours does not;
    accepting more than MLX, say a keyword for MLX's positional-only array, is
    no difference: every call written for MLX works; so is a default for a
    parameter MLX requires, e.g. save_gguf's metadata, which MLX's binding
    accepts omitted though its signature text shows no default). Names of positional-only
    parameters and of *args/**kwargs cannot be used by callers and are not
    compared."""
    if ref is None or ours is None:
        return [] if ref is None else [("signature", "signature not introspectable")]
    probs = []
    if len(ref) != len(ours):
        probs.append(("signature", f"{len(ours)} parameters, MLX has {len(ref)}"))
    for i, (r, o) in enumerate(zip(ref, ours)):
        if (r[1] in (VAR_POS, VAR_KW) or o[1] in (VAR_POS, VAR_KW)) and r[1] != o[1]:
            probs.append(("signature", f"parameter {i}: '{o[0]}' ({o[1]}), MLX '{r[0]}' ({r[1]})"))
        elif r[0] != o[0] and r[1] not in (POS_ONLY, VAR_POS, VAR_KW):
            probs.append(("signature", f"parameter {i}: '{o[0]}', MLX '{r[0]}'"))
        elif _stricter(o[1], r[1]):
            probs.append(("kind", f"'{r[0]}': {o[1]}, MLX {r[1]}"))
        if r[2] != o[2] and r[2] != NO_DEFAULT:  # a default MLX lacks only accepts more
            probs.append(("signature", f"'{r[0]}' default {o[2]}, MLX {r[2]}"))
    for r in ref[len(ours):]:
        probs.append(("signature", f"missing '{r[0]}' ({r[1]})"))
    for o in ours[len(ref):]:
        probs.append(("signature", f"extra '{o[0]}' ({o[1]})"))
    return probs


def format_sig(params):
    if params is None:
        return "(?)"
    out, slash, star = [], False, False
    for n, k, d in params:
        if k != POS_ONLY and any(p[1] == POS_ONLY for p in params) and not slash:
            out.append("/")
            slash = True
        if k == KW_ONLY and not star:
            out.append("*")
            star = True
        if k == VAR_POS:
            star = True
        txt = {"*args": "*" + n, "**kwargs": "**" + n}.get(k, n)
        out.append(txt if d == NO_DEFAULT else f"{txt}={d}")
    if not slash and params and all(p[1] == POS_ONLY for p in params):
        out.append("/")
    return "(" + ", ".join(out) + ")"


def _entry(ref, ours, probs):
    kind_only = all(c == "kind" for c, _ in probs)
    return {"mlx": format_sig(ref), "oxmlx": format_sig(ours),
            "category": "kind" if kind_only else "signature",
            "problems": [t for _, t in probs]}


def signature_report(M, X):
    """{qualified name: {"mlx": sig, "oxmlx": sig, "problems": [...]}} for mismatches,
    and the number of pairs compared."""
    mismatches, compared = {}, 0
    for sub in SIG_SUBMODULES:
        m = getattr(M, sub) if sub else M
        x = getattr(X, sub, None) if sub else X
        if x is None:
            continue
        for n in public(m):
            if n in SUBMODULES or n in SIG_SKIP or not hasattr(x, n):
                continue
            ref_obj, our_obj = getattr(m, n), getattr(x, n)
            if isinstance(ref_obj, type) or not callable(ref_obj):
                continue
            compared += 1
            ref, ours = signature(ref_obj), signature(our_obj)
            probs = compare(ref, ours)
            if probs:
                q = "mx." + (sub + "." if sub else "") + n
                mismatches[q] = _entry(ref, ours, probs)
    # Methods of array, and the special methods MLX's array class defines.
    special = [n for n in vars(M.array) if n.startswith("__") and n not in
               ("__doc__", "__module__", "__new__", "__init__")]
    for n in public(M.array) + sorted(special):
        ref_obj = getattr(M.array, n)
        our_obj = getattr(X.array, n, None)
        if our_obj is None or isinstance(ref_obj, property) or not callable(ref_obj):
            continue
        compared += 1
        ref, ours = signature(ref_obj, True), signature(our_obj, True)
        probs = compare(ref, ours)
        if probs:
            mismatches["mx.array." + n] = _entry(ref, ours, probs)
    # Methods of the helper classes both have.
    for cls in ("ArrayAt", "Device", "Stream", "StreamContext"):
        r, o = getattr(M, cls, None), getattr(X, cls, None)
        if r is None or o is None:
            continue
        for n in sorted(k for k in vars(r) if not k.startswith("_") or k in (
                "__getitem__", "__enter__", "__exit__", "__eq__")):
            ref_obj, our_obj = getattr(r, n), getattr(o, n, None)
            if our_obj is None or isinstance(ref_obj, property) or not callable(ref_obj):
                continue
            compared += 1
            probs = compare(signature(ref_obj, True), signature(our_obj, True))
            if probs:
                mismatches[f"mx.{cls}.{n}"] = _entry(signature(ref_obj, True),
                                                     signature(our_obj, True), probs)
    return mismatches, compared


def array_members(M, X):
    """Public members of MLX's array that oxmlx's array lacks."""
    return [n for n in public(M.array) if not hasattr(X.array, n)]


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
    mismatches, compared = signature_report(M, X)
    arr_missing = array_members(M, X)
    n_kind = sum(d["category"] == "kind" for d in mismatches.values())
    n_sig = len(mismatches) - n_kind
    if "--json" in sys.argv:
        report["signatures"] = {"compared": compared, "mismatched": len(mismatches),
                                "signature_mismatched": n_sig, "kind_only_mismatched": n_kind,
                                "mismatches": mismatches}
        report["mlx.core.array"] = {"missing": arr_missing}
        print(json.dumps(report, indent=1))
        return
    for name, r in report.items():
        print(f"{name}: {r['present']}/{r['total']}")
        if r["missing"]:
            print("  missing: " + ", ".join(r["missing"]))
    print(f"overall: {present}/{total} = {100.0 * present / total:.1f}%")
    print(f"array members missing: {', '.join(arr_missing) if arr_missing else 'none'}")
    print(f"signatures: {len(mismatches)} of {compared} differ ({n_sig} in names/order/defaults, "
          f"{n_kind} only in a parameter MLX lets one pass by position or keyword and oxmlx "
          f"does not)")
    for q, d in sorted(mismatches.items(), key=lambda kv: (kv[1]["category"], kv[0])):
        print(f"  {q}  [{d['category']}]")
        print(f"    mlx:   {d['mlx']}")
        print(f"    oxmlx: {d['oxmlx']}")
        for p in d["problems"]:
            print(f"      - {p}")


if __name__ == "__main__":
    main()
