"""oxmlx: an array framework for machine learning with MLX's API on a compiled C++ core."""

import os as _os

__version__ = "0.1.0"

_here = _os.path.dirname(__file__)

# Development hook: OXMLX_DEV_BUILD=<cmake build dir> makes `oxmlx._core`
# (and the liboxmlx next to it) load from that build tree instead of the
# installed copy, so several work trees can be built and tested side by side.
if _os.environ.get("OXMLX_DEV_BUILD"):
    __path__.insert(0, _os.environ["OXMLX_DEV_BUILD"])


def _dev_build():
    """The OXMLX_DEV_BUILD tree and its source dir, when that hook is active
    and the package itself carries no C ABI files (a development checkout)."""
    build = _os.environ.get("OXMLX_DEV_BUILD")
    if not build or _os.path.exists(_os.path.join(_here, "include", "oxmlx", "oxmlx.h")):
        return None, None
    src = None
    try:
        with open(_os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    src = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return build, src


def get_include():
    """Directory holding the C ABI header (``#include <oxmlx/oxmlx.h>``)."""
    build, src = _dev_build()
    if src:
        return _os.path.join(src, "include")
    return _os.path.join(_here, "include")


def get_lib_dir():
    """Directory holding the shared core library (liboxmlx) of the C ABI."""
    build, _ = _dev_build()
    if build:
        return build
    return _os.path.join(_here, "lib")


def get_cmake_dir():
    """Directory of oxmlxConfig.cmake (``-Doxmlx_DIR=...``; target ``oxmlx::oxmlx``)."""
    return _os.path.join(_here, "share", "cmake", "oxmlx")
