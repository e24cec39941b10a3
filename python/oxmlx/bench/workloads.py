"""The workloads of oxmlx-bench.

A workload has cases (parameter sets; `quick` marks the ones of --quick), an
`inputs(params, rng)` that makes numpy inputs, and one builder per API family
(`mlx`, `numpy`, `torch`, `jax`) that takes the framework, its inputs and the
parameters and returns a zero-argument callable computing the result. A
family without a builder (or a builder returning None) is "n/a" for that case.
`flops(params)` (optional) turns times into GFLOP/s.
"""

import math

import numpy as np

WORKLOADS = {}


class Workload:
    name = ""
    cases = ()           # list of dicts; key "quick": included in --quick
    rtol, atol = 1e-4, 1e-4

    def label(self, p):
        return ", ".join(f"{k}={v}" for k, v in p.items() if k != "quick")

    def inputs(self, p, rng):
        raise NotImplementedError

    def flops(self, p):
        return None


def register(cls):
    WORKLOADS[cls.name] = cls()
    return cls


def _has(mod, path):
    for part in path.split("."):
        if not hasattr(mod, part):
            return False
        mod = getattr(mod, part)
    return True


def _f32(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


_TORCH_DT = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


@register
class Gemm(Workload):
    name = "gemm"
    cases = [dict(n=256, dtype="float32", quick=True), dict(n=1024, dtype="float32", quick=True),
             dict(n=2048, dtype="float32"), dict(n=1024, dtype="bfloat16", quick=True)]
    rtol, atol = 2e-3, 2e-3

    def inputs(self, p, rng):
        n = p["n"]
        return {"a": _f32(rng, n, n) / math.sqrt(n), "b": _f32(rng, n, n)}

    def tol(self, p):
        return (3e-2, 3e-2) if p["dtype"] != "float32" else (self.rtol, self.atol)

    def flops(self, p):
        return 2 * p["n"] ** 3

    def mlx(self, fw, x, p):
        mx = fw.mod
        dt = getattr(mx, p["dtype"])
        a, b = x["a"].astype(dt), x["b"].astype(dt)
        fw.sync([a, b])
        return lambda: mx.matmul(a, b)

    def numpy(self, fw, x, p):
        if p["dtype"] != "float32":
            return None
        return lambda: x["a"] @ x["b"]

    def torch(self, fw, x, p):
        dt = getattr(fw.mod, _TORCH_DT[p["dtype"]])
        a, b = x["a"].to(dt), x["b"].to(dt)
        return lambda: a @ b

    def jax(self, fw, x, p):
        import jax

        dt = getattr(fw.mod, p["dtype"])
        a, b = x["a"].astype(dt), x["b"].astype(dt)
        f = jax.jit(lambda u, v: u @ v)
        return lambda: f(a, b)


@register
class BatchedMatmul(Workload):
    name = "bmm"
    cases = [dict(batch=32, n=256, quick=True)]
    rtol, atol = 2e-3, 2e-3

    def inputs(self, p, rng):
        b, n = p["batch"], p["n"]
        return {"a": _f32(rng, b, n, n) / math.sqrt(n), "b": _f32(rng, b, n, n)}

    def flops(self, p):
        return 2 * p["batch"] * p["n"] ** 3

    def mlx(self, fw, x, p):
        return lambda: fw.mod.matmul(x["a"], x["b"])

    numpy = torch = mlx

    def jax(self, fw, x, p):
        import jax

        f = jax.jit(lambda u, v: u @ v)
        return lambda: f(x["a"], x["b"])


def _chain(m, x):
    return m.exp(x) * 2 + x * x - 1


@register
class Elementwise(Workload):
    name = "chain"
    cases = [dict(size=10**7, compiled=False, quick=True), dict(size=10**7, compiled=True, quick=True)]
    rtol, atol = 1e-5, 1e-4

    def label(self, p):
        return f"exp(x)*2+x*x-1, n=1e{int(math.log10(p['size']))}" + (", compiled" if p["compiled"] else "")

    def inputs(self, p, rng):
        return {"x": _f32(rng, p["size"])}

    def mlx(self, fw, x, p):
        mx = fw.mod
        if p["compiled"]:
            if not _has(mx, "compile"):
                return None
            f = mx.compile(lambda v: _chain(mx, v))
            return lambda: f(x["x"])
        return lambda: _chain(mx, x["x"])

    def numpy(self, fw, x, p):
        return None if p["compiled"] else (lambda: _chain(np, x["x"]))

    def torch(self, fw, x, p):
        # torch.compile needs a C compiler toolchain at run time and minutes
        # of warm-up; eager torch is what users run.
        return None if p["compiled"] else (lambda: _chain(fw.mod, x["x"]))

    def jax(self, fw, x, p):
        import jax

        jnp = fw.mod
        f = jax.jit(lambda v: _chain(jnp, v)) if p["compiled"] else (lambda v: _chain(jnp, v))
        return lambda: f(x["x"])


@register
class Reduce(Workload):
    name = "reduce"
    cases = [dict(n=4096, axis=0, quick=True), dict(n=4096, axis=1, quick=True),
             dict(n=4096, axis=None, quick=True)]
    rtol, atol = 1e-4, 1e-2

    def label(self, p):
        return f"sum {p['n']}^2, axis={p['axis']}"

    def tol(self, p):
        # A float32 sum of n^2 unit normals is off by ~n * 1e-7 * sqrt(n) in any order.
        return (1e-4, 1e-2 if p["axis"] is not None else 1e-7 * p["n"] ** 2)

    def inputs(self, p, rng):
        return {"x": _f32(rng, p["n"], p["n"])}

    def mlx(self, fw, x, p):
        return lambda: fw.mod.sum(x["x"], axis=p["axis"])

    def numpy(self, fw, x, p):
        return lambda: np.sum(x["x"], axis=p["axis"])

    def torch(self, fw, x, p):
        t = fw.mod
        return (lambda: t.sum(x["x"])) if p["axis"] is None else (lambda: t.sum(x["x"], dim=p["axis"]))

    def jax(self, fw, x, p):
        import jax

        f = jax.jit(lambda v: fw.mod.sum(v, axis=p["axis"]))
        return lambda: f(x["x"])


@register
class Norms(Workload):
    name = "norms"
    cases = [dict(op="softmax", n=4096, quick=True), dict(op="layer_norm", n=4096, quick=True),
             dict(op="rms_norm", n=4096)]
    rtol, atol = 1e-4, 1e-5

    def label(self, p):
        return f"{p['op']} {p['n']}^2, last axis"

    def inputs(self, p, rng):
        n = p["n"]
        return {"x": _f32(rng, n, n), "w": _f32(rng, n), "b": _f32(rng, n)}

    def mlx(self, fw, x, p):
        mx = fw.mod
        op, v, w, b = p["op"], x["x"], x["w"], x["b"]
        if op == "softmax":
            return lambda: mx.softmax(v, axis=-1)
        if not _has(mx, f"fast.{op}"):
            return None
        if op == "layer_norm":
            return lambda: mx.fast.layer_norm(v, w, b, 1e-5)
        return lambda: mx.fast.rms_norm(v, w, 1e-5)

    def numpy(self, fw, x, p):
        op, v, w, b = p["op"], x["x"], x["w"], x["b"]
        if op == "softmax":
            def f():
                e = np.exp(v - v.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)
        elif op == "layer_norm":
            def f():
                mu = v.mean(axis=-1, keepdims=True)
                return (v - mu) / np.sqrt(v.var(axis=-1, keepdims=True) + 1e-5) * w + b
        else:
            def f():
                return v / np.sqrt((v * v).mean(axis=-1, keepdims=True) + 1e-5) * w
        return f

    def torch(self, fw, x, p):
        t = fw.mod
        F = t.nn.functional
        op, v, w, b = p["op"], x["x"], x["w"], x["b"]
        if op == "softmax":
            return lambda: t.softmax(v, dim=-1)
        if op == "layer_norm":
            return lambda: F.layer_norm(v, (v.shape[-1],), w, b, 1e-5)
        if not hasattr(F, "rms_norm"):
            return None
        return lambda: F.rms_norm(v, (v.shape[-1],), w, 1e-5)

    def jax(self, fw, x, p):
        import jax

        jnp = fw.mod
        v, w, b = x["x"], x["w"], x["b"]
        if p["op"] == "softmax":
            f = jax.jit(lambda u: jax.nn.softmax(u, axis=-1))
        elif p["op"] == "layer_norm":
            f = jax.jit(lambda u: (u - u.mean(-1, keepdims=True))
                        / jnp.sqrt(u.var(-1, keepdims=True) + 1e-5) * w + b)
        else:
            f = jax.jit(lambda u: u / jnp.sqrt((u * u).mean(-1, keepdims=True) + 1e-5) * w)
        return lambda: f(v)


@register
class Conv2d(Workload):
    name = "conv2d"
    cases = [dict(batch=8, hw=56, cin=64, cout=64, k=3, quick=True)]
    rtol, atol = 1e-3, 1e-3

    def label(self, p):
        return f"N={p['batch']} {p['hw']}x{p['hw']}x{p['cin']}->{p['cout']} {p['k']}x{p['k']}"

    def inputs(self, p, rng):
        k, c = p["k"], p["cin"]
        return {"x": _f32(rng, p["batch"], p["hw"], p["hw"], c),                 # NHWC
                "w": _f32(rng, p["cout"], k, k, c) / math.sqrt(k * k * c)}     # OHWI

    def flops(self, p):
        return 2 * p["batch"] * p["hw"] ** 2 * p["cout"] * p["cin"] * p["k"] ** 2

    def mlx(self, fw, x, p):
        mx = fw.mod
        if not _has(mx, "conv2d"):
            return None
        return lambda: mx.conv2d(x["x"], x["w"], padding=p["k"] // 2)

    def torch(self, fw, x, p):
        t = fw.mod
        xi = x["x"].permute(0, 3, 1, 2).contiguous()
        wi = x["w"].permute(0, 3, 1, 2).contiguous()
        return lambda: t.nn.functional.conv2d(xi, wi, padding=p["k"] // 2).permute(0, 2, 3, 1)

    def jax(self, fw, x, p):
        import jax

        f = jax.jit(lambda u, w: jax.lax.conv_general_dilated(
            u, w, (1, 1), "SAME", dimension_numbers=("NHWC", "OHWI", "NHWC")))
        return lambda: f(x["x"], x["w"])


@register
class Attention(Workload):
    name = "sdpa"
    cases = [dict(batch=1, heads=8, seq=512, dim=64, causal=False, quick=True),
             dict(batch=1, heads=8, seq=512, dim=64, causal=True)]
    rtol, atol = 1e-3, 1e-4

    def label(self, p):
        return f"B={p['batch']} H={p['heads']} L={p['seq']} D={p['dim']}" + (" causal" if p["causal"] else "")

    def inputs(self, p, rng):
        shape = (p["batch"], p["heads"], p["seq"], p["dim"])
        return {k: _f32(rng, *shape) for k in "qkv"}

    def flops(self, p):
        return 4 * p["batch"] * p["heads"] * p["seq"] ** 2 * p["dim"] / (2 if p["causal"] else 1)

    def mlx(self, fw, x, p):
        mx = fw.mod
        if not _has(mx, "fast.scaled_dot_product_attention"):
            return None
        scale = 1 / math.sqrt(p["dim"])
        mask = "causal" if p["causal"] else None
        return lambda: mx.fast.scaled_dot_product_attention(x["q"], x["k"], x["v"], scale=scale,
                                                            mask=mask)

    def numpy(self, fw, x, p):
        def f():
            s = x["q"] @ np.swapaxes(x["k"], -1, -2) / math.sqrt(p["dim"])
            if p["causal"]:
                L = p["seq"]
                s = np.where(np.tril(np.ones((L, L), bool)), s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            return (s / s.sum(-1, keepdims=True)) @ x["v"]
        return f

    def torch(self, fw, x, p):
        F = fw.mod.nn.functional
        return lambda: F.scaled_dot_product_attention(x["q"], x["k"], x["v"], is_causal=p["causal"])


def _mlp_params(rng, sizes):
    out = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        out.append((rng.uniform(-1, 1, (a, b)).astype(np.float32) / math.sqrt(a),
                    np.zeros(b, np.float32)))
    return out


@register
class MlpStep(Workload):
    name = "mlp_step"
    cases = [dict(batch=256, sizes=(784, 512, 512, 10), quick=True)]
    rtol, atol = 1e-4, 1e-4

    def label(self, p):
        return f"train step, batch={p['batch']}, {'-'.join(map(str, p['sizes']))}, SGD"

    def inputs(self, p, rng):
        x = {"x": _f32(rng, p["batch"], p["sizes"][0]),
             "y": rng.integers(0, p["sizes"][-1], p["batch"]).astype(np.int32)}
        for i, (w, b) in enumerate(_mlp_params(rng, p["sizes"])):
            x[f"w{i}"], x[f"b{i}"] = w, b
        return x

    def flops(self, p):
        s = p["sizes"]
        return 6 * p["batch"] * sum(a * b for a, b in zip(s[:-1], s[1:]))

    @staticmethod
    def _layers(x):
        return sorted(k for k in x if k[0] == "w"), sorted(k for k in x if k[0] == "b")

    def mlx(self, fw, x, p):
        mx = fw.mod
        ws, bs = self._layers(x)
        params = {k: x[k] for k in ws + bs}
        n = len(ws)
        onehot = mx.array(np.eye(p["sizes"][-1], dtype=np.float32)[fw.to_numpy(x["y"])])

        def loss(prm):
            h = x["x"]
            for i in range(n):
                h = h @ prm[f"w{i}"] + prm[f"b{i}"]
                if i < n - 1:
                    h = mx.maximum(h, 0)
            lse = mx.logsumexp(h, axis=-1)
            return mx.mean(lse - mx.sum(h * onehot, axis=-1))

        vg = mx.value_and_grad(loss)
        state = {"p": params}

        def step():
            val, g = vg(state["p"])
            state["p"] = {k: v - 0.1 * g[k] for k, v in state["p"].items()}
            return [val] + [state["p"][k] for k in ws]
        return step

    def torch(self, fw, x, p):
        t = fw.mod
        ws, bs = self._layers(x)
        n = len(ws)
        params = {k: x[k].clone().requires_grad_(True) for k in ws + bs}
        opt = t.optim.SGD(list(params.values()), lr=0.1)
        y = x["y"].long()

        def step():
            opt.zero_grad()
            h = x["x"]
            for i in range(n):
                h = h @ params[f"w{i}"] + params[f"b{i}"]
                if i < n - 1:
                    h = t.relu(h)
            val = t.nn.functional.cross_entropy(h, y)
            val.backward()
            opt.step()
            return [val] + [params[k] for k in ws]
        return step


@register
class Overhead(Workload):
    name = "overhead"
    cases = [dict(ops=1000, shape=(16,), quick=True)]
    rtol, atol = 0, 0

    def label(self, p):
        return f"{p['ops']} dependent adds of {p['shape']} (per call)"

    def inputs(self, p, rng):
        return {"x": np.zeros(p["shape"], np.float32)}

    def _loop(self, x, n):
        def f():
            y = x
            for _ in range(n):
                y = y + 1
            return y
        return f

    def mlx(self, fw, x, p):
        return self._loop(x["x"], p["ops"])

    numpy = torch = mlx

    def jax(self, fw, x, p):
        return self._loop(x["x"], p["ops"])


@register
class SafetensorsLoad(Workload):
    name = "load"
    cases = [dict(tensors=16, mib=64, quick=True)]
    rtol, atol = 0, 0

    def label(self, p):
        return f"safetensors load, {p['tensors']} tensors, {p['mib']} MiB"

    def inputs(self, p, rng):
        n = p["mib"] * 2**20 // 4 // p["tensors"]
        return {f"t{i}": _f32(rng, n) for i in range(p["tensors"])}

    def _file(self, x):
        import os
        import tempfile

        path = getattr(self, "_path", None)
        if path is None or not os.path.exists(path):
            from safetensors.numpy import save_file

            fd, path = tempfile.mkstemp(suffix=".safetensors")
            os.close(fd)
            save_file({k: v for k, v in x.items()}, path)
            self._path = path
        return path

    def _np_inputs(self, fw, x):
        return {k: fw.to_numpy(v) for k, v in x.items()}

    def mlx(self, fw, x, p):
        mx = fw.mod
        path = self._file(self._np_inputs(fw, x))
        keys = sorted(x)

        def f():
            d = mx.load(path)
            return [d[k] for k in keys]
        return f

    def numpy(self, fw, x, p):
        try:
            from safetensors.numpy import load_file
        except ImportError:
            return None
        path = self._file(x)
        keys = sorted(x)
        return lambda: [load_file(path)[k] for k in keys]

    def torch(self, fw, x, p):
        try:
            from safetensors.torch import load_file
        except ImportError:
            return None
        path = self._file(self._np_inputs(fw, x))
        keys = sorted(x)
        return lambda: [load_file(path)[k] for k in keys]
