"""File I/O: mx.save / savez / savez_compressed / save_safetensors / save_gguf
and mx.load. Round trips of every dtype through every format, interop with
numpy, MLX and the safetensors package, metadata, zero-copy loading, layout
(Fortran order, big-endian, unaligned tensors) and malformed files."""

import gc
import io
import json
import os
import pathlib
import struct

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import DTYPE_NAMES, NP_OF, bf16_round, dname, to_np

GGUF_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64"]
MLX_GGUF_DTYPES = ["float32", "float16", "int8", "int16", "int32"]


def sample(name, shape=(3, 4)):
    """Deterministic numpy data for a dtype (bfloat16: float32 values exact in bf16)."""
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    n = int(np.prod(shape))
    if name == "bool_":
        x = rng.integers(0, 2, n).astype(bool)
    elif name.startswith("uint"):
        x = (np.arange(n) * 37 + 200).astype(NP_OF[name])
    elif name.startswith("int"):
        x = (np.arange(n) * 37 - 100).astype(NP_OF[name])
    elif name == "bfloat16":
        x = bf16_round(rng.standard_normal(n).astype(np.float32))
    elif name == "complex64":
        x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    else:  # float64 data exact in float32: mx.array(float64 ndarray) gives float32
        x = rng.standard_normal(n).astype(np.float32).astype(NP_OF[name])
    return x.reshape(shape)


def mx_sample(name, shape=(3, 4)):
    x = sample(name, shape)
    return mx.array(x).astype(getattr(mx, name))


def check(a, name, expected):
    assert dname(a.dtype) == name
    assert tuple(a.shape) == expected.shape
    np.testing.assert_array_equal(to_np(a), expected)


def mlx_to_np(a, M):
    if a.dtype == M.bfloat16:
        a = a.astype(M.float32)
    return np.array(a)


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_npy_round_trip(tmp_path, name):
    a = mx_sample(name)
    mx.save(str(tmp_path / "a.npy"), a)
    check(mx.load(str(tmp_path / "a.npy")), name, sample(name))


@pytest.mark.parametrize("name", DTYPE_NAMES)
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip(tmp_path, name, compressed):
    f = mx.savez_compressed if compressed else mx.savez
    f(str(tmp_path / "a.npz"), mx_sample(name), x=mx_sample(name, (5,)), s=mx_sample(name, ()))
    d = mx.load(str(tmp_path / "a.npz"))
    assert sorted(d) == ["arr_0", "s", "x"]
    check(d["arr_0"], name, sample(name))
    check(d["x"], name, sample(name, (5,)))
    check(d["s"], name, sample(name, ()))


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_safetensors_round_trip(tmp_path, name):
    arrs = {"a": mx_sample(name), "b": mx_sample(name, (2, 0, 3)), "c": mx_sample(name, ())}
    mx.save_safetensors(str(tmp_path / "a.safetensors"), arrs)
    d = mx.load(str(tmp_path / "a.safetensors"))
    assert sorted(d) == ["a", "b", "c"]
    check(d["a"], name, sample(name))
    check(d["b"], name, sample(name, (2, 0, 3)))
    check(d["c"], name, sample(name, ()))


@pytest.mark.parametrize("name", GGUF_DTYPES)
def test_gguf_round_trip(tmp_path, name):
    mx.save_gguf(str(tmp_path / "a.gguf"), {"w": mx_sample(name), "v": mx_sample(name, (7,))})
    d = mx.load(str(tmp_path / "a.gguf"))
    check(d["w"], name, sample(name))
    check(d["v"], name, sample(name, (7,)))


@pytest.mark.parametrize("name", sorted(set(DTYPE_NAMES) - set(GGUF_DTYPES)))
def test_gguf_rejects_dtype(tmp_path, name):
    with pytest.raises(ValueError):
        mx.save_gguf(str(tmp_path / "a.gguf"), {"w": mx_sample(name)})


