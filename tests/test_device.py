"""Devices and streams as in MLX: mx.cpu / mx.gpu, Device, default device and
stream, new streams, `stream=` on ops, the `with mx.stream(...)` context, and
the errors of a build without a GPU backend."""

import os
import threading

import numpy as np
import pytest

import oxmlx.core as mx


@pytest.fixture(autouse=True)
def restore_defaults():
    dev = mx.default_device()
    st = mx.default_stream(mx.cpu)
    yield
    mx.set_default_stream(st)  # (also makes the CPU the default device)
    mx.set_default_device(dev)


# The cuda backend serves mx.gpu where a GPU is usable (tests/test_cuda.py);
# these tests check the behaviour without one (CI).
HAS_GPU = mx.is_available(mx.gpu)
no_gpu = pytest.mark.skipif(HAS_GPU, reason="a GPU is available here (see tests/test_cuda.py)")
# The default device the suite started with: the CPU, or the GPU under
# scripts/pytest_gpu_default.py (which sets this variable).
START = mx.gpu if os.environ.get("OXMLX_TEST_DEFAULT_DEVICE") == "gpu" else mx.cpu


def test_device_objects():
    assert repr(mx.cpu) == "DeviceType.cpu" and repr(mx.gpu) == "DeviceType.gpu"
    assert mx.cpu == mx.DeviceType.cpu
    d = mx.Device(mx.cpu)
    assert repr(d) == "Device(cpu, 0)"
    assert repr(mx.Device(mx.gpu, 1)) == "Device(gpu, 1)"
    assert d.type == mx.cpu
    assert d == mx.cpu and d == mx.Device(mx.cpu, 0)
    assert d != mx.Device(mx.gpu) and d != mx.Device(mx.cpu, 1)
    assert len({mx.Device(mx.cpu), mx.Device(mx.cpu, 0), mx.Device(mx.gpu)}) == 2
    assert mx.default_device() == START
    assert repr(mx.default_device()) == ("Device(gpu, 0)" if START == mx.gpu else "Device(cpu, 0)")
    assert mx.is_available(mx.cpu) and mx.is_available(mx.gpu) == HAS_GPU
    assert mx.device_count(mx.cpu) == 1


def test_device_reprs_match_mlx(mlx):
    assert repr(mx.Device(mx.cpu)) == repr(mlx.Device(mlx.cpu))
    assert repr(mx.cpu) == repr(mlx.cpu)
    assert repr(mx.default_device()) == repr(mlx.default_device())
    assert repr(mx.default_stream(mx.cpu)).replace("oxmlx", "mlx").split(",")[0] == \
        repr(mlx.default_stream(mlx.cpu)).split(",")[0]


@no_gpu
def test_set_default_device():
    mx.set_default_device(mx.cpu)
    mx.set_default_device(mx.Device(mx.cpu))
    assert mx.default_device() == mx.cpu
    with pytest.raises(ValueError, match="gpu"):
        mx.set_default_device(mx.gpu)
    with pytest.raises(ValueError):
        mx.set_default_device(mx.Device(mx.gpu))
    assert mx.default_device() == mx.cpu  # unchanged by the failed call


@no_gpu
def test_gpu_streams_raise_without_gpu_backend():
    for f in (lambda: mx.new_stream(mx.gpu), lambda: mx.default_stream(mx.gpu),
              lambda: mx.add(1, 2, stream=mx.gpu), lambda: mx.zeros((2,), stream=mx.gpu),
              lambda: mx.add(1, 2, stream=mx.Device(mx.gpu))):
        with pytest.raises(ValueError, match="gpu"):
            f()


@no_gpu
def test_gpu_errors_match_mlx(mlx):
    for f in (lambda m: m.set_default_device(m.gpu), lambda m: m.new_stream(m.gpu),
              lambda m: m.zeros((2,), stream=m.gpu)):
        with pytest.raises(Exception) as ours:
            f(mx)
        with pytest.raises(Exception) as theirs:
            f(mlx)
        assert ours.type is theirs.type


def test_streams():
    d = mx.default_stream(mx.cpu)
    assert mx.default_stream(mx.default_device()).device == mx.default_device()
    assert (d == mx.default_stream(mx.default_device())) == (START == mx.cpu)
    assert d.device == mx.cpu
    s1, s2 = mx.new_stream(mx.cpu), mx.new_stream(mx.cpu)
    assert s1 != d and s2 != s1 and s1 == s1
    assert s1.device == mx.Device(mx.cpu)
    assert repr(s1).startswith("Stream(Device(cpu, 0), ")
    assert len({s1, s2, d}) == 3


