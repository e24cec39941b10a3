"""The frameworks oxmlx-bench compares: a small adapter per framework that
moves numpy inputs in, results out, and waits for lazy/async work to finish.

Workloads are written once per *API family*: "mlx" (oxmlx.core and mlx.core
share the API, which is the point of oxmlx), "numpy", "torch" and "jax".
"""

import importlib
import os


class Framework:
    """One framework (and, for oxmlx, one backend) on one device."""

    def __init__(self, name, family, mod, device):
        self.name = name          # column label: "oxmlx", "oxmlx[mlx]", "numpy", ...
        self.family = family      # "mlx" | "numpy" | "torch" | "jax"
        self.mod = mod            # the module workloads call (mx, np, torch, jnp)
        self.device = device      # "cpu" | "gpu"
        self.stream = None        # oxmlx/mlx: the stream ops are issued on

    # ---- data in and out ----
    def asarray(self, x):
        f = self.family
        if f == "mlx":
            return self.mod.array(x)
        if f == "numpy":
            return x
        if f == "torch":
            import torch

            t = torch.from_numpy(x.copy())
            return t.cuda() if self.device == "gpu" else t
        if f == "jax":
            import jax

            return jax.device_put(x)
        raise AssertionError(f)

    def to_numpy(self, y):
        import numpy as np

        if isinstance(y, (tuple, list)):
            return [self.to_numpy(v) for v in y]
        if isinstance(y, (int, float)):
            return np.asarray(y)
        if self.family == "mlx":
            if y.dtype == self.mod.bfloat16:
                y = y.astype(self.mod.float32)
            return np.array(y)
        if self.family == "torch":
            import torch

            y = y.detach()
            if y.dtype in (torch.bfloat16, torch.float16):
                y = y.float()
            return y.cpu().numpy()
        return np.asarray(y, dtype=np.float32 if str(getattr(y, "dtype", "")) == "bfloat16" else None)

    def sync(self, y):
        """Block until y (an output or a pytree of outputs) is computed."""
        f = self.family
        if f == "mlx":
            self.mod.eval(y)
        elif f == "torch":
            if self.device == "gpu":
                import torch

                torch.cuda.synchronize()
        elif f == "jax":
            import jax

            jax.block_until_ready(y)

    def context(self):
        """Context manager that makes this framework's device/stream the default."""
        import contextlib

        if self.family == "mlx" and self.stream is not None:
            return self.mod.stream(self.stream)
        return contextlib.nullcontext()


def _try_import(name):
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return None


def discover(device="cpu", wanted=None):
    """The frameworks installed here, for `device` ("cpu" or "gpu")."""
    out = []
    mx = _try_import("oxmlx.core")
    if mx is not None:
        dev = mx.gpu if device == "gpu" else mx.cpu
        if device == "cpu" or mx.is_available(mx.gpu):
            backends = mx.backends() if hasattr(mx, "backends") else ["cpu"]
            for b in backends:
                try:
                    s = mx.new_stream(dev, backend=b)
                except Exception:  # noqa: BLE001 - backend not for this device
                    continue
                fw = Framework("oxmlx" if b in ("cpu", "cuda", "metal") else f"oxmlx[{b}]",
                               "mlx", mx, device)
                fw.stream = s
                out.append(fw)
    np = _try_import("numpy")
    if np is not None and device == "cpu":
        out.append(Framework("numpy", "numpy", np, device))
    mlx = _try_import("mlx.core")
    if mlx is not None:
        dev = mlx.gpu if device == "gpu" else mlx.cpu
        try:
            if device == "gpu" and not mlx.is_available(mlx.gpu):
                raise RuntimeError
            fw = Framework("mlx", "mlx", mlx, device)
            fw.stream = mlx.default_stream(dev) if hasattr(mlx, "default_stream") else None
            out.append(fw)
        except Exception:  # noqa: BLE001
            pass
    torch = _try_import("torch")
    if torch is not None and (device == "cpu" or torch.cuda.is_available()):
        torch.set_num_threads(os.cpu_count() or 1)
        out.append(Framework("torch", "torch", torch, device))
    if _try_import("jax") is not None:
        jnp = _try_import("jax.numpy")
        import jax

        if device == "cpu" or any(d.platform == "gpu" for d in jax.devices()):
            out.append(Framework("jax", "jax", jnp, device))
    if wanted:
        keep = set(wanted)
        out = [f for f in out if f.name in keep]
    return out