def test_extensions_paths_and_file_objects(tmp_path):
    a = mx.arange(6).reshape(2, 3)
    mx.save(str(tmp_path / "a"), a)
    mx.savez(tmp_path / "b", a)
    mx.savez_compressed(tmp_path / "c", a)
    mx.save_safetensors(str(tmp_path / "d"), {"a": a})
    mx.save_gguf(tmp_path / "e", {"a": a})
    mx.save(str(tmp_path / "f.txt"), a)
    assert sorted(os.listdir(tmp_path)) == [
        "a.npy", "b.npz", "c.npz", "d.safetensors", "e.gguf", "f.txt.npy"]
    exp = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(np.array(mx.load(pathlib.Path(tmp_path / "a.npy"))), exp)
    for f in ["b.npz", "c.npz", "d.safetensors", "e.gguf"]:
        (v,) = mx.load(str(tmp_path / f)).values()
        np.testing.assert_array_equal(np.array(v), exp)
    # explicit format overrides the extension
    os.rename(tmp_path / "d.safetensors", tmp_path / "d.bin")
    np.testing.assert_array_equal(
        np.array(mx.load(str(tmp_path / "d.bin"), format="safetensors")["a"]), exp)
    # file objects: the format comes from their .name
    with open(tmp_path / "a.npy", "rb") as f:
        np.testing.assert_array_equal(np.array(mx.load(f)), exp)
    # file-like objects
    for save, fmt in [(lambda f: mx.save(f, a), "npy"),
                      (lambda f: mx.savez(f, a=a), "npz"),
                      (lambda f: mx.savez_compressed(f, a=a), "npz"),
                      (lambda f: mx.save_safetensors(f, {"a": a}), "safetensors"),
                      (lambda f: mx.save_gguf(f, {"a": a}), "gguf")]:
        buf = io.BytesIO()
        save(buf)
        buf.seek(0)
        out = mx.load(buf, format=fmt)
        np.testing.assert_array_equal(np.array(out if fmt == "npy" else out["a"]), exp)


def test_lazy_and_noncontiguous_arrays_are_saved_by_value(tmp_path):
    base = mx.arange(24).reshape(2, 3, 4)
    cases = {
        "lazy": base * 2 + 1,
        "transposed": base.transpose(2, 0, 1),
        "strided": base[:, ::2, 1::2],
        "broadcast": mx.broadcast_to(mx.arange(4), (3, 4)),
        "colmajor": base.reshape(6, 4).T,
        "reversed": base[::-1],
    }
    b = np.arange(24).reshape(2, 3, 4)
    exp = {
        "lazy": b * 2 + 1, "transposed": b.transpose(2, 0, 1), "strided": b[:, ::2, 1::2],
        "broadcast": np.broadcast_to(np.arange(4), (3, 4)), "colmajor": b.reshape(6, 4).T,
        "reversed": b[::-1],
    }
    for k, v in cases.items():
        mx.save(str(tmp_path / f"{k}.npy"), v)
        np.testing.assert_array_equal(np.load(tmp_path / f"{k}.npy"), exp[k])
        np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / f"{k}.npy"))), exp[k])
    # column-major arrays are written in Fortran order (as MLX does)
    assert np.load(tmp_path / "colmajor.npy").flags["F_CONTIGUOUS"]
    mx.savez(str(tmp_path / "all.npz"), **cases)
    mx.save_safetensors(str(tmp_path / "all.safetensors"), cases)
    mx.save_gguf(str(tmp_path / "all.gguf"), cases)
    for f in ["all.npz", "all.safetensors", "all.gguf"]:
        d = mx.load(str(tmp_path / f))
        for k in cases:
            np.testing.assert_array_equal(np.array(d[k]), exp[k], err_msg=f"{f}:{k}")


# ---------------------------------------------------------------------------
# numpy interop and npy layouts
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_numpy_reads_oxmlx_files(tmp_path, name):
    mx.save(str(tmp_path / "a.npy"), mx_sample(name))
    mx.savez_compressed(str(tmp_path / "a.npz"), x=mx_sample(name))
    got, gotz = np.load(tmp_path / "a.npy"), np.load(tmp_path / "a.npz")["x"]
    exp = sample(name)
    if name == "bfloat16":  # numpy sees '<V2'; compare the bits
        exp = (exp.view(np.uint32) >> 16).astype(np.uint16)
        got, gotz = got.view(np.uint16), gotz.view(np.uint16)
    for g in (got, gotz):
        assert g.dtype == exp.dtype
        np.testing.assert_array_equal(g, exp)


