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


# ------------------------------------------------------------------ vmap

_PREFIX_ERR = "[tree_map] Additional input tree is not a valid prefix of the first tree."


def _check_axis(a):
    if a is not None and (not isinstance(a, int) or isinstance(a, bool)):
        raise ValueError("[vmap] axis must be int or None.")


def _axes_for_leaves(axes, tree, out):
    """Appends one axis per array leaf of ``tree``, ``axes`` being a prefix tree of it."""
    if axes is None or isinstance(axes, int) and not isinstance(axes, bool):
        for _, leaf in tree_flatten(tree):
            out.append(axes)
        return
    if isinstance(axes, (list, tuple)):
        if type(axes) is not type(tree) or len(axes) != len(tree):
            raise ValueError(_PREFIX_ERR)
        for a, t in zip(axes, tree):
            _axes_for_leaves(a, t, out)
        return
    if isinstance(axes, dict):
        if not isinstance(tree, dict) or set(axes) != set(tree):
            raise ValueError(_PREFIX_ERR)
        for k in tree:
            _axes_for_leaves(axes[k], tree[k], out)
        return
    _check_axis(axes)


def _check_axes_tree(axes):
    if isinstance(axes, (list, tuple)):
        for a in axes:
            _check_axes_tree(a)
    elif isinstance(axes, dict):
        for a in axes.values():
            _check_axes_tree(a)
    else:
        _check_axis(axes)


def _array_leaves(tree):
    flat = [leaf for _, leaf in tree_flatten(tree)]
    for leaf in flat:
        if not isinstance(leaf, _core.array):
            raise ValueError("[tree_flatten] The argument should contain only arrays")
    return flat


def vmap(fun, in_axes=0, out_axes=0):
    """Returns a vectorized version of ``fun``.

    ``in_axes``/``out_axes``: an int, ``None`` (not vectorized) or a prefix tree
    of the arguments / outputs of ``fun`` with one of those at each node.
    """
    if in_axes is None or out_axes is None:
        raise TypeError(
            "vmap(): incompatible function arguments: in_axes and out_axes must be an int "
            "or a tree of ints / None."
        )
    _check_axes_tree(in_axes)
    _check_axes_tree(out_axes)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        if kwargs:
            raise TypeError("[vmap] Keyword arguments are not supported.")
        flat_in = _array_leaves(args)
        axes = []
        _axes_for_leaves(in_axes, args, axes)
        holder = {}

        def inner(xs):
            out = fun(*_rebuild(args, xs))
            holder["tree"] = out
            return _array_leaves(out)

        def flat_out_axes():
            oa = []
            _axes_for_leaves(out_axes, holder["tree"], oa)
            return oa

        outs = _core._vmap_flat(inner, flat_in, axes, flat_out_axes)
        return _rebuild(holder["tree"], list(outs))

    return wrapped


# ------------------------------------------------- custom_function, checkpoint


def _flat_grads(res, n, what):
    """The array leaves of a rule's result as a list of n entries (None: zero)."""
    if res is None:
        return [None] * n
    if isinstance(res, _core.array):
        res = [res]
    flat = [leaf for _, leaf in tree_flatten(res)]
    for leaf in flat:
        if leaf is not None and not isinstance(leaf, _core.array):
            raise ValueError(f"[{what}] The rule must return arrays, got {type(leaf).__name__}.")
    if len(flat) > n:
        raise ValueError(f"[{what}] The rule returned {len(flat)} arrays for {n} inputs.")
    return flat + [None] * (n - len(flat))


def _array_args(args):
    """The array leaves of ``args`` and a function rebuilding ``args`` with new
    arrays in their places (other leaves are kept as constants)."""
    flat = [leaf for _, leaf in tree_flatten(args) if isinstance(leaf, _core.array)]

    def rebuild(xs):
        it = iter(xs)
        return tree_map(lambda leaf: next(it) if isinstance(leaf, _core.array) else leaf, args)

    return flat, rebuild


class custom_function:
    """Set up a function for custom gradient and vmap definitions (see MLX)."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._vjp = None
        self._jvp = None
        self._vmap = None

    def vjp(self, fun):
        """Defines ``fun(primals, cotangent, output)`` as the vector-Jacobian product."""
        self._vjp = fun
        return self

    def jvp(self, fun):
        """Defines ``fun(primals, tangents)`` as the Jacobian-vector product."""
        self._jvp = fun
        return self

    def vmap(self, fun):
        """Defines ``fun(inputs, axes)`` returning ``(outputs, out_axes)`` as the vmap rule."""
        self._vmap = fun
        return self

    def __call__(self, *args, **kwargs):
        flat_in, rebuild = _array_args(args)
        n = len(flat_in)
        holder = {}

        def one(tree):
            return tree[0] if len(args) == 1 else tree

        def fun_flat(xs):
            out = self._fun(*rebuild(xs), **kwargs)
            holder["tree"] = out
            return _array_leaves(out)

        def vjp_flat(primals, cots, outs):
            tree = holder["tree"]
            res = self._vjp(one(rebuild(primals)), _rebuild(tree, cots), _rebuild(tree, outs))
            return _flat_grads(res, n, "custom_function.vjp")

        def jvp_flat(primals, tangents):
            res = self._jvp(one(rebuild(primals)), one(rebuild(tangents)))
            return _array_leaves(res)

        def vmap_flat(inputs, axes):
            res = self._vmap(rebuild(inputs), rebuild(axes))
            if not isinstance(res, (list, tuple)) or len(res) != 2:
                raise ValueError("[custom_function.vmap] The rule must return (outputs, out_axes).")
            outs, oax = res
            flat = _array_leaves(outs)
            axes_out = []
            _axes_for_leaves(oax, outs, axes_out)
            return flat, axes_out

        outs = _core._custom_function(
            fun_flat, flat_in,
            vjp_flat if self._vjp is not None else None,
            jvp_flat if self._jvp is not None else None,
            vmap_flat if self._vmap is not None else None,
        )
        return _rebuild(holder["tree"], list(outs))


def checkpoint(fun):
    """Returns ``fun`` with its intermediates recomputed in the backward pass."""

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        flat_in, rebuild = _array_args(args)
        holder = {}

        def fun_flat(xs):
            out = fun(*rebuild(xs), **kwargs)
            holder["tree"] = out
            return _array_leaves(out)

        outs = _core._checkpoint(fun_flat, flat_in)
        return _rebuild(holder["tree"], list(outs))

    return wrapped
