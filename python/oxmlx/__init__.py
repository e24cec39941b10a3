"""oxmlx: an array framework for machine learning with MLX's API on a compiled C++ core."""

import os as _os

__version__ = "0.1.0"

_here = _os.path.dirname(__file__)


def get_include():
    """Directory holding the C ABI header (oxmlx/oxmlx.h)."""
    return _os.path.join(_here, "include")


def get_lib_dir():
    """Directory holding the shared core library (liboxmlx)."""
    return _os.path.join(_here, "lib")
