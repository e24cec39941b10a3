"""The lazy graph: nothing runs before eval, eval/async_eval on pytrees,
shared subgraphs, inputs left intact by buffer donation, and very deep
chains (10^6 nodes) that evaluate and that are dropped unevaluated."""

import gc

import numpy as np
import pytest

import oxmlx.core as mx


def test_ops_are_lazy_until_eval():
    x = mx.ones((1 << 20,))
    mx.eval(x)
    base = mx.get_active_memory()
    y = mx.exp(x) * 2 + 1  # three 4 MB nodes, none computed
    z = mx.sum(y)
    assert isinstance(y, mx.array) and y.shape == x.shape and y.dtype == mx.float32
    assert z.shape == ()
    assert mx.get_active_memory() - base < 64 * 1024
    assert z.item() == pytest.approx((1 << 20) * (2 * np.e + 1), rel=1e-5)


def test_conversions_trigger_eval():
    a = mx.arange(4) * 3
    assert a.tolist() == [0, 3, 6, 9]
    b = mx.arange(4) * 3
    assert np.array(b).tolist() == [0, 3, 6, 9]
    c = mx.arange(4) * 3
    assert repr(c) == "array([0, 3, 6, 9], dtype=int32)"
    d = mx.arange(4) * 3
    assert memoryview(d).tolist() == [0, 3, 6, 9]
    assert (mx.array(2) * 3).item() == 6
    assert int(mx.array(2) * 3) == 6


def test_eval_pytrees():
    a = mx.array([1.0, 2.0])
    tree = {"x": [a * 2, (a + 1, {"deep": a - 3})], "y": a / 2, "n": None, "s": "text", "i": 3}
    assert mx.eval(tree) is None
    assert tree["x"][0].tolist() == [2.0, 4.0]
    assert tree["x"][1][0].tolist() == [2.0, 3.0]
    assert tree["x"][1][1]["deep"].tolist() == [-2.0, -1.0]
    assert tree["y"].tolist() == [0.5, 1.0]
    b, c = a * 3, a * 4
    mx.eval(b, [c], {"k": (c,)})
    assert b.tolist() == [3.0, 6.0] and c.tolist() == [4.0, 8.0]
    mx.eval()
    mx.eval([])
    mx.eval(1, None)


def test_async_eval():
    a = mx.arange(1000, dtype=mx.float32)
    outs = [mx.sum(a * k) for k in range(5)]
    assert mx.async_eval(outs) is None
    assert [o.item() for o in outs] == [k * 499500.0 for k in range(5)]
    x = mx.exp(mx.ones((3,)))
    mx.async_eval({"x": x})
    mx.eval(x)  # eval after async_eval is fine
    np.testing.assert_allclose(np.array(x), np.full(3, np.e), rtol=1e-6)


def test_eval_twice_and_partial_graphs():
    a = mx.array([1, 2, 3])
    b = a + 1
    c = b * b
    mx.eval(b)
    assert b.tolist() == [2, 3, 4]
    mx.eval(c)
    mx.eval(c)
    assert c.tolist() == [4, 9, 16]
    assert b.tolist() == [2, 3, 4]  # still valid after being consumed by c


def test_shared_subgraphs_diamond():
    x = mx.array([1.0, 2.0, 3.0])
    y = x + 1
    z = y * y + y - mx.sqrt(y)  # y used three times
    w = z + y
    mx.eval(w, z)
    yv = np.array([2.0, 3.0, 4.0], np.float32)
    zv = yv * yv + yv - np.sqrt(yv)
    np.testing.assert_allclose(np.array(z), zv, rtol=1e-6)
    np.testing.assert_allclose(np.array(w), zv + yv, rtol=1e-6)


def test_inputs_survive_buffer_donation():
    # A consumer may reuse an input's buffer only when nothing else holds it.
    x = np.arange(8, dtype=np.float32)
    a = mx.array(x) * 1.0  # an unevaluated temporary the user still references
    b = mx.exp(a)
    c = mx.negative(a)
    mx.eval(b)
    np.testing.assert_allclose(np.array(b), np.exp(x), rtol=1e-6)
    assert a.tolist() == x.tolist()
    assert c.tolist() == (-x).tolist()
    t = mx.array(x).reshape(2, 4).T  # a view: its buffer is shared with the source
    s = mx.array(x).reshape(2, 4)
    u = mx.sin(s.T) + 0
    mx.eval(u)
    assert s.tolist() == x.reshape(2, 4).tolist()
    assert t.tolist() == x.reshape(2, 4).T.tolist()
    np.testing.assert_allclose(np.array(u), np.sin(x.reshape(2, 4).T), rtol=1e-6)
    # a numpy view of an evaluated array is not overwritten by later ops on it
    v = mx.array(x) + 1
    view = np.asarray(v)
    w = mx.exp(v)
    mx.eval(w)
    assert view.tolist() == (x + 1).tolist()


def test_donated_chain_values():
    # In a long single-use chain every op may donate; the result must still
    # be exact.
    y = mx.arange(10, dtype=mx.int32)
    for i in range(200):
        y = y + i
    assert y.tolist() == [k + sum(range(200)) for k in range(10)]


def test_million_deep_chain_evaluates():
    x = mx.array(0, mx.int32)
    for _ in range(10**6):
        x = x + 1
    mx.eval(x)
    assert x.item() == 10**6
    f = mx.array(0.0)
    for _ in range(10**5):
        f = f + 0.5
    assert f.item() == 50000.0  # exact: every partial sum is representable


def test_million_deep_chain_dropped_unevaluated():
    y = mx.array(0, mx.int32)
    for _ in range(10**6):
        y = y * 1
    del y  # must not recurse through 10^6 destructors
    gc.collect()
    assert (mx.array(1) + 1).item() == 2


def test_deep_chains_of_views_and_mixed_ops():
    x = mx.arange(6).reshape(2, 3)
    for i in range(30_000):
        x = x.T if i % 2 == 0 else x.T + 0  # views and elementwise alternate
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    v = mx.arange(4)
    for _ in range(100_000):
        v = v[None][0]  # a chain of pure views
    assert v.tolist() == [0, 1, 2, 3]
    r = mx.zeros((3,))
    for _ in range(10_000):
        r = mx.sum(mx.expand_dims(r, 0) + 1, axis=0)
    assert r.tolist() == [10000.0] * 3


def test_deep_graph_released_after_eval():
    gc.collect()
    base = mx.get_active_memory()
    x = mx.ones((1024,))
    for _ in range(10_000):
        x = x + 1
    mx.eval(x)
    assert x[0].item() == 10001.0
    del x
    gc.collect()
    assert abs(mx.get_active_memory() - base) < 64 * 1024


def test_wide_graph():
    xs = [mx.array(float(i)) for i in range(2000)]
    total = xs[0]
    for v in xs[1:]:
        total = total + v
    parts = [v * 2 for v in xs]
    mx.eval(total, parts)
    assert total.item() == sum(range(2000))
    assert [p.item() for p in parts[:5]] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_errors_are_raised_when_building_not_evaluating():
    a = mx.ones((2, 3))
    with pytest.raises(ValueError):
        a + mx.ones((4,))  # at the call, before any eval
    with pytest.raises(ValueError):
        mx.reshape(a, (4,))
    b = a * 2
    assert b.tolist() == [[2.0] * 3] * 2  # a failed build leaves the graph usable