@pytest.mark.parametrize("name", [n for n in DTYPE_NAMES if n != "bfloat16"])
def test_oxmlx_reads_numpy_files(tmp_path, name):
    x = sample(name, (4, 5))
    np.save(tmp_path / "c.npy", x)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    np.save(tmp_path / "b.npy", x.astype(x.dtype.newbyteorder(">")))
    np.savez(tmp_path / "a.npz", x, y=x[::2])
    np.savez_compressed(tmp_path / "z.npz", x, y=x[::2])
    for f in ["c.npy", "f.npy", "b.npy"]:
        check(mx.load(str(tmp_path / f)), name, x)
    for f in ["a.npz", "z.npz"]:
        d = mx.load(str(tmp_path / f))
        check(d["arr_0"], name, x)
        check(d["y"], name, x[::2])


def test_fortran_npy_is_wrapped_column_major(tmp_path):
    x = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.save(tmp_path / "f.npy", x)
    a = mx.load(str(tmp_path / "f.npy"))
    np.testing.assert_array_equal(np.array(a), x)
    np.testing.assert_array_equal(np.array(a + 1), x + 1)
    np.testing.assert_array_equal(np.array(a.reshape(12)), x.reshape(12))


def test_unaligned_npy_data_is_copied(tmp_path):
    # A hand-made version 1.0 header whose data starts at an odd offset.
    x = np.arange(10, dtype=np.float64)
    hdr = b"{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }\n"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + x.tobytes()
    assert (10 + len(hdr)) % 8 != 0
    (tmp_path / "u.npy").write_bytes(raw)
    np.testing.assert_array_equal(np.load(tmp_path / "u.npy"), x)
    np.testing.assert_array_equal(np.array(mx.load(str(tmp_path / "u.npy"))), x)


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------


def safetensors_raw(tensors, data, metadata=None):
    """A .safetensors image from a {name: (dtype, shape, [begin, end])} header."""
    hdr = {k: {"dtype": d, "shape": s, "data_offsets": o} for k, (d, s, o) in tensors.items()}
    if metadata is not None:
        hdr["__metadata__"] = metadata
    h = json.dumps(hdr).encode()
    return struct.pack("<Q", len(h)) + h + data


def test_safetensors_unaligned_tensor_is_copied(tmp_path):
    i32 = np.arange(5, dtype=np.int32) - 2
    raw = safetensors_raw({"b": ("U8", [1], [0, 1]), "i": ("I32", [5], [1, 21])},
                          b"\x07" + i32.tobytes())
    (tmp_path / "u.safetensors").write_bytes(raw)
    d = mx.load(str(tmp_path / "u.safetensors"))
    np.testing.assert_array_equal(np.array(d["i"]), i32)
    np.testing.assert_array_equal(np.array(d["b"]), [7])


def test_safetensors_metadata_round_trip(tmp_path):
    meta = {"format": "mlx", "empty": "", "unicode": "h\u00e9llo \u2603"}
    mx.save_safetensors(str(tmp_path / "m.safetensors"), {"a": mx.ones((2,))}, meta)
    d, m = mx.load(str(tmp_path / "m.safetensors"), return_metadata=True)
    assert m == meta and list(d) == ["a"]
    mx.save_safetensors(str(tmp_path / "n.safetensors"), {"a": mx.ones((2,))})
    assert mx.load(str(tmp_path / "n.safetensors"), return_metadata=True)[1] == {}
    with pytest.raises(ValueError, match="Metadata"):
        mx.save_safetensors(str(tmp_path / "x.safetensors"), {"a": mx.ones((2,))}, {"k": 1})


def test_safetensors_load_is_zero_copy(tmp_path):
    n = 10 * 1024 * 1024  # 40 MB of float32
    mx.save_safetensors(str(tmp_path / "big.safetensors"), {"w": mx.arange(n, dtype=mx.float32)})
    gc.collect()
    before = mx.get_active_memory()
    d = mx.load(str(tmp_path / "big.safetensors"))
    w = d["w"]
    assert mx.get_active_memory() - before < 1024 * 1024
    assert w.shape == [n] or tuple(w.shape) == (n,)
    assert w[n - 1].item() == n - 1
    assert mx.sum(w[:1000]).item() == sum(range(1000))
    # the array keeps the mapping alive after the file is gone
    del d
    os.remove(tmp_path / "big.safetensors")
    gc.collect()
    assert w[12345].item() == 12345


