"""Runs cases on oxmlx and on MLX with identical inputs and compares."""

import math
import traceback

import numpy as np

FLOATS = ("float16", "bfloat16", "float32", "float64")
_NP = {
    "bool": np.bool_, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
    "uint64": np.uint64, "int8": np.int8, "int16": np.int16, "int32": np.int32,
    "int64": np.int64, "float16": np.float16, "float32": np.float32, "float64": np.float64,
    "bfloat16": np.float32, "complex64": np.complex64,
}


def _round_bf16(x):
    """float32 values rounded (to nearest even) onto the bfloat16 grid, so
    that the conversion each framework does is exact."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    out = r.view(np.float32).copy()
    out[np.isnan(x)] = np.nan
    return out


def _values(rng, domain, shape, dtype):
    n = int(np.prod(shape)) if shape else 1
    if dtype == "bool":
        return rng.random(n) < 0.5
    lo_hi = None
    if domain.startswith("index:"):
        k = int(domain.split(":")[1])
        v = rng.integers(-k, k, n)
        return v
    if domain.startswith("range:"):
        a, b = (float(t) for t in domain.split(":")[1:3])
        lo_hi = (a, b)
    is_int = dtype not in FLOATS and dtype != "complex64"
    unsigned = dtype.startswith("uint")
    if is_int:
        if domain in ("positive", "nonzero_pos"):
            return rng.integers(1, 10, n)
        if domain == "nonzero":
            v = rng.integers(1, 8, n)
            return v if unsigned else v * rng.choice([-1, 1], n)
        if domain == "small":
            return rng.integers(0, 6, n)
        if lo_hi:
            return rng.integers(int(lo_hi[0]), int(lo_hi[1]) + 1, n)
        return rng.integers(0, 20, n) if unsigned else rng.integers(-10, 11, n)
    if domain == "positive":
        v = rng.uniform(0.1, 4.0, n)
    elif domain == "unit":
        v = rng.uniform(-0.95, 0.95, n)
    elif domain == "ge1":
        v = rng.uniform(1.05, 4.0, n)
    elif domain == "gt_m1":
        v = rng.uniform(-0.9, 3.0, n)
    elif domain == "nonzero":
        v = rng.uniform(0.5, 3.0, n) * rng.choice([-1.0, 1.0], n)
    elif domain == "small":
        v = rng.uniform(0.0, 3.0, n)
    elif domain == "halves":  # exact .5 cases for rounding
        v = rng.integers(-8, 8, n) * 0.5
    elif lo_hi:
        v = rng.uniform(lo_hi[0], lo_hi[1], n)
    else:
        v = rng.standard_normal(n) * 2.0
    if dtype == "complex64":
        v = v + 1j * rng.standard_normal(n)
    return v


def make_inputs(case):
    """numpy arrays: (logical values, generated layout buffer, layout) per input."""
    rng = np.random.default_rng(case.seed)
    out = []
    for i, (shape, dtype, domain) in enumerate(zip(case.shapes, case.dtypes, case.domains)):
        shape = list(shape)
        layout = None
        gen_shape = shape
        if case.variant == "transposed" and len(shape) >= 2:
            layout, gen_shape = "transposed", shape[::-1]
        elif case.variant == "sliced" and len(shape) >= 1:
            layout, gen_shape = "sliced", shape[:-1] + [2 * shape[-1] + 1]
        v = _values(rng, domain, gen_shape, dtype)
        npdt = _NP[dtype]
        g = np.asarray(v).astype(npdt).reshape(gen_shape)
        if dtype == "bfloat16":
            g = _round_bf16(g)
        if case.variant == "nonfinite" and dtype in FLOATS and g.size >= 1:
            flat = g.reshape(-1)
            for j, val in enumerate((np.nan, np.inf, -np.inf)[: flat.size]):
                flat[(j * 7 + i) % flat.size] = val
        logical = g
        if layout == "transposed":
            logical = np.transpose(g)
        elif layout == "sliced":
            logical = g[..., 1::2]
        out.append((logical, g, layout))
    return out


def _index(fw, spec):
    def one(x):
        if x is None:
            return None
        if x == "...":
            return Ellipsis
        if isinstance(x, dict) and "s" in x:
            return slice(*x["s"])
        if isinstance(x, dict) and "arr" in x:
            return fw.array(np.array(x["arr"], dtype=np.int32))
        return x
    if isinstance(spec, list):
        return tuple(one(x) for x in spec)
    return one(spec)


def resolve(fw, op):
    if op == "__getitem__":
        return lambda a, index: a[_index(fw, index)]
    if op.startswith("__") and op.endswith("__"):  # operators, with Python scalars too
        return lambda a, *rest: getattr(a, op)(*rest)
    if op.startswith("method:"):
        name = op[7:]
        return lambda a, *rest, **kw: getattr(a, name)(*rest, **kw)
    if op.startswith("attr:"):
        name = op[5:]
        return lambda a: getattr(a, name)
    obj = fw
    for part in op.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _fw_array(fw, g, dtype, layout):
    if dtype == "bfloat16":
        a = fw.array(g).astype(fw.bfloat16)
    else:
        a = fw.array(g)
        want = getattr(fw, "bool_" if dtype == "bool" else dtype)
        if a.dtype != want:
            a = a.astype(want)
    if layout == "transposed":
        a = fw.transpose(a)
    elif layout == "sliced":
        a = a[..., 1::2]
    return a


def _dtype_name(d):
    return str(d).split(".")[-1]


def _py_types(r):
    if isinstance(r, (list, tuple)):
        return ",".join(sorted({_py_types(x) for x in r})) if r else ""
    return type(r).__name__


def _to_np(fw, r):
    if isinstance(r, (list, tuple)):
        if r and all(isinstance(x, fw.array) for x in r):  # several outputs
            return [_to_np(fw, x) for x in r]
        # Python data (tolist(), .shape): its structure and element types
        return {"dtype": f"{type(r).__name__}[{_py_types(r)}]", "value": np.array(r)}
    if isinstance(r, fw.array):
        name = _dtype_name(r.dtype)
        if name == "bfloat16":
            r = r.astype(fw.float32)
        return {"dtype": name, "value": np.array(r)}
    if isinstance(r, (bool, int, float)):
        return {"dtype": type(r).__name__, "value": np.array(r)}
    if isinstance(r, fw.Dtype):
        return {"dtype": "Dtype", "value": np.array(_dtype_name(r))}
    return {"dtype": type(r).__name__, "value": np.array(r, dtype=object)}


def _literal(fw, v):
    """Spec literals: "__mx.NAME" is an attribute of the framework (dtypes)."""
    if isinstance(v, str) and v.startswith("__mx."):
        obj = fw
        for part in v[5:].split("."):
            obj = getattr(obj, part)
        return obj
    if isinstance(v, str) and v.startswith("__key:"):
        return fw.random.key(int(v[6:]))
    if isinstance(v, list):
        return [_literal(fw, x) for x in v]
    return v


def _transform(fw, case, fn, arrs, args, kwargs):
    """vjp / jvp of the op with respect to its floating inputs, with seeded
    cotangents / tangents: the derivative rules compared across frameworks."""
    diff = [i for i, d in enumerate(case.dtypes) if d in FLOATS]

    def f(*xs):
        full = list(arrs)
        for i, x in zip(diff, xs):
            full[i] = x
        r = fn(*([full] if case.list_input else full), *args, **kwargs)
        return list(r) if isinstance(r, (list, tuple)) else [r]

    primals = [arrs[i] for i in diff]
    rng = np.random.default_rng(case.seed + 1)
    if case.variant == "vjp":
        outs = f(*primals)
        cots = [fw.array(rng.standard_normal(o.shape).astype(np.float32)).astype(o.dtype) for o in outs]
        _, res = fw.vjp(f, primals, cots)
    else:
        tans = [fw.array(rng.standard_normal(p.shape).astype(np.float32)).astype(p.dtype) for p in primals]
        _, res = fw.jvp(f, primals, tans)
    return list(res)


def run_on(fw, case, inputs):
    """('ok', converted result) or ('error', type name, message) or ('missing',)."""
    fn = resolve(fw, case.op)
    if fn is None or (case.variant in ("vjp", "jvp") and not hasattr(fw, case.variant)):
        return ("missing",)
    try:
        arrs = [_fw_array(fw, g, dt, layout) for (_, g, layout), dt in zip(inputs, case.dtypes)]
        args = [arrs] if case.list_input else arrs
        kwargs = {k: (v if k == "index" else _literal(fw, v)) for k, v in case.kwargs.items()}
        if case.variant in ("vjp", "jvp"):
            r = _transform(fw, case, fn, arrs, [_literal(fw, a) for a in case.args], kwargs)
            return ("ok", _to_np(fw, r))
        r = fn(*args, *[_literal(fw, a) for a in case.args], **kwargs)
        out = _to_np(fw, r)
        return ("ok", out)
    except Exception as e:  # noqa: BLE001 - the type is the result
        return ("error", type(e).__name__, str(e).splitlines()[0] if str(e) else "")


def _flatten(x):
    return x if isinstance(x, list) else [x]


def _tol(case, out_dtype):
    """The loosest [rtol, atol] of the case's class over its input dtypes and
    the output's dtype (an integer input with a float result gets the float
    tolerance)."""
    rtol, atol = case.rtol, case.atol
    table = case.tol_table
    if out_dtype in table or out_dtype in FLOATS:
        r, a = table.get(out_dtype, table.get("default", [0.0, 0.0]))
        rtol, atol = max(rtol, r), max(atol, a)
    return rtol, atol


def compare(case, got, exp):
    """(passed, details) for one value case."""
    gl, el = _flatten(got), _flatten(exp)
    if isinstance(got, list) != isinstance(exp, list) or len(gl) != len(el):
        return False, {"reason": f"structure: {len(gl)} outputs vs {len(el)} expected"}
    worst_abs = worst_rel = 0.0
    for i, (g, e) in enumerate(zip(gl, el)):
        gv, ev = g["value"], e["value"]
        if g["dtype"] != e["dtype"]:
            return False, {"reason": f"dtype of output {i}: got {g['dtype']}, expected {e['dtype']}"}
        if gv.shape != ev.shape:
            return False, {"reason": f"shape of output {i}: got {gv.shape}, expected {ev.shape}"}
        if gv.size == 0 or case.compare == "shape_dtype":
            continue
        if ev.dtype.kind in "USOb" or gv.dtype.kind in "USO":
            if gv.dtype.kind != ev.dtype.kind or not np.array_equal(gv, ev):
                return False, {"reason": f"values of output {i} differ"}
            continue
        if ev.dtype.kind in "fc":
            gn, en = np.isnan(gv), np.isnan(ev)
            if (gn != en).any():
                return False, {"reason": f"NaN positions differ in output {i}", "max_abs": math.inf}
            gi, ei = np.isinf(gv), np.isinf(ev)
            if (gi != ei).any() or (gv[ei] != ev[ei]).any():
                return False, {"reason": f"inf values differ in output {i}", "max_abs": math.inf}
            fin = np.isfinite(ev)
            d = np.abs(gv[fin].astype(np.complex128 if ev.dtype.kind == "c" else np.float64) - ev[fin])
            ref = np.abs(ev[fin]).astype(np.float64)
        else:
            d = np.abs(gv.astype(np.float64) - ev.astype(np.float64))
            ref = np.abs(ev.astype(np.float64))
        if d.size:
            rtol, atol = _tol(case, e["dtype"])
            worst_abs = max(worst_abs, float(d.max()))
            worst_rel = max(worst_rel, float((d / np.maximum(ref, 1e-30)).max()))
            if (d > atol + rtol * ref).any():
                return False, {"reason": f"values of output {i} differ beyond rtol={rtol}, atol={atol}",
                               "max_abs": worst_abs, "max_rel": worst_rel}
    return True, {"max_abs": worst_abs, "max_rel": worst_rel}


def _jsonable(x):
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {"dtype": x["dtype"], "shape": list(x["value"].shape), "value": _jsonable_arr(x["value"])}
    return x


def _jsonable_arr(v):
    if v.dtype.kind == "c":
        return [[float(z.real), float(z.imag)] for z in v.reshape(-1)]
    if v.dtype.kind == "O":
        return [str(z) for z in v.reshape(-1)]
    out = []
    for z in v.reshape(-1).tolist():
        if isinstance(z, float) and not math.isfinite(z):
            out.append(str(z))
        else:
            out.append(z)
    return out


def _index_src(spec):
    """Python source of a spec index ({"s": [..]} -> a:b:c, {"arr": [..]} -> mx.array)."""
    def one(x):
        if x is None:
            return "None"
        if x == "...":
            return "..."
        if isinstance(x, dict) and "s" in x:
            return ":".join("" if v is None else str(v) for v in x["s"])
        if isinstance(x, dict) and "arr" in x:
            return f"mx.array({x['arr']})"
        return repr(x)
    if isinstance(spec, list):
        return ", ".join(one(x) for x in spec) + ("," if len(spec) == 1 else "")
    return one(spec)


def repro(case, inputs):
    """A Python snippet that rebuilds the inputs and calls the op."""
    lines = ["import numpy as np", "import oxmlx.core as mx  # or: import mlx.core as mx",
             "nan, inf = np.nan, np.inf"]
    names = []
    for k, ((logical, g, layout), dt) in enumerate(zip(inputs, case.dtypes)):
        vals = np.array2string(g, separator=", ", threshold=10**6, floatmode="unique").replace("\n", "")
        npdt = "float32" if dt == "bfloat16" else ("bool_" if dt == "bool" else dt)
        src = f"mx.array(np.array({vals}, dtype=np.{npdt}).reshape({tuple(g.shape)}))"
        dtn = "bool_" if dt == "bool" else dt
        src += f".astype(mx.{dtn})"
        if layout == "transposed":
            src = f"mx.transpose({src})"
        elif layout == "sliced":
            src = f"{src}[..., 1::2]"
        lines.append(f"x{k} = {src}")
        names.append(f"x{k}")
    args = f"[{', '.join(names)}]" if case.list_input else ", ".join(names)
    extra = [repr(a) for a in case.args] + [f"{k}={v!r}" for k, v in case.kwargs.items()]
    if case.op == "__getitem__":
        lines.append(f"out = {names[0]}[{_index_src(case.kwargs.get('index'))}]")
    elif case.op.startswith("__") or case.op.startswith("method:"):
        name = case.op[7:] if case.op.startswith("method:") else case.op
        rest = names[1:] + extra
        lines.append(f"out = {names[0]}.{name}({', '.join(rest)})")
    elif case.op.startswith("attr:"):
        lines.append(f"out = {names[0]}.{case.op[5:]}")
    else:
        lines.append(f"out = mx.{case.op}({', '.join([args] + extra) if args else ', '.join(extra)})")
    return "\n".join(lines)


def run_case(case, ox, mlx):
    inputs = make_inputs(case)
    try:
        got = run_on(ox, case, inputs)
        exp = run_on(mlx, case, inputs) if mlx is not None else ("missing",)
    except Exception:  # noqa: BLE001 - harness bug: report, don't stop
        return {"id": case.id, "status": "harness_error", "detail": traceback.format_exc()}
    rec = {"id": case.id, "op": case.op, "kind": case.kind, "variant": case.variant,
           "dtypes": case.dtypes, "shapes": case.shapes, "kwargs": case.kwargs, "args": case.args,
           "seed": case.seed, "rtol": case.rtol, "atol": case.atol, "tol_class": case.tol_class}
    if got[0] == "missing":
        rec["status"] = "missing_in_oxmlx"
        return rec
    if exp[0] == "missing":
        rec["status"] = "missing_in_mlx"
        return rec
    if case.kind == "error":
        rec["got"] = got[1] if got[0] == "error" else "no exception"
        rec["expected"] = exp[1] if exp[0] == "error" else "no exception"
        rec["got_message"] = got[2] if got[0] == "error" else ""
        rec["expected_message"] = exp[2] if exp[0] == "error" else ""
        ok = got[0] == "error" and exp[0] == "error" and got[1] == exp[1]
        if case.expect and exp[0] == "error" and exp[1] != case.expect:
            rec["note"] = f"spec expected {case.expect}, mlx raised {exp[1]}"
        rec["status"] = "pass" if ok else "fail"
        if not ok:
            rec["repro"] = repro(case, inputs)
            rec["inputs"] = [{"dtype": dt, "shape": list(l.shape), "layout": lay, "value": _jsonable_arr(l)}
                             for (l, _, lay), dt in zip(inputs, case.dtypes)]
        return rec
    if got[0] == "error" or exp[0] == "error":
        both = got[0] == exp[0] == "error"
        rec["got"] = f"{got[1]}: {got[2]}" if got[0] == "error" else _jsonable(got[1])
        rec["expected"] = f"{exp[1]}: {exp[2]}" if exp[0] == "error" else _jsonable(exp[1])
        if both and got[1] == exp[1]:
            rec["status"] = "pass"
            rec["note"] = f"both raise {got[1]}"
            return rec
        rec["status"] = "fail"
        rec["reason"] = ("different exception types" if both else
                         "oxmlx raised" if got[0] == "error" else "mlx raised, oxmlx did not")
    else:
        ok, detail = compare(case, got[1], exp[1])
        rec.update(detail)
        if ok:
            rec["status"] = "pass"
            return rec
        rec["status"] = "fail"
        rec["got"] = _jsonable(got[1])
        rec["expected"] = _jsonable(exp[1])
    rec["repro"] = repro(case, inputs)
    rec["inputs"] = [{"dtype": dt, "shape": list(l.shape), "layout": lay, "value": _jsonable_arr(l)}
                     for (l, _, lay), dt in zip(inputs, case.dtypes)]
    return rec


def run_cases(cases, ox, mlx, progress=None):
    results = []
    for i, c in enumerate(cases):
        r = run_case(c, ox, mlx)
        if r["status"] == "fail" and c.deviation:
            r["status"] = "known_deviation"
            r["deviation"] = c.deviation
        results.append(r)
        if progress:
            progress(i + 1, len(cases))
    return results
