"""``Module``: the base class of layers (the semantics of ``mlx.nn.Module``).

A module is a ``dict`` whose items are its state: arrays, child modules and
(nested) lists / dicts of them. Every other attribute (ints, callables, None,
names starting with ``_`` set through ``object.__setattr__``) is a plain Python
attribute and is not part of the state.
"""

from __future__ import annotations

import textwrap
from typing import Any, Callable, List, Optional, Tuple, Union

import oxmlx.core as mx
from oxmlx.utils import tree_flatten, tree_unflatten

_STATE_TYPES = (mx.array, dict, list, tuple)


def _default_leaf(module, key, value):
    return not isinstance(value, (Module, dict, list))


def _merge_tree(dst, src, assign, strict, what):
    """Walk the nested dict/list ``src`` over ``dst`` (``Module.update`` and
    ``update_modules``): ``assign(dst, slot, new)`` for every slot both have;
    with ``strict``, a key or index ``dst`` lacks or a non-container ``src``
    raises (``what`` names the entries in the message)."""
    if isinstance(src, dict):
        for k in src:
            if k in dst:
                assign(dst, k, src[k])
            elif strict:
                raise ValueError(f'Module does not have {what} named "{k}".')
    elif isinstance(src, list):
        for i, new in enumerate(src):
            if i >= len(dst):
                if strict:
                    raise ValueError(
                        f"List index {i} is out of bounds for destination of length {len(dst)}."
                    )
                continue
            assign(dst, i, new)
    elif strict:
        raise ValueError(f"Received invalid type: {type(src).__name__}.")


