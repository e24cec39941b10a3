"""compile: trace once per input signature, replay the cached program.

The signature of a call is the pytree structure of the arguments, the shape
(only the number of dimensions when shapeless) and dtype of every array, and
the value of every other leaf. State capture (``inputs=`` / ``outputs=``):
the arrays inside those trees are extra inputs of the traced function, and
the arrays found in ``outputs`` after it ran are extra outputs that each call
writes back into the trees in place.
"""

import functools
import os

from oxmlx import _core

_state = {"enabled": os.environ.get("MLX_DISABLE_COMPILE", "") in ("", "0", "false", "False")}


def disable_compile():
    """Globally disable compilation (compiled functions run uncompiled)."""
    _state["enabled"] = False


def enable_compile():
    """Globally enable compilation (overrides the ``MLX_DISABLE_COMPILE`` variable)."""
    _state["enabled"] = True


def _is_array(x):
    return isinstance(x, _core.array)


def _key(tree, shapeless, arrays):
    """Hashable description of tree; appends its arrays to ``arrays``."""
    if _is_array(tree):
        arrays.append(tree)
        return ("A", tree.ndim if shapeless else tree.shape, hash(tree.dtype))
    if isinstance(tree, (list, tuple)):
        return (type(tree).__name__, tuple(_key(t, shapeless, arrays) for t in tree))
    if isinstance(tree, dict):
        return ("dict", tuple((k, _key(v, shapeless, arrays)) for k, v in tree.items()))
    try:
        hash(tree)
        return ("C", type(tree), tree)
    except TypeError:
        return ("C", type(tree), id(tree))


def _state_arrays(tree, out):
    """Array leaves of a state tree (non-array leaves are ignored)."""
    if _is_array(tree):
        out.append(tree)
    elif isinstance(tree, (list, tuple)):
        for t in tree:
            _state_arrays(t, out)
    elif isinstance(tree, dict):
        for t in tree.values():
            _state_arrays(t, out)
    return out


def _state_replace(tree, it):
    """Replaces the array leaves of a state tree in place, in order."""
    if isinstance(tree, list):
        for i, t in enumerate(tree):
            if _is_array(t):
                tree[i] = next(it)
            else:
                _state_replace(t, it)
    elif isinstance(tree, dict):
        for k, t in tree.items():
            if _is_array(t):
                tree[k] = next(it)
            else:
                _state_replace(t, it)
    elif isinstance(tree, tuple):
        for t in tree:
            if _is_array(t):
                raise ValueError("[compile] Arrays in captured state must be in lists or dicts (a tuple cannot be updated).")
            _state_replace(t, it)


def _replace_arrays(tree, it):
    """A copy of an argument tree with its arrays taken from ``it``."""
    if _is_array(tree):
        return next(it)
    if isinstance(tree, (list, tuple)):
        items = [_replace_arrays(t, it) for t in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)
    if isinstance(tree, dict):
        return {k: _replace_arrays(v, it) for k, v in tree.items()}
    return tree


def _check_state(tree, what):
    # Leaves that are not arrays are ignored (as MLX does).
    return [] if tree is None else [tree]


def compile(fun, inputs=None, outputs=None, shapeless=False):
    """Returns a compiled function which produces the same output as ``fun``."""
    if not callable(fun):
        raise TypeError("[compile] Expected a callable.")
    in_state = _check_state(inputs, "inputs")
    out_state = _check_state(outputs, "outputs")
    cache = {}

    @functools.wraps(fun)
    def compiled(*args, **kwargs):
        if not _state["enabled"]:
            return fun(*args, **kwargs)
        if not kwargs and not in_state and all(type(a) is _core.array for a in args):
            # Fast path: positional arrays only (dtype hashes are their codes).
            arg_arrays = list(args)
            if shapeless:
                key = tuple((a.ndim, hash(a.dtype)) for a in args)
            else:
                key = tuple((a.shape, hash(a.dtype)) for a in args)
        else:
            arg_arrays = []
            key = ("tree", _key(args, shapeless, arg_arrays), _key(kwargs, shapeless, arg_arrays))
        st_arrays = _state_arrays(in_state, []) if in_state else []
        key = key + (tuple(("A", a.ndim if shapeless else a.shape, hash(a.dtype)) for a in st_arrays),)
        entry = cache.get(key)
        if entry is None:
            holder = {}
            na = len(arg_arrays)

            def traced(xs):
                saved = _state_arrays(in_state, [])
                _state_replace(in_state, iter(xs[na:]))
                try:
                    it = iter(xs[:na])
                    a = _replace_arrays(args, it)
                    kw = _replace_arrays(kwargs, it)
                    out = fun(*a, **kw)
                    flat = []
                    tmpl = _out_template(out, flat)
                    new_state = _state_arrays(out_state, [])
                finally:
                    if len(_state_arrays(in_state, [])) == len(saved):
                        _state_replace(in_state, iter(saved))
                holder["template"] = tmpl
                holder["n_out"] = len(flat)
                holder["n_state"] = len(new_state)
                return flat + new_state

            prog = _core._compile_trace(traced, arg_arrays + st_arrays)
            entry = (prog, holder["template"], holder["n_out"], holder["n_state"])
            cache[key] = entry
            compiled._trace_count = getattr(compiled, "_trace_count", 0) + 1
        prog, tmpl, n_out, n_state = entry
        res = prog.run(arg_arrays + st_arrays, shapeless)
        if n_state:
            if len(_state_arrays(out_state, [])) != n_state:
                raise ValueError("[compile] The captured outputs changed structure since the function was compiled.")
            _state_replace(out_state, iter(res[n_out:]))
        return _fill_template(tmpl, iter(res[:n_out]))

    compiled._cache = cache
    return compiled


_ARR = object()


def _out_template(out, flat):
    if _is_array(out):
        flat.append(out)
        return _ARR
    if isinstance(out, (list, tuple)):
        items = [_out_template(o, flat) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    if isinstance(out, dict):
        return {k: _out_template(v, flat) for k, v in out.items()}
    if out is None or isinstance(out, (int, float, bool, str)):
        return out
    raise ValueError(
        f"[compile] Function outputs must be trees of arrays or constants, got {type(out).__name__}."
    )


def _fill_template(tmpl, it):
    if tmpl is _ARR:
        return next(it)
    if isinstance(tmpl, (list, tuple)):
        items = [_fill_template(t, it) for t in tmpl]
        return type(tmpl)(*items) if hasattr(tmpl, "_fields") else type(tmpl)(items)
    if isinstance(tmpl, dict):
        return {k: _fill_template(v, it) for k, v in tmpl.items()}
    return tmpl
