"""Small CNN (Conv2d + MaxPool2d) classifier on sklearn's digits.

    python examples/cnn_digits.py --framework oxmlx   # or --framework mlx
"""

from _common import digits, fit_digits, load_framework, parse_args

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
    # BatchNorm needs two examples or more in a training batch.
    fit_digits(mx, nn, model, opt, (xtr, ytr, xte, yte), args, log_every=5, min_batch=2)


if __name__ == "__main__":
    main()
