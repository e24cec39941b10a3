"""PyTorch twins of the three examples (same data, architecture and
hyper-parameters) for timing comparisons.

    python examples/torch_twins.py mlp|cnn|lm
"""

import inspect
import sys
import textwrap as _corpus_module
import time

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

from _common import digits


def _train(model, opt, batches, loss_fn, epochs, rng, n):
    times = []
    for _ in range(epochs):
        for xb, yb in batches(rng.permutation(n)):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
    return times


def digits_run(kind):
    torch.manual_seed(0)
    xtr, ytr, xte, yte = digits(0)
    if kind == "mlp":
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
        model = tnn.Sequential(tnn.Linear(64, 128), tnn.ReLU(), tnn.Linear(128, 128), tnn.ReLU(),
                               tnn.Linear(128, 10))
        opt = torch.optim.Adam(model.parameters(), lr=3e-3, eps=1e-8)
        epochs = 30
    else:
        xtr, xte = xtr[:, None], xte[:, None]  # NCHW
        model = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(16, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(),
                               tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(128, 10))
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        epochs = 20
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr).long()

    def batches(perm):
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            if len(idx) >= 2:
                yield xt[idx], yt[idx]

    times = _train(model, opt, batches, F.cross_entropy, epochs, np.random.default_rng(0), len(ytr))
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
    print(f"[torch {kind}] test accuracy {acc:.4f}  time/step {1e3 * np.median(times[5:]):.3f} ms")


def lm_run(steps=200, batch=16, context=64, dims=64, heads=4, layers=2):
    torch.manual_seed(0)
    text = inspect.getsource(_corpus_module)
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    rng = np.random.default_rng(0)

    def get(src, n):
        s = rng.integers(0, len(src) - context - 1, n)
        return (torch.from_numpy(np.stack([src[i:i + context] for i in s])),
                torch.from_numpy(np.stack([src[i + 1:i + context + 1] for i in s])))

    class LM(tnn.Module):
        def __init__(self):
            super().__init__()
            self.emb = tnn.Embedding(len(chars), dims)
            self.pos = tnn.Embedding(context, dims)
            layer = tnn.TransformerEncoderLayer(dims, heads, 4 * dims, dropout=0.0, batch_first=True,
                                                norm_first=True)
            self.enc = tnn.TransformerEncoder(layer, layers, norm=tnn.LayerNorm(dims), enable_nested_tensor=False)
            self.out = tnn.Linear(dims, len(chars))

        def forward(self, x):
            L = x.shape[1]
            mask = torch.triu(torch.full((L, L), float("-inf")), 1)
            return self.out(self.enc(self.emb(x) + self.pos(torch.arange(L)), mask=mask))

    model = LM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    xv, yv = get(val, 64)
    with torch.no_grad():
        first = F.cross_entropy(model(xv).transpose(1, 2), yv).item()
    times = []
    for _ in range(steps):
        x, y = get(train, batch)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x).transpose(1, 2), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        last = F.cross_entropy(model(xv).transpose(1, 2), yv).item()
    print(f"[torch lm] val loss {first:.3f} -> {last:.3f}  time/step {1e3 * np.median(times[5:]):.2f} ms "
          "(constant lr, no schedule)")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    lm_run() if which == "lm" else digits_run(which)
