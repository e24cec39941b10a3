"""grad, value_and_grad, vjp and jvp over pytrees, on the flat C++ transforms."""

import functools

from oxmlx import _core
from oxmlx.utils import tree_flatten, tree_map


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _flat_call(flat_fn, fun, primals, seeds):
    primals, seeds = _as_list(primals), _as_list(seeds)
    outs, res = flat_fn(lambda xs: _as_list(fun(*xs)), primals, seeds)
    return list(outs), list(res)


def vjp(fun, primals, cotangents):
    """Returns ``(outputs, vjps)`` of ``fun(*primals)`` for the given cotangents."""
    return _flat_call(_core._vjp_flat, fun, primals, cotangents)


def jvp(fun, primals, tangents):
    """Returns ``(outputs, jvps)`` of ``fun(*primals)`` for the given tangents."""
    return _flat_call(_core._jvp_flat, fun, primals, tangents)


def _leaves(tree, what):
    flat = tree_flatten(tree)
    for path, leaf in flat:
        if not isinstance(leaf, _core.array):
            raise ValueError(
                f"[{what}] Differentiated arguments must be trees of arrays, "
                f"got {type(leaf).__name__} at '{path or '<root>'}'."
            )
    return flat


def _rebuild(tree, leaves):
    """The structure of ``tree`` (lists, tuples, dicts kept) with new leaves in order."""
    it = iter(leaves)
    return tree_map(lambda _: next(it), tree)


def value_and_grad(fun, argnums=None, argnames=()):
    """Returns a function computing ``(fun(*args), grad of fun w.r.t. argnums/argnames)``."""
    if isinstance(argnames, str):
        argnames = [argnames]
    argnames = list(argnames)
    if argnums is None and not argnames:
        argnums = 0
    nums = [] if argnums is None else ([argnums] if isinstance(argnums, int) else list(argnums))
    single = len(nums) == 1  # as MLX: argnums=(0,) gives the gradient itself, not a 1-tuple

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        for n in nums:
            if n >= len(args) or n < -len(args):
                raise ValueError(
                    f"[grad] Invalid argument number {n} for function with {len(args)} arguments."
                )
        for name in argnames:
            if name not in kwargs:
                raise ValueError(f"[grad] Can't compute the gradient of argument '{name}' (not given).")
        trees = [args[n] for n in nums] + [kwargs[k] for k in argnames]
        flats = [_leaves(t, "grad") for t in trees]
        sizes = [len(f) for f in flats]
        primals = [leaf for f in flats for _, leaf in f]
        if not primals:
            raise ValueError("[grad] Must specify at least one argument.")
        holder = {}

        def inner(xs):
            pos = 0
            new_args, new_kwargs = list(args), dict(kwargs)
            for i, f in enumerate(flats):
                sub = _rebuild(trees[i], xs[pos : pos + sizes[i]])
                pos += sizes[i]
                if i < len(nums):
                    new_args[nums[i]] = sub
                else:
                    new_kwargs[argnames[i - len(nums)]] = sub
            out = fun(*new_args, **new_kwargs)
            holder["out"] = out
            loss = out[0] if isinstance(out, (list, tuple)) else out
            if not isinstance(loss, _core.array) or loss.size != 1:
                raise ValueError(
                    "[grad] The function must return a scalar array (or a tuple whose first "
                    f"element is one); got {type(loss).__name__}"
                    + (f" of shape {loss.shape}." if isinstance(loss, _core.array) else ".")
                )
            return [loss]

        _, grads = _core._vjp_flat(inner, primals, [])
        pos = 0
        results = []
        for f, n in zip(flats, sizes):
            results.append(_rebuild(trees[len(results)], grads[pos : pos + n]))
            pos += n
        pos_grads = results[: len(nums)]
        kw_grads = dict(zip(argnames, results[len(nums) :]))
        if argnames:
            g = (pos_grads[0] if single else tuple(pos_grads)) if nums else None
            grads_out = (g, kw_grads)
        else:
            grads_out = pos_grads[0] if single else tuple(pos_grads)
        return holder["out"], grads_out

    return wrapped


def grad(fun, argnums=None, argnames=()):
    """Returns a function computing the gradient of ``fun`` w.r.t. argnums/argnames."""
    vg = value_and_grad(fun, argnums, argnames)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return wrapped
