"""Expansion of the JSON specs into concrete, seeded cases.

A spec file holds ``{"tolerances": {...}, "ops": [...], "errors": [...]}``.
Each op entry names the op (an attribute path of the framework module, or
``__getitem__``), its array inputs (``domains``: one value domain per array),
the dtypes to sweep, the shape sets, keyword-argument sets, its tolerance
class, and which generated edge cases apply. Every (op, dtype, shape set,
kwargs, variant) combination is one case with a stable id and seed.
"""

import dataclasses
import json
import pathlib
import zlib

SPEC_DIR = pathlib.Path(__file__).with_name("specs")

# Generated edge variants (see _edge_shapes / runner._make_inputs).
EDGES = ("empty", "scalar", "transposed", "sliced", "nonfinite", "broadcast", "large")
# Derivative variants: vjp / jvp with seeded cotangents / tangents, for the
# float32 dtype set of an op (other inputs, e.g. indices, are held fixed).
TRANSFORMS = ("vjp", "jvp")


@dataclasses.dataclass
class Case:
    id: str
    op: str
    kind: str  # "value" or "error"
    dtypes: list  # per array input
    shapes: list  # per array input (logical shapes)
    domains: list  # per array input
    kwargs: dict
    args: list  # extra positional literals after the arrays
    variant: str  # "base" or one of EDGES
    rtol: float = 0.0
    atol: float = 0.0
    list_input: bool = False
    seed: int = 0
    expect: str = ""  # error cases: the exception type both must raise
    tol_class: str = ""
    tol_table: dict = dataclasses.field(default_factory=dict)  # dtype -> [rtol, atol]
    deviation: str = ""  # a documented, deliberate difference from MLX
    compare: str = "values"  # or "shape_dtype" (random ops: the generators differ)

    def to_json(self):
        return dataclasses.asdict(self)


def common_tolerances():
    with open(SPEC_DIR / "tolerances.json") as fh:
        return json.load(fh)["tolerances"]


def _load_spec_files(names=None):
    files = sorted(SPEC_DIR.glob("*.json"))
    specs = []
    for f in files:
        if f.stem == "tolerances" or (names and f.stem not in names):
            continue
        with open(f) as fh:
            spec = json.load(fh)
        spec["_file"] = f.name
        specs.append(spec)
    return specs


def _tolerance(tolerances, cls, dtypes):
    table = tolerances.get(cls, {})
    # The loosest tolerance among the input dtypes (a float16 input makes a
    # float16 computation even when promoted with an integer).
    rtol = atol = 0.0
    for d in dtypes or ["float32"]:
        r, a = table.get(d, table.get("default", [0.0, 0.0]))
        rtol, atol = max(rtol, r), max(atol, a)
    return rtol, atol


def _edge_shapes(edge, shapes, nd_in):
    """Logical shapes of an edge variant, or None when it does not apply."""
    if edge == "empty":
        if not shapes or not shapes[0]:
            return None
        return [[0] + list(s[1:]) if s else s for s in shapes]
    if edge == "scalar":
        return [[] for _ in shapes]
    if edge == "broadcast":
        if nd_in < 2:
            return None
        return [[2, 1, 4], [3, 1]] + [list(s) for s in shapes[2:]]
    if edge in ("transposed", "sliced"):
        if not shapes or len(shapes[0]) < 2:
            return None
        return [list(s) for s in shapes]
    if edge == "nonfinite":
        return [list(s) for s in shapes]
    if edge == "large":  # tens of thousands of elements: threaded / vectorized kernel paths
        out = []
        for s in shapes:
            s = list(s)
            if len(s) >= 2:
                s[0] *= 64
                s[-1] = s[-1] * 33 + 1
            elif len(s) == 1:
                s[0] = s[0] * 4099 + 3
            out.append(s)
        return out
    return None


def _seed(case_id, base):
    return (zlib.crc32(case_id.encode()) ^ base) & 0x7FFFFFFF