def test_writing_through_numpy_view_of_loaded_array(tmp_path):
    # Loaded arrays alias a private mapping: writes stay in this process.
    mx.save_safetensors(str(tmp_path / "w.safetensors"), {"a": mx.arange(4)})
    mx.save(str(tmp_path / "w.npy"), mx.arange(4))
    mx.savez(str(tmp_path / "w.npz"), a=mx.arange(4))
    for f in ["w.safetensors", "w.npy", "w.npz"]:
        out = mx.load(str(tmp_path / f))
        a = out if f.endswith(".npy") else out["a"]
        v = np.asarray(a)
        v[0] = 5
        assert np.array(a).tolist() == [5, 1, 2, 3]
        again = mx.load(str(tmp_path / f))
        assert np.array(again if f.endswith(".npy") else again["a"]).tolist() == [0, 1, 2, 3]


def test_safetensors_package_interop(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    names = [n for n in DTYPE_NAMES if n not in ("bfloat16", "complex64")]
    mx.save_safetensors(str(tmp_path / "o.safetensors"), {n: mx_sample(n) for n in names},
                        {"k": "v"})
    got = st.load_file(str(tmp_path / "o.safetensors"))
    for n in names:
        assert got[n].dtype == sample(n).dtype
        np.testing.assert_array_equal(got[n], sample(n))
    st.save_file({n: sample(n, (2, 5)) for n in names}, str(tmp_path / "p.safetensors"),
                 metadata={"a": "b"})
    d, m = mx.load(str(tmp_path / "p.safetensors"), return_metadata=True)
    assert m == {"a": "b"}
    for n in names:
        check(d[n], n, sample(n, (2, 5)))


# ---------------------------------------------------------------------------
# gguf metadata
# ---------------------------------------------------------------------------


def test_gguf_metadata_round_trip(tmp_path):
    meta = {
        "name": "model",
        "tokens": ["a", "bc", ""],
        "empty": [],
        "i32": mx.array(3),
        "f32": mx.array(1.5),
        "u8": mx.array(5, dtype=mx.uint8),
        "b": mx.array(True),
        "vec": mx.array([1.0, 2.0, 3.0]),
        "ivec": mx.array([1, -2], dtype=mx.int64),
        "bvec": mx.array([True, False]),
        "u64vec": mx.array([1, 2**40], dtype=mx.uint64),
    }
    mx.save_gguf(str(tmp_path / "m.gguf"), {"w": mx.ones((2, 3))}, meta)
    d, m = mx.load(str(tmp_path / "m.gguf"), return_metadata=True)
    assert list(d) == ["w"] and set(m) == set(meta)
    for k, v in meta.items():
        if isinstance(v, (str, list)):
            assert m[k] == v, k
        else:
            assert m[k].dtype == v.dtype and m[k].shape == v.shape, k
            np.testing.assert_array_equal(np.array(m[k]), np.array(v))
    for bad in [mx.ones((2, 2)), mx.ones((0,)), mx.array([1.0], dtype=mx.float16), [1, 2], {}]:
        with pytest.raises((ValueError, TypeError)):
            mx.save_gguf(str(tmp_path / "x.gguf"), {}, {"k": bad})


# ---------------------------------------------------------------------------
# MLX interop
# ---------------------------------------------------------------------------


def test_mlx_reads_oxmlx_files(tmp_path, mlx):
    M = mlx
    names = DTYPE_NAMES
    st_names = [n for n in names if n != "float64"]  # MLX's safetensors has no F64
    mx.save_safetensors(str(tmp_path / "o.safetensors"), {n: mx_sample(n) for n in st_names},
                        {"k": "v"})
    mx.savez(str(tmp_path / "o.npz"), **{n: mx_sample(n) for n in names})
    mx.save_gguf(str(tmp_path / "o.gguf"), {n: mx_sample(n) for n in MLX_GGUF_DTYPES},
                 {"s": "x", "l": ["a", "b"], "i": mx.array(7), "v": mx.array([1.5, 2.5])})
    st, stm = M.load(str(tmp_path / "o.safetensors"), return_metadata=True)
    npz = M.load(str(tmp_path / "o.npz"))
    gg, ggm = M.load(str(tmp_path / "o.gguf"), return_metadata=True)
    assert stm == {"k": "v"}
    for n in names:
        mx.save(str(tmp_path / f"{n}.npy"), mx_sample(n))
        srcs = [npz[n], M.load(str(tmp_path / f"{n}.npy"))] + ([st[n]] if n in st else [])
        for src in srcs:
            assert dname(src.dtype) == n
            np.testing.assert_array_equal(mlx_to_np(src, M), sample(n))
    for n in MLX_GGUF_DTYPES:
        np.testing.assert_array_equal(mlx_to_np(gg[n], M), sample(n))
    assert ggm["s"] == "x" and ggm["l"] == ["a", "b"]
    assert ggm["i"].item() == 7 and np.array(ggm["v"]).tolist() == [1.5, 2.5]


def test_oxmlx_reads_mlx_files(tmp_path, mlx):
    M = mlx

    def msample(n, shape=(3, 4)):
        return M.array(sample(n, shape)).astype(getattr(M, "bool_" if n == "bool_" else n))

    names = DTYPE_NAMES
    st_names = [n for n in names if n != "float64"]  # MLX's safetensors has no F64
    M.save_safetensors(str(tmp_path / "m.safetensors"), {n: msample(n) for n in st_names},
                       {"k": "v"})
    M.savez_compressed(str(tmp_path / "m.npz"), **{n: msample(n) for n in names})
    gmeta = {"s": "x", "l": ["a", "b"], "i": M.array(7), "u": M.array(3, dtype=M.uint16),
             "v": M.array([1.5, 2.5]), "bv": M.array([True, False])}
    M.save_gguf(str(tmp_path / "m.gguf"), {n: msample(n) for n in MLX_GGUF_DTYPES}, gmeta)
    st, stm = mx.load(str(tmp_path / "m.safetensors"), return_metadata=True)
    npz = mx.load(str(tmp_path / "m.npz"))
    assert stm == {"k": "v"}
    for n in names:
        M.save(str(tmp_path / f"{n}.npy"), msample(n))
        M.save(str(tmp_path / f"{n}_t.npy"), msample(n, (4, 3)).T)  # Fortran order
        if n in st_names:
            check(st[n], n, sample(n))
        check(npz[n], n, sample(n))
        check(mx.load(str(tmp_path / f"{n}.npy")), n, sample(n))
        check(mx.load(str(tmp_path / f"{n}_t.npy")), n, sample(n, (4, 3)).T)
    gg, ggm = mx.load(str(tmp_path / "m.gguf"), return_metadata=True)
    ref, refm = M.load(str(tmp_path / "m.gguf"), return_metadata=True)
    for n in MLX_GGUF_DTYPES:
        check(gg[n], n, sample(n))
    assert set(ggm) == set(refm)
    for k, v in refm.items():
        if isinstance(v, (str, list)):
            assert ggm[k] == v
        else:
            assert dname(ggm[k].dtype) == dname(v.dtype) and tuple(ggm[k].shape) == tuple(v.shape)
            np.testing.assert_array_equal(np.array(ggm[k]), np.array(v))


def test_gguf_quantized_matches_mlx(tmp_path, mlx):
    gguf = pytest.importorskip("gguf")
    M = mlx
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 64)).astype(np.float32)
    writer = gguf.GGUFWriter(str(tmp_path / "q.gguf"), "test")
    for qt, name in [(gguf.GGMLQuantizationType.Q8_0, "q8.weight"),
                     (gguf.GGMLQuantizationType.Q4_0, "q40.weight"),
                     (gguf.GGMLQuantizationType.Q4_1, "q41")]:
        q = gguf.quants.quantize(w, qt)
        writer.add_tensor(name, q, raw_dtype=qt)
    writer.add_tensor("plain", w)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    got = mx.load(str(tmp_path / "q.gguf"))
    ref = M.load(str(tmp_path / "q.gguf"))
    assert set(got) == set(ref)
    for k in ref:
        assert dname(got[k].dtype) == dname(ref[k].dtype), k
        np.testing.assert_array_equal(np.array(got[k]), np.array(ref[k]), err_msg=k)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_load_argument_errors(tmp_path):
    a = mx.ones((2,))
    mx.save(str(tmp_path / "a.npy"), a)
    mx.savez(str(tmp_path / "a.npz"), a)
    with pytest.raises(ValueError, match="metadata not supported"):
        mx.load(str(tmp_path / "a.npy"), return_metadata=True)
    with pytest.raises(ValueError, match="metadata not supported"):
        mx.load(str(tmp_path / "a.npz"), return_metadata=True)
    with pytest.raises(ValueError, match="Unknown file format"):
        mx.load(str(tmp_path / "a.npy"), format="xyz")
    with pytest.raises(ValueError, match="infer"):
        mx.load(str(tmp_path / "noext"))
    with pytest.raises(ValueError, match="arr_0"):
        mx.savez(str(tmp_path / "b.npz"), a, arr_0=a)
    with pytest.raises(TypeError):
        mx.save(str(tmp_path / "c.npy"), np.ones(2))
    with pytest.raises(TypeError):
        mx.save_safetensors(str(tmp_path / "c.safetensors"), {"a": [1.0]})


