"""Character-level Transformer language model trained on the source text of a
Python standard-library module (shipped with every Python).

    python examples/transformer_lm.py --framework oxmlx   # or --framework mlx
"""

import inspect
import textwrap as _corpus_module
import time

import numpy as np

from _common import load_framework, parse_args

args = parse_args(__doc__, steps=200, batch_size=16, context=64, dims=64, heads=4, layers=2,
                  lr=3e-3, seed=0, sample=80)
mx, nn, optim = load_framework(args.framework)


class CharLM(nn.Module):
    def __init__(self, vocab, dims, heads, layers, context):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dims)
        self.positions = nn.Embedding(context, dims)
        self.encoder = nn.TransformerEncoder(layers, dims, heads, mlp_dims=4 * dims, norm_first=True)
        self.out = nn.Linear(dims, vocab)

    def __call__(self, x):
        L = x.shape[1]
        mask = nn.MultiHeadAttention.create_additive_causal_mask(L)
        h = self.embedding(x) + self.positions(mx.arange(L))
        return self.out(self.encoder(h, mask))


def main():
    mx.random.seed(args.seed)
    text = inspect.getsource(_corpus_module)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int32)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    print(f"corpus: {_corpus_module.__name__}.py, {len(text)} chars, vocab {len(chars)}")

    rng = np.random.default_rng(args.seed)

    def batch(src, n):
        starts = rng.integers(0, len(src) - args.context - 1, n)
        x = np.stack([src[s:s + args.context] for s in starts])
        y = np.stack([src[s + 1:s + args.context + 1] for s in starts])
        return mx.array(x), mx.array(y)

    model = CharLM(len(chars), args.dims, args.heads, args.layers, args.context)
    mx.eval(model.parameters())
    n_params = sum(v.size for _, v in __import__(f"{args.framework}.utils", fromlist=["tree_flatten"])
                   .tree_flatten(model.parameters()))
    print(f"model: {n_params} parameters")
    sched = optim.join_schedules([optim.linear_schedule(1e-4, args.lr, 20),
                                  optim.cosine_decay(args.lr, args.steps - 20, 1e-4)], [20])
    opt = optim.AdamW(learning_rate=sched, weight_decay=0.01)

    def loss_fn(x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    xv, yv = batch(val, 64)
    first = loss_fn(xv, yv).item()
    print(f"step    0  val loss {first:.3f}  (uniform would be {np.log(len(chars)):.3f})")
    times = []
    for step in range(1, args.steps + 1):
        x, y = batch(train, args.batch_size)
        t0 = time.perf_counter()
        loss, grads = loss_and_grad(x, y)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        opt.update(model, grads)
        mx.eval(model.parameters(), opt.state, loss)
        times.append(time.perf_counter() - t0)
        if step % 50 == 0 or step == args.steps:
            print(f"step {step:4d}  train loss {loss.item():.3f}  val loss {loss_fn(xv, yv).item():.3f}")
    last = loss_fn(xv, yv).item()

    # greedy continuation of a prompt
    ids = [stoi[c] for c in "def "]
    for _ in range(args.sample):
        ctx = mx.array(np.array(ids[-args.context:], dtype=np.int32)[None])
        ids.append(int(mx.argmax(model(ctx)[0, -1]).item()))
    print("sample:", repr("".join(chars[i] for i in ids)))
    warm = times[5:] or times
    print(f"[{args.framework}] val loss {first:.3f} -> {last:.3f}  "
          f"time/step {1e3 * np.median(warm):.2f} ms (median over {len(warm)} steps)")


if __name__ == "__main__":
    main()
