"""MLP classifier on sklearn's digits (8x8 images, 10 classes).

    python examples/mlp_digits.py --framework oxmlx   # or --framework mlx
"""

from _common import digits, fit_digits, load_framework, parse_args

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
    fit_digits(mx, nn, model, opt, (xtr, ytr, xte, yte), args, log_every=10)


if __name__ == "__main__":
    main()