def test_missing_file_raises_like_mlx(tmp_path):
    for ext, exc in [("npy", RuntimeError), ("safetensors", RuntimeError),
                     ("npz", ValueError), ("gguf", ValueError)]:
        with pytest.raises(exc):
            mx.load(str(tmp_path / f"missing.{ext}"))


def npy_bytes(x):
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def write(tmp_path, name, raw):
    p = tmp_path / name
    p.write_bytes(raw)
    return str(p)


def test_malformed_npy(tmp_path):
    good = npy_bytes(np.arange(16, dtype=np.float32))
    cases = {
        "truncated data": good[:-4],
        "truncated magic": good[:5],
        "header length past end": good[:8] + struct.pack("<H", 60000) + good[10:80],
        "bad dtype": good.replace(b"'<f4'", b"'<q9'"),
        "bad magic": b"XNUMPY" + good[6:],
    }
    for what, raw in cases.items():
        with pytest.raises(ValueError) as e:
            mx.load(write(tmp_path, "bad.npy", raw))
        assert "npy" in str(e.value), what
    with pytest.raises(ValueError, match="offset"):
        mx.load(write(tmp_path, "bad.npy", cases["header length past end"]))


def test_malformed_safetensors(tmp_path):
    data = np.arange(4, dtype=np.float32).tobytes()
    good = safetensors_raw({"a": ("F32", [4], [0, 16])}, data)
    assert np.array(mx.load(write(tmp_path, "g.safetensors", good))["a"]).tolist() == [0, 1, 2, 3]
    cases = {
        "truncated": good[:-3],
        "header length past end": struct.pack("<Q", 1 << 20) + good[8:],
        "short length": good[:5],
        "bad dtype": safetensors_raw({"a": ("F99", [4], [0, 16])}, data),
        "offsets out of range": safetensors_raw({"a": ("F32", [4], [0, 32])}, data),
        "size mismatch": safetensors_raw({"a": ("F32", [5], [0, 16])}, data),
        "negative dim": safetensors_raw({"a": ("F32", [-4], [0, 16])}, data),
        "not json": struct.pack("<Q", 4) + b"{abc" + data,
    }
    for what, raw in cases.items():
        with pytest.raises(ValueError) as e:
            mx.load(write(tmp_path, "bad.safetensors", raw))
        assert "safetensors" in str(e.value), what
    for what in ["header length past end", "bad dtype", "offsets out of range"]:
        with pytest.raises(ValueError, match="offset|dtype|data_offsets"):
            mx.load(write(tmp_path, "bad.safetensors", cases[what]))


def test_malformed_npz_and_gguf(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(8))
    good = buf.getvalue()
    for raw in [good[:-10], good[: len(good) // 2], b"PK\x03\x04" + b"\0" * 40, b"garbage"]:
        with pytest.raises(ValueError):
            mx.load(write(tmp_path, "bad.npz", raw))
    mx.save_gguf(str(tmp_path / "g.gguf"), {"w": mx.ones((4, 8))}, {"s": "hello"})
    good = (tmp_path / "g.gguf").read_bytes()
    for raw in [good[:-1], good[:20], b"GGUF" + struct.pack("<I", 1) + good[8:],
                b"FUGG" + good[4:]]:
        with pytest.raises(ValueError, match="gguf"):
            mx.load(write(tmp_path, "bad.gguf", raw))
