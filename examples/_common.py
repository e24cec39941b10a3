"""Shared bits of the examples: framework selection and the digits data set."""

import argparse
import importlib


def parse_args(description, **defaults):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--framework", choices=["oxmlx", "mlx"], default="oxmlx",
                   help="run on oxmlx or on upstream MLX (same code, imports swapped)")
    for name, value in defaults.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    return p.parse_args()


def load_framework(name):
    """(core, nn, optimizers) modules of ``name`` ("oxmlx" or "mlx")."""
    return tuple(importlib.import_module(f"{name}.{m}") for m in ("core", "nn", "optimizers"))


def digits(seed=0, test_fraction=0.2):
    """sklearn's 8x8 digits as float32 images in [0, 1] and int32 labels, split
    into train / test with a fixed permutation."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]