@pytest.mark.parametrize("which", ["stream", "device", "devicetype", "none"])
def test_stream_argument_on_ops(which):
    s = mx.new_stream(mx.cpu)
    arg = {"stream": s, "device": mx.Device(mx.cpu), "devicetype": mx.cpu, "none": None}[which]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = mx.array(x)
    assert mx.add(a, 2, stream=arg).tolist() == (x + 2).tolist()
    np.testing.assert_allclose(np.array(mx.exp(a, stream=arg)), np.exp(x), rtol=1e-6)
    assert mx.sum(a, axis=0, stream=arg).tolist() == x.sum(0).tolist()
    assert mx.reshape(a, (3, 2), stream=arg).tolist() == x.reshape(3, 2).tolist()
    assert mx.transpose(a, stream=arg).tolist() == x.T.tolist()
    assert mx.zeros((2,), stream=arg).tolist() == [0.0, 0.0]
    assert mx.arange(3, stream=arg).tolist() == [0, 1, 2]
    assert mx.matmul(a, a.T, stream=arg).tolist() == (x @ x.T).tolist()
    assert mx.cumsum(a, axis=1, stream=arg).tolist() == np.cumsum(x, 1).tolist()
    assert a.astype(mx.int32, stream=arg).tolist() == x.astype(np.int32).tolist()
    assert mx.where(a > 2, a, 0, stream=arg).tolist() == np.where(x > 2, x, 0).tolist()


def test_stream_argument_must_be_a_stream_or_device():
    with pytest.raises(TypeError):
        mx.add(1, 2, stream="cpu")


def test_ops_on_different_streams_combine():
    s1, s2 = mx.new_stream(mx.cpu), mx.new_stream(mx.cpu)
    a = mx.arange(10, stream=s1) * 2
    b = mx.multiply(a, 3, stream=s2)
    c = mx.add(a, b, stream=s1)
    assert c.tolist() == [8 * i for i in range(10)]


def test_stream_context_sets_and_restores_default_stream():
    d = mx.default_stream(mx.cpu)
    s = mx.new_stream(mx.cpu)
    with mx.stream(s):
        assert mx.default_stream(mx.cpu) == s
        assert mx.default_stream(mx.default_device()) == s
        r = mx.add(mx.array(1), 2)
        inner = mx.new_stream(mx.cpu)
        with mx.stream(inner):
            assert mx.default_stream(mx.cpu) == inner
        assert mx.default_stream(mx.cpu) == s
    assert mx.default_stream(mx.cpu) == d
    assert r.item() == 3
    # a device (or device type) selects that device's default stream
    with mx.stream(mx.cpu):
        assert mx.default_device() == mx.cpu
        assert mx.default_stream(mx.cpu) == d
    with mx.stream(mx.Device(mx.cpu)):
        assert mx.default_device() == mx.cpu
    assert mx.default_stream(mx.cpu) == d


def test_stream_context_restores_after_an_exception():
    d = mx.default_stream(mx.cpu)
    s = mx.new_stream(mx.cpu)
    with pytest.raises(RuntimeError):
        with mx.stream(s):
            assert mx.default_stream(mx.cpu) == s
            raise RuntimeError("boom")
    assert mx.default_stream(mx.cpu) == d


def test_set_default_stream():
    d = mx.default_stream(mx.cpu)
    s = mx.new_stream(mx.cpu)
    mx.set_default_stream(s)
    assert mx.default_stream(mx.cpu) == s
    assert mx.add(mx.array([1]), 1).tolist() == [2]
    mx.set_default_stream(d)
    assert mx.default_stream(mx.cpu) == d


def test_synchronize():
    s = mx.new_stream(mx.cpu)
    a = mx.exp(mx.ones((1000,)), stream=s)
    mx.async_eval(a)
    mx.synchronize(s)
    mx.synchronize()
    assert np.allclose(np.array(a), np.e)


def test_evaluation_from_several_threads():
    # Independent graphs evaluated concurrently from Python threads give the
    # right values (eval releases the GIL).
    out = {}

    def work(i):
        x = mx.arange(1000, dtype=mx.float32) + i
        y = mx.sum(x * 2)
        out[i] = y.item()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {i: float(2 * (sum(range(1000)) + 1000 * i)) for i in range(4)}
