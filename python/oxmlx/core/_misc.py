"""Pure-Python conveniences of mlx.core: dtype kind tests, DLPack import,
print options, thread-local streams, device information, ArrayIterator."""

import platform as _platform
import threading as _threading

from oxmlx import _core as c

# ---------------------------------------------------------------- dtypes

_KINDS = {
    "bool": (c.bool_,),
    "signed integer": (c.int8, c.int16, c.int32, c.int64),
    "unsigned integer": (c.uint8, c.uint16, c.uint32, c.uint64),
    "real floating": (c.float16, c.bfloat16, c.float32, c.float64),
    "complex floating": (c.complex64,),
}
_KINDS["integral"] = _KINDS["signed integer"] + _KINDS["unsigned integer"]
_KINDS["numeric"] = _KINDS["integral"] + _KINDS["real floating"] + _KINDS["complex floating"]


def isdtype(dtype, kind):
    """Whether ``dtype`` is ``kind`` (a dtype, a kind string or a tuple of them)."""
    if not isinstance(dtype, c.Dtype):
        raise TypeError(f"isdtype(): dtype must be a Dtype, got {type(dtype).__name__}.")

    def one(k):
        if isinstance(k, c.Dtype):
            return dtype == k
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"[isdtype] Unknown data type kind: '{k}'.")
            return dtype in _KINDS[k]
        raise ValueError(
            "[isdtype] `kind` must be a dtype, a string, or a tuple of dtypes and strings.")

    if isinstance(kind, tuple):
        return any(one(k) for k in kind)
    return one(kind)


# ---------------------------------------------------------------- DLPack


def from_dlpack(x, /, *, copy=None):
    """An array with the data of a DLPack producer (CPU memory is copied, as MLX)."""
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack(): {type(x).__name__} does not implement __dlpack__.")
    if copy is False:
        raise ValueError("[convert] Cannot import a CPU array without a copy.")
    try:
        return c.array(x)
    except (TypeError, ValueError):
        import numpy as np  # producers the buffer conversion does not take directly

        return c.array(np.from_dlpack(x))


# ---------------------------------------------------------------- printing


class PrintOptions:
    """The format options used for printing arrays (``precision``: decimals of
    inexact values, -1 for the shortest form)."""

    def __init__(self, precision=-1):
        self.precision = precision

    def __repr__(self):
        return f"PrintOptions(precision={self.precision})"


def get_printoptions():
    """The current print options."""
    return PrintOptions(c._get_print_precision())


def set_printoptions(precision=-1):
    """Set the number of decimals printed for inexact values (-1: default)."""
    c._set_print_precision(int(precision))


class _PrintOptionsContext:
    def __init__(self, precision):
        self._precision = precision
        self._saved = None

    def __enter__(self):
        self._saved = c._get_print_precision()
        c._set_print_precision(int(self._precision))
        return self

    def __exit__(self, *exc):
        c._set_print_precision(self._saved)
        return False


def printoptions(precision=-1):
    """Context manager setting print options temporarily."""
    return _PrintOptionsContext(precision)


# ---------------------------------------------------------------- streams


class ThreadLocalStream:
    """A stream that will be unique per thread and can be used to run
    operations on a given device (each thread gets its own stream on first use)."""

    _count = 0

    def __init__(self, device):
        self._device = device if isinstance(device, c.Device) else c.Device(device)
        self._local = _threading.local()
        self._id = ThreadLocalStream._count
        ThreadLocalStream._count += 1

    @property
    def device(self):
        return self._device

    def _current_stream(self):
        s = getattr(self._local, "stream", None)
        if s is None:
            s = self._local.stream = c.new_stream(self._device)
        return s

    def __repr__(self):
        return f"ThreadLocalStream({self._device!r}, {self._id})"


def new_thread_local_stream(device):
    """Make a new stream that will be unique per thread."""
    return ThreadLocalStream(device)


def new_thread_unsafe_stream(device):
    """Make a new stream that can be used in any thread (CPU streams run
    synchronously on the calling thread, so any stream can)."""
    return c.new_stream(device)


def clear_streams():
    """Destroy all streams created in the current thread. CPU streams hold no
    resources here, so this only synchronizes; the default streams stay usable."""
    c.synchronize()


def device_info(d=None):
    """Information about a device: for the CPU its architecture and name; for
    a usable GPU what its backend reports (the CUDA backend: device_name,
    architecture "sm_XY", compute capability, uuid, pci_bus_id, total_memory
    and memory_size in bytes, free_memory); {} for a GPU that is not usable."""
    d = c.default_device() if d is None else d
    dev = d if isinstance(d, c.Device) else c.Device(d)
    if dev.type != c.cpu:
        return c._device_info(dev) if c.is_available(dev) else {}
    name = _platform.processor() or _platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"architecture": _platform.machine(), "device_name": name}


# ---------------------------------------------------------------- arrays


class ArrayLike:
    """Any Python object which has an ``__mlx_array__`` method that returns
    an :obj:`array` (ops accept such objects wherever they take an array)."""

    def __init__(self, obj):
        self._obj = obj

    def __mlx_array__(self):
        o = self._obj
        return o if isinstance(o, c.array) else c.array(o)


class ArrayIterator:
    """A helper object to iterate over the 1st dimension of an array."""

    def __init__(self, a):
        if a.ndim == 0:
            raise TypeError("iter() 0-dimensional array.")
        self._a = a
        self._i = 0
        self._n = a.shape[0]

    def __iter__(self):
        return self

    def __next__(self):
        if self._i >= self._n:
            raise StopIteration
        i = self._i
        self._i += 1
        return self._a[i]


c.array.__iter__ = lambda self: ArrayIterator(self)


def _array_view(self, dtype, *, stream=None):
    """See :func:`view`."""
    return c.view(self, dtype, stream=stream)


c.array.view = _array_view

__all__ = ["isdtype", "from_dlpack", "PrintOptions", "get_printoptions", "set_printoptions",
           "printoptions", "ThreadLocalStream", "new_thread_local_stream",
           "new_thread_unsafe_stream", "clear_streams", "device_info", "ArrayLike",
           "ArrayIterator"]
