"""Shared bits of the examples: framework selection, the digits data set and
the training loop of the digits classifiers."""

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


def fit_digits(mx, nn, model, opt, data, args, log_every, min_batch=1):
    """Trains the classifier ``model`` on ``data`` = digits() (shaped for it)
    with cross-entropy: ``args.epochs`` epochs of shuffled ``args.batch_size``
    batches (one of fewer than ``min_batch`` examples is skipped), the loss
    printed every ``log_every`` epochs; then prints the test accuracy and the
    median time of a training step."""
    import time

    import numpy as np

    xtr, ytr, xte, yte = data

    def loss_fn(x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    rng = np.random.default_rng(args.seed)
    step_times = []
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i:i + args.batch_size]
            if len(idx) < min_batch:
                continue
            xb, yb = mx.array(xtr[idx]), mx.array(ytr[idx])
            t0 = time.perf_counter()
            loss, grads = loss_and_grad(xb, yb)
            opt.update(model, grads)
            mx.eval(model.state, opt.state, loss)
            step_times.append(time.perf_counter() - t0)
        if epoch % log_every == log_every - 1 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}")
    model.eval()
    logits = model(mx.array(xte))
    acc = float(np.mean(np.array(mx.argmax(logits, axis=1)) == yte))
    warm = step_times[5:] or step_times
    print(f"[{args.framework}] test accuracy {acc:.4f}  "
          f"time/step {1e3 * np.median(warm):.3f} ms (median over {len(warm)} steps)")