class Module(dict):
    """Base class for building neural networks (mirrors ``mlx.nn.Module``)."""

    __call__: Callable

    def __init__(self):
        self._no_grad = set()
        self._training = True

    # ------------------------------------------------------------------ basics
    @property
    def training(self):
        """Whether the module is in training mode."""
        return self._training

    @property
    def state(self):
        """The module's state dictionary (the module itself: edits show through)."""
        return self

    def _extra_repr(self) -> str:
        return ""

    def __repr__(self):
        kids = tree_flatten(self.children(), is_leaf=self.is_module)
        lines = [f"{type(self).__name__}({self._extra_repr()}"]
        for name, child in kids:
            lines.append(textwrap.indent(f"({name}): {child!r}", "  "))
        return "\n".join(lines) + ("\n)" if kids else ")")

    def __getattr__(self, key: str):
        # Only called when ordinary lookup failed: fall back to the state dict.
        if key in self and self[key] is not None:
            return self[key]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{key}'")

    def __setattr__(self, key: str, val: Any):
        if isinstance(val, _STATE_TYPES):
            if key not in self and key in self.__dict__:
                object.__delattr__(self, key)
            self[key] = val
        else:
            object.__setattr__(self, key, val)
            self.pop(key, None)

    def __delattr__(self, name):
        if self.get(name, None) is not None:
            del self[name]
        else:
            object.__delattr__(self, name)

    # ------------------------------------------------------------ weights io
    def load_weights(
        self,
        file_or_weights: Union[str, List[Tuple[str, mx.array]]],
        strict: bool = True,
    ) -> "Module":
        """Update the weights from a ``.npz`` / ``.safetensors`` file or a list of pairs."""
        weights = file_or_weights
        if isinstance(weights, str):
            weights = list(mx.load(weights).items())
        if strict:
            given = dict(weights)
            current = tree_flatten(self.parameters(), destination={})
            extra = sorted(given.keys() - current.keys())
            if extra:
                raise ValueError(
                    f"Received {len(extra)} parameters not in model: \n" + ",\n".join(extra) + "."
                )
            missing = sorted(current.keys() - given.keys())
            if missing:
                raise ValueError(f"Missing {len(missing)} parameters: \n" + ",\n".join(missing) + ".")
            for name, old in current.items():
                new = given[name]
                if not isinstance(new, mx.array):
                    raise ValueError(
                        f"Expected mx.array but received {type(new)} for parameter {name}"
                    )
                if new.shape != old.shape:
                    raise ValueError(
                        f"Expected shape {old.shape} but received shape {new.shape} for parameter {name}"
                    )
        if len(weights) > 0:
            self.update(tree_unflatten(list(weights)), strict=False)
        return self

    def save_weights(self, file: str):
        """Save the parameters to ``.npz`` (mx.savez) or ``.safetensors``."""
        flat = tree_flatten(self.parameters(), destination={})
        if file.endswith(".npz"):
            mx.savez(file, **flat)
        elif file.endswith(".safetensors"):
            mx.save_safetensors(file, flat)
        else:
            raise ValueError(
                f"Unsupported file extension for {file}. Use '.npz' or '.safetensors'."
            )

    # --------------------------------------------------------------- filters
    @staticmethod
    def is_module(value):
        return isinstance(value, Module)

    @staticmethod
    def valid_child_filter(module, key, value):
        return isinstance(value, (dict, list))

    @staticmethod
    def valid_parameter_filter(module, key, value):
        return isinstance(value, (dict, list, mx.array)) and not key.startswith("_")

    @staticmethod
    def trainable_parameter_filter(module, key, value):
        return Module.valid_parameter_filter(module, key, value) and key not in module._no_grad

    def filter_and_map(
        self,
        filter_fn: Callable[["Module", str, Any], bool],
        map_fn: Optional[Callable] = None,
        is_leaf_fn: Optional[Callable[["Module", str, Any], bool]] = None,
    ):
        """The state, recursively restricted to the items ``filter_fn`` keeps,
        with ``map_fn`` applied to the leaves (``is_leaf_fn`` decides what a leaf is)."""
        map_fn = map_fn or (lambda v: v)
        is_leaf_fn = is_leaf_fn or _default_leaf

        def walk(owner, key, value):
            if is_leaf_fn(owner, key, value):
                return map_fn(value)
            if isinstance(value, Module):
                return {k: walk(value, k, v) for k, v in value.items() if filter_fn(value, k, v)}
            if isinstance(value, dict):
                # keys of plain containers are checked with their dotted path
                out = {}
                for k, v in value.items():
                    sub = f"{key}.{k}"
                    out[k] = walk(owner, sub, v) if filter_fn(owner, sub, v) else {}
                return out
            if isinstance(value, list):
                out = []
                for i, v in enumerate(value):
                    sub = f"{key}.{i}"
                    out.append(walk(owner, sub, v) if filter_fn(owner, sub, v) else {})
                return out
            raise RuntimeError("Unexpected leaf found while traversing the module")

        return {k: walk(self, k, v) for k, v in self.items() if filter_fn(self, k, v)}

    def parameters(self):
        """All array members, recursively, as nested dicts and lists."""
        return self.filter_and_map(self.valid_parameter_filter)

    def trainable_parameters(self):
        """All non-frozen array members, recursively."""
        return self.filter_and_map(self.trainable_parameter_filter)

    def children(self):
        """The direct sub-modules (in their containers)."""
        return self.filter_and_map(self.valid_child_filter, is_leaf_fn=lambda m, k, v: isinstance(v, Module))

    def leaf_modules(self):
        """The sub-modules that hold no modules themselves."""

        def is_leaf_module(m, k, v):
            return isinstance(v, Module) and len(tree_flatten(v.children())) == 0

        return self.filter_and_map(self.valid_child_filter, is_leaf_fn=is_leaf_module)

    # --------------------------------------------------------------- updates
    def update(self, parameters: dict, strict: bool = True) -> "Module":
        """Replace (some of) the parameters with the given nested dict/list."""

        def assign(dst, slot, new):
            cur = dst[slot]
            if isinstance(cur, mx.array):
                if strict and not isinstance(new, mx.array):
                    raise ValueError(f"Received invalid type: {type(new).__name__}.")
                dst[slot] = new
            else:
                _merge_tree(cur, new, assign, strict, "parameter")

        _merge_tree(self, parameters, assign, strict, "parameter")
        return self

    def apply(
        self,
        map_fn: Callable[[mx.array], mx.array],
        filter_fn: Optional[Callable[["Module", str, Any], bool]] = None,
    ) -> "Module":
        """Map the (filtered) parameters with ``map_fn`` and store the results."""
        filter_fn = filter_fn or Module.valid_parameter_filter
        self.update(self.filter_and_map(filter_fn, map_fn))
        return self

    def update_modules(self, modules: dict, strict: bool = True) -> "Module":
        """Replace (some of) the sub-modules with the given nested dict/list."""

        def assign(dst, slot, new):
            cur = dst[slot]
            if isinstance(cur, Module) and isinstance(new, Module):
                dst[slot] = new
            elif isinstance(cur, (dict, list)):
                _merge_tree(cur, new, assign, strict, "sub-module")
            elif strict and new != {}:
                raise ValueError(f"Received invalid type: {type(new).__name__}.")

        _merge_tree(self, modules, assign, strict, "sub-module")
        return self

    def apply_to_modules(self, apply_fn: Callable[[str, "Module"], Any]) -> "Module":
        """Call ``apply_fn(dotted_path, module)`` on this module and every sub-module."""
        stack = [("", self)]
        while stack:
            path, mod = stack.pop()
            apply_fn(path, mod)
            prefix = "." + path if path else ""
            stack.extend(tree_flatten(mod.children(), prefix=prefix, is_leaf=self.is_module))
        return self

    def modules(self):
        """All modules (this one included), in ``apply_to_modules`` order."""
        out = []
        self.apply_to_modules(lambda _, m: out.append(m))
        return out

    def named_modules(self):
        """``(dotted_path, module)`` for all modules (this one included)."""
        out = []
        self.apply_to_modules(lambda k, m: out.append((k, m)))
        return out

    # ---------------------------------------------------------- freezing
    def _validate_keys(self, keys, strict):
        keys = keys if isinstance(keys, list) else [keys]
        if strict:
            for k in keys:
                if k not in self:
                    raise KeyError(f"Module doesn't contain member {k}.")
        return keys

    def _validate_keys_recursive(self, keys):
        keys = keys if isinstance(keys, list) else [keys]
        mods = self.modules()
        for k in keys:
            if not any(k in m for m in mods):
                raise KeyError(f"Module doesn't contain member {k}.")

    def _each_module(self, fn, recurse, keys, strict):
        """``fn(module, strict)`` on this module, or with ``recurse`` on every
        module; there the named ``keys`` (strict) need only exist somewhere in
        the tree (checked once, then each module takes its own)."""
        if recurse:
            if strict and keys is not None:
                self._validate_keys_recursive(keys)
                strict = False
            self.apply_to_modules(lambda _, m: fn(m, strict))
        else:
            fn(self, strict)
        return self

    def freeze(
        self,
        *,
        recurse: bool = True,
        keys: Optional[Union[str, List[str]]] = None,
        strict: bool = False,
    ) -> "Module":
        """Stop computing gradients for all (or the named) parameters."""

        def freeze_one(m, strict_here):
            names = keys
            if names is None:
                own = m.filter_and_map(
                    lambda mm, k, v: not isinstance(v, Module) and mm.valid_parameter_filter(mm, k, v)
                )
                names = [k for k, _ in tree_flatten(own)]
            names = m._validate_keys(names, strict_here)
            m._no_grad.update(names)

        return self._each_module(freeze_one, recurse, keys, strict)

    def unfreeze(
        self,
        *,
        recurse: bool = True,
        keys: Optional[Union[str, List[str]]] = None,
        strict: bool = False,
    ) -> "Module":
        """Compute gradients again for all (or the named) parameters."""

        def unfreeze_one(m, strict_here):
            if keys is None:
                m._no_grad.clear()
            else:
                m._no_grad.difference_update(m._validate_keys(keys, strict_here))

        return self._each_module(unfreeze_one, recurse, keys, strict)

    # ---------------------------------------------------------- modes, dtype
    def _set_training_mode(self, mode: bool) -> None:
        self._training = mode

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on all modules."""
        self.apply_to_modules(lambda _, m: m._set_training_mode(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def set_dtype(
        self,
        dtype: mx.Dtype,
        predicate: Optional[Callable[[mx.Dtype], bool]] = lambda t: mx.issubdtype(t, mx.floating),
    ):
        """Cast the parameters whose dtype satisfies ``predicate`` (floating by default)."""
        pred = predicate if predicate is not None else (lambda _: True)
        self.apply(lambda x: x.astype(dtype) if pred(x.dtype) else x)
