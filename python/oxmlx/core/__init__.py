"""The array API of oxmlx (a drop-in for ``mlx.core``)."""

from oxmlx._core import *  # noqa: F401,F403
from oxmlx._core import array, Dtype, Device, DeviceType, Stream  # noqa: F401

import math as _math

bool_ = bool_  # noqa: F405  (re-export for linters)
pi = _math.pi
e = _math.e
inf = float("inf")
nan = float("nan")
euler_gamma = 0.5772156649015329
newaxis = None


from oxmlx.core._composite import *  # noqa: E402,F401,F403
from oxmlx.core._composite import divmod  # noqa: E402,F401,A004
from oxmlx.core._misc import *  # noqa: E402,F401,F403
# array methods forwarding to ops, some of which are the compositions above.
from oxmlx.core import _array_methods  # noqa: E402,F401
from oxmlx.core import random  # noqa: E402,F401
# The submodule, not the C++ oxmlx._core.fft that the star import brought in.
import importlib as _importlib  # noqa: E402

fft = _importlib.import_module("oxmlx.core.fft")
del _importlib
import sys as _sys  # noqa: E402

# `import oxmlx.core.fast` / `from oxmlx.core.fast import rms_norm`, as in MLX.
_sys.modules[__name__ + ".fast"] = fast  # noqa: F405
del _sys
from oxmlx.core._transforms import grad, value_and_grad, vjp, jvp  # noqa: E402,F401

# mx.linalg: the extension's submodule, importable as oxmlx.core.linalg too.
import sys as _sys  # noqa: E402
from oxmlx._core import linalg  # noqa: E402,F401

linalg.__name__ = __name__ + ".linalg"
_sys.modules[linalg.__name__] = linalg
del _sys
from oxmlx.core._transforms import grad, value_and_grad, vjp, jvp, vmap, custom_function, checkpoint  # noqa: E402,F401,E501
from oxmlx.core._compile import compile, disable_compile, enable_compile  # noqa: E402,F401,A004
