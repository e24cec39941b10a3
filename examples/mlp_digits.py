"""MLP classifier on sklearn's digits (8x8 images, 10 classes).

    python examples/mlp_digits.py --framework oxmlx   # or --framework mlx
"""

import time

import numpy as np

from _common import digits, load_framework, parse_args

args = parse_args(__doc__, epochs=30, batch_size=64, hidden=128, lr=3e-3, seed=0)
mx, nn, optim = load_framework(args.framework)


class MLP(nn.Module):
    def __init__(self, in_dims, hidden, out_dims):
        super().__init__()
        self.layers = [nn.Linear(in_dims, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, out_dims)]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](x)


def main():
    mx.random.seed(args.seed)
    xtr, ytr, xte, yte = digits(args.seed)
    xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    model = MLP(64, args.hidden, 10)
    mx.eval(model.parameters())
    opt = optim.Adam(learning_rate=args.lr)

    def loss_fn(x, y):
        return nn.losses.cross_entropy(model(x), y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    rng = np.random.default_rng(args.seed)
    step_times = []
    for epoch in range(args.epochs):
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb, yb = mx.array(xtr[idx]), mx.array(ytr[idx])
            t0 = time.perf_counter()
            loss, grads = loss_and_grad(xb, yb)
            opt.update(model, grads)
            mx.eval(model.parameters(), opt.state, loss)
            step_times.append(time.perf_counter() - t0)
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}")
    logits = model(mx.array(xte))
    acc = float(np.mean(np.array(mx.argmax(logits, axis=1)) == yte))
    warm = step_times[5:] or step_times
    print(f"[{args.framework}] test accuracy {acc:.4f}  "
          f"time/step {1e3 * np.median(warm):.3f} ms (median over {len(warm)} steps)")


if __name__ == "__main__":
    main()