def _fmt_kwargs(kw):
    return ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(kw.items()))


def load_cases(ops=None, files=None, base_seed=0, include_errors=True):
    """All cases of the spec files (optionally only the ops in `ops`)."""
    cases = []
    seen = set()
    for spec in _load_spec_files(files):
        tolerances = {**common_tolerances(), **spec.get("tolerances", {})}
        for e in spec.get("ops", []):
            op = e["op"]
            if ops and op not in ops:
                continue
            domains = e.get("domains", ["any"])
            fixed = e.get("input_dtypes", [None] * len(domains))
            dtype_sets = [[d if f is None else f for f in fixed] for d in e.get("dtypes", ["float32"])]
            dtype_sets += [list(ds) for ds in e.get("dtype_sets", [])]
            shape_sets = e.get("shapes", [[[3, 4]] * len(domains)])
            kwarg_sets = e.get("kwargs", [{}])
            edges = e.get("edges", [])
            for ds in dtype_sets:
                variants = [("base", ss) for ss in shape_sets]
                for edge in edges:
                    if edge in TRANSFORMS:
                        if "float32" in ds and all(d in ("float32", "bool", "int32") for d in ds):
                            variants += [(edge, ss) for ss in shape_sets]
                        continue
                    if edge == "nonfinite" and not any(d in ("float32", "float16", "bfloat16", "float64") for d in ds):
                        continue
                    # Long low-precision accumulations differ by design (MLX sums
                    # float16 in float16), so large cases use 32-bit dtypes.
                    if edge == "large" and any(d in ("float16", "bfloat16", "float64") for d in ds):
                        continue
                    es = _edge_shapes(edge, shape_sets[0], len(domains))
                    if es is not None:
                        variants.append((edge, es))
                for kw in kwarg_sets:
                    for variant, ss in variants:
                        cid = f"{op}[{'/'.join(ds)}]{{{_fmt_kwargs(kw)}}}<{';'.join('x'.join(map(str, s)) for s in ss)}>{variant}"
                        if cid in seen:
                            continue
                        seen.add(cid)
                        rtol, atol = _tolerance(tolerances, e.get("class", "exact"), ds)
                        if variant in TRANSFORMS:  # derivative formulas differ in rounding
                            rtol, atol = max(rtol, 1e-4), max(atol, 1e-5)
                        if variant == "large" and e.get("class") in ("reduction", "matmul"):
                            # summation order: the rounding error of a sum of n terms grows ~ sqrt(n)
                            n = 1
                            for d in ss[0]:
                                n *= d
                            atol *= max(1.0, n ** 0.5)
                        cases.append(Case(
                            id=cid, op=op, kind="value", dtypes=ds, shapes=[list(s) for s in ss],
                            domains=list(domains), kwargs=dict(kw), args=list(e.get("args", [])),
                            variant=variant, rtol=rtol, atol=atol,
                            list_input=bool(e.get("list_input", False)),
                            seed=_seed(cid, base_seed), tol_class=e.get("class", "exact"),
                            tol_table=tolerances.get(e.get("class", "exact"), {}),
                            deviation=e.get("known_deviation", ""),
                            compare=e.get("compare", "values")))
        if not include_errors:
            continue
        for i, e in enumerate(spec.get("errors", [])):
            op = e["op"]
            if ops and op not in ops:
                continue
            domains = e.get("domains", ["any"] * len(e.get("shapes", [])))
            cid = f"error:{op}:{e.get('name', i)}"
            cases.append(Case(
                id=cid, op=op, kind="error", dtypes=e.get("dtypes", ["float32"] * len(domains)),
                shapes=e.get("shapes", []), domains=domains, kwargs=e.get("kwargs", {}),
                args=e.get("args", []), variant="error", list_input=bool(e.get("list_input", False)),
                seed=_seed(cid, base_seed), expect=e.get("raises", ""),
                deviation=e.get("known_deviation", "")))
    return cases
