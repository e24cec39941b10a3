"""oxmlx: an array framework for machine learning with MLX's API on a compiled C++ core."""

import os as _os

__version__ = "0.1.0"

_here = _os.path.dirname(__file__)

# Development hook: OXMLX_DEV_BUILD=<cmake build dir> makes `oxmlx._core`
# (and the liboxmlx next to it) load from that build tree instead of the
# installed copy, so several work trees can be built and tested side by side.
if _os.environ.get("OXMLX_DEV_BUILD"):
    __path__.insert(0, _os.environ["OXMLX_DEV_BUILD"])


def get_include():
    """Directory holding the C ABI header (oxmlx/oxmlx.h)."""
    return _os.path.join(_here, "include")


def get_lib_dir():
    """Directory holding the shared core library (liboxmlx)."""
    return _os.path.join(_here, "lib")
