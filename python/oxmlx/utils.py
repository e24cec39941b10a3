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
    if children and all(k.isdigit() for k in children) and len({int(k) for k in children}) == len(children):
        # a list; missing indices (e.g. parameter-less modules) become empty dicts
        out = []
        for k in sorted(children, key=int):
            out.extend({} for _ in range(int(k) - len(out)))
            out.append(tree_unflatten(children[k]))
        return out
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


def tree_merge(tree_a, tree_b, merge_fn=None):
    """Deep union of two trees; empty containers count as empty subtrees and leaves
    present in both are combined with ``merge_fn`` (required then)."""

    def empty(t):
        return _is_node(t) and len(t) == 0

    if empty(tree_a) and empty(tree_b):
        if type(tree_a) is not type(tree_b):
            raise ValueError(f"Cannot merge {type(tree_a).__name__} with {type(tree_b).__name__}")
        return type(tree_a)()
    a = None if empty(tree_a) else tree_a
    b = None if empty(tree_b) else tree_b
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        n = max(len(a), len(b))
        parts = [tree_merge(a[i] if i < len(a) else None, b[i] if i < len(b) else None, merge_fn)
                 for i in range(n)]
        return type(a)(*parts) if hasattr(a, "_fields") else type(a)(parts)
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: tree_merge(a.get(k), b.get(k), merge_fn) for k in set(a) | set(b)}
    if merge_fn is None:
        raise ValueError("Trees contain elements at the same locations but no merge function was provided")
    return merge_fn(a, b)
