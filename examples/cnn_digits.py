"""Small CNN (Conv2d + MaxPool2d) classifier on sklearn's digits.

    python examples/cnn_digits.py --framework oxmlx   # or --framework mlx
"""

import time

import numpy as np

from _common import digits, load_framework, parse_args

args = parse_args(__doc__, epochs=20, batch_size=64, lr=3e-3, seed=0)
mx, nn, optim = load_framework(args.framework)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.norm = nn.BatchNorm(32)
        self.fc = nn.Linear(2 * 2 * 32, 10)

    def __call__(self, x):
        x = self.pool(nn.relu(self.conv1(x)))          # (N, 4, 4, 16)
        x = self.pool(nn.relu(self.norm(self.conv2(x))))  # (N, 2, 2, 32)
        return self.fc(x.reshape(x.shape[0], -1))


def main():
    mx.random.seed(args.seed)
    xtr, ytr, xte, yte = digits(args.seed)
    xtr, xte = xtr[..., None], xte[..., None]  # channels last
    model = CNN()
    mx.eval(model.parameters())
    opt = optim.AdamW(learning_rate=args.lr, weight_decay=1e-4)

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
            if len(idx) < 2:
                continue
            xb, yb = mx.array(xtr[idx]), mx.array(ytr[idx])
            t0 = time.perf_counter()
            loss, grads = loss_and_grad(xb, yb)
            opt.update(model, grads)
            mx.eval(model.state, opt.state, loss)
            step_times.append(time.perf_counter() - t0)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}")
    model.eval()
    logits = model(mx.array(xte))
    acc = float(np.mean(np.array(mx.argmax(logits, axis=1)) == yte))
    warm = step_times[5:] or step_times
    print(f"[{args.framework}] test accuracy {acc:.4f}  "
          f"time/step {1e3 * np.median(warm):.3f} ms (median over {len(warm)} steps)")


if __name__ == "__main__":
    main()
