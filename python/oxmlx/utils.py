"""Pytree utilities (mirrors ``mlx.utils``).

A tree is any nesting of lists, tuples and dicts; everything else is a leaf.
"""

from collections import defaultdict


def _is_node(x):
    return isinstance(x, (list, tuple, dict))


def tree_map(fn, tree, *rest, is_leaf=None):
    """Apply ``fn`` to the leaves of ``tree`` (and the matching leaves of ``rest``)."""
    if (is_leaf is not None and is_leaf(tree)) or not _is_node(tree):
        return fn(tree, *rest)
    if isinstance(tree, (list, tuple)):
        out = [tree_map(fn, child, *(r[i] for r in rest), is_leaf=is_leaf) for i, child in enumerate(tree)]
        return type(tree)(out) if not hasattr(tree, "_fields") else type(tree)(*out)
    return {k: tree_map(fn, child, *(r[k] for r in rest), is_leaf=is_leaf) for k, child in tree.items()}


def tree_map_with_path(fn, tree, *rest, is_leaf=None, path=None):
    """Like :func:`tree_map` but ``fn`` also receives the leaf's dotted path."""
    if (is_leaf is not None and is_leaf(tree)) or not _is_node(tree):
        return fn(path, tree, *rest)
    prefix = f"{path}." if path else ""
    if isinstance(tree, (list, tuple)):
        out = [
            tree_map_with_path(fn, child, *(r[i] for r in rest), is_leaf=is_leaf, path=f"{prefix}{i}")
            for i, child in enumerate(tree)
        ]
        return type(tree)(out) if not hasattr(tree, "_fields") else type(tree)(*out)
    return {
        k: tree_map_with_path(fn, child, *(r[k] for r in rest), is_leaf=is_leaf, path=f"{prefix}{k}")
        for k, child in tree.items()
    }


def tree_flatten(tree, prefix="", is_leaf=None, destination=None):
    """Flatten a tree into ``[(dotted_path, leaf), ...]`` (or into a dict ``destination``)."""
    if destination is None:
        destination = []
        add = destination.append
    elif isinstance(destination, dict):
        add = lambda kv: destination.__setitem__(*kv)  # noqa: E731
    else:
        add = destination.append

    def rec(t, pre):
        if (is_leaf is not None and is_leaf(t)) or not _is_node(t):
            add((pre[1:], t))
            return
        items = enumerate(t) if isinstance(t, (list, tuple)) else t.items()
        for k, child in items:
            rec(child, f"{pre}.{k}")

    rec(tree, prefix)
    return destination


def tree_unflatten(tree):
    """Inverse of :func:`tree_flatten`: integer keys become lists."""
    items = tree.items() if isinstance(tree, dict) else tree
    items = list(items)
    if len(items) == 1 and items[0][0] == "":
        return items[0][1]
    children = defaultdict(list)
    for key, value in items:
        head, _, rest = key.partition(".")
        children[head].append((rest, value))
    if all(k.isdigit() for k in children):
        keys = sorted(children, key=int)
        return [tree_unflatten(children[k]) for k in keys]
    return {k: tree_unflatten(v) for k, v in children.items()}


def tree_reduce(fn, tree, initializer=None, is_leaf=None):
    """Reduce the leaves of ``tree`` with ``fn(accumulator, leaf)``."""
    if (is_leaf is not None and is_leaf(tree)) or not _is_node(tree):
        return tree if initializer is None else fn(initializer, tree)
    acc = initializer
    children = tree if isinstance(tree, (list, tuple)) else tree.values()
    for child in children:
        acc = tree_reduce(fn, child, acc, is_leaf)
    return acc
