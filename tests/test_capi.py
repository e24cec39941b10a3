"""The C ABI (include/oxmlx/oxmlx.h): the programs in examples/c are built
with the system C compiler against the header and liboxmlx, run, and their
printed values checked against numpy (and oxmlx's Python API for random);
error paths must come back as status codes with messages; the programs run
clean under valgrind; the CMake package config and pkg-config file of the
install layout work."""

import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

import oxmlx
import oxmlx.core as mx

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "c"
CC = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
CXX = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
VALGRIND = shutil.which("valgrind")

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


def _dev_dirs():
    build = os.environ.get("OXMLX_DEV_BUILD")
    if build and (pathlib.Path(build) / "liboxmlx.so").exists():
        return str(ROOT / "include"), build
    return None


def _package_dirs():
    inc, lib = oxmlx.get_include(), oxmlx.get_lib_dir()
    if os.path.exists(os.path.join(inc, "oxmlx", "oxmlx.h")) and any(
        f.startswith("liboxmlx") for f in os.listdir(lib) if os.path.isdir(lib)
    ):
        return inc, lib
    return None


def _toolchains():
    out = []
    if _dev_dirs():
        out.append("dev")
    pkg = _package_dirs()
    # In a development checkout the package helpers resolve to the dev tree.
    if pkg and (not out or os.path.realpath(pkg[1]) != os.path.realpath(_dev_dirs()[1])):
        out.append("package")
    return out


@pytest.fixture(scope="module", params=_toolchains() or ["none"])
def dirs(request):
    if request.param == "none":
        pytest.skip("no liboxmlx found (dev build or installed package)")
    return _dev_dirs() if request.param == "dev" else _package_dirs()


def build(src, dirs, out_dir):
    inc, lib = dirs
    exe = pathlib.Path(out_dir) / pathlib.Path(src).stem
    cmd = [CC, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", inc, str(src),
           "-L", lib, "-loxmlx", "-pthread", f"-Wl,-rpath,{lib}", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def run(exe, *args, valgrind=False):
    cmd = [str(exe), *map(str, args)]
    if valgrind:
        cmd = [VALGRIND, "--leak-check=full", "--error-exitcode=1", "-q",
               f"--suppressions={ROOT / 'tests' / 'capi_valgrind.supp'}", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return r


def parse_values(stdout):
    """'name: shape=2,3 values=1,2,...' lines -> {name: ndarray}."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S+): shape=(\S*) values=(\S*)$", line)
        if not m:
            continue
        shape = tuple(int(d) for d in m.group(2).split(",") if d)
        vals = [float(v) for v in m.group(3).split(",") if v]
        out[m.group(1)] = np.array(vals, dtype=np.float64).reshape(shape)
    return out


@pytest.fixture(scope="module")
def ops_run(dirs, tmp_path_factory):
    d = tmp_path_factory.mktemp("capi_ops")
    exe = build(EXAMPLES / "ops.c", dirs, d)
    r = run(exe, d)
    assert r.returncode == 0, r.stdout + r.stderr
    return parse_values(r.stdout), r.stdout, d


# Inputs of examples/c/ops.c.
X = (np.arange(12, dtype=np.float32) * np.float32(0.5) - np.float32(2.5)).reshape(3, 4)
Y = np.array([1.5, -2.0, 0.25, 3.0])
I = (np.arange(12, dtype=np.int32) * 7 - 30).reshape(3, 4)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _pad_widths():
    return [(1, 0), (2, 1)]


def expected():
    X64 = X.astype(np.float64)
    lse = np.log(np.exp(X64).sum(axis=1))
    put = X.copy()
    np.put_along_axis(put, np.array([[1], [2], [0]]), 7.0, axis=1)
    dsu = X.copy()
    dsu[1:3, 2:4] = 0
    su = X.copy()
    su[0:3:2, 1:4:2] = 7
    t = np.tanh(X64)
    return {
        "add": X64 + Y,
        "maximum": np.maximum(X64, Y),
        "sigmoid": 1 / (1 + np.exp(-X64)),
        "abs": np.abs(X),
        "sqrt_square": np.abs(X),
        "remainder_int": np.remainder(I, 3),
        "floor_divide_int": np.floor_divide(I, 3),
        "right_shift_int": np.right_shift(I, 3),
        "where_relu": np.where(X > 0, X, 0),
        "astype_f16": X.astype(np.float16),
        "astype_i8": X.astype(np.int8),
        "sum_axis1": X.sum(axis=1),
        "mean_all": X.mean(),
        "max_axis0_keep": I.max(axis=0, keepdims=True),
        "var_axis1_ddof1": X64.var(axis=1, ddof=1),
        "std_all": X64.std(),
        "logsumexp_axis1": lse,
        "softmax_axis0": _softmax(X64, 0),
        "argmax_axis1": I.argmax(axis=1),
        "argmin_flat": X.argmin(),
        "cumsum_axis1": X.cumsum(axis=1),
        "cumprod_reverse": np.cumprod(Y[::-1])[::-1],
        "all": np.all(X > 0),
        "count_nonzero_axis1": np.count_nonzero(I, axis=1),
        "transpose": X.T,
        "slice_rev": X[2::-1, :0:-2],
        "reshape_transposed": X.T.reshape(2, 6),
        "reshape_flat": X.reshape(-1),
        "expand_squeeze": Y,
        "broadcast_to": np.broadcast_to(Y, (3, 4)),
        "moveaxis": np.moveaxis(X, 0, 1),
        "concatenate_axis0": np.concatenate([X, X], axis=0),
        "concatenate_flat": np.concatenate([X.ravel(), X.ravel()]),
        "stack_axis1": np.stack([X, X], axis=1),
        "split2_axis1[0]": X[:, :2],
        "split2_axis1[1]": X[:, 2:],
        "split_idx_axis1[0]": X[:, :1],
        "split_idx_axis1[1]": X[:, 1:3],
        "split_idx_axis1[2]": X[:, 3:],
        "pad_constant": np.pad(X, _pad_widths(), constant_values=7),
        "pad_edge": np.pad(X, _pad_widths(), mode="edge"),
        "clip": np.clip(X, -1, 1.5),
        "clip_max_only": np.minimum(X, 1.5),
        "repeat": np.repeat(Y, 2),
        "tile": np.tile(Y, (2, 1)),
        "flip_axis1": np.flip(X, 1),
        "roll_flat": np.roll(X, -5),
        "tril": np.tril(X),
        "triu_k1": np.triu(X, 1),
        "diagonal_k1": np.diagonal(X, 1),
        "trace": np.trace(X),
        "diff_axis1": np.diff(X, axis=1),
        "outer": np.outer(Y, Y),
        "linspace": np.linspace(0, 1, 5, dtype=np.float32),
        "arange": np.arange(1, 10, 3),
        "eye_k1": np.eye(3, 4, 1),
        "isclose_self": np.ones((3, 4)),
        "full_like_i16": np.full((3, 4), 7),
        "contiguous_transposed": X.T,
        "tri": np.tri(3, 3),
        "identity": np.eye(2),
        "logaddexp": np.logaddexp(X64, X64),
        "round": np.round(X),
        "logcumsumexp_axis1": np.logaddexp.accumulate(X64, axis=1),
        "swapaxes": X.T,
        "flatten": X.ravel(),
        "kron": np.kron(Y, Y),
        "addmm": 0.5 * (X64 @ X64.T) + 2.0 * (X64 @ X64.T),
        "meshgrid_ij[0]": np.meshgrid(Y, Y, indexing="ij")[0],
        "meshgrid_ij[1]": np.meshgrid(Y, Y, indexing="ij")[1],
        "unflatten": X.reshape(3, 2, 2),
        "matvec": X64 @ Y,
        "matmul_xtx": X.T @ X,
        "tensordot": np.tensordot(X, X.T, axes=([1], [0])),
        "take_axis1": np.take(X, [3, 0, -1], axis=1),
        "take_flat": np.take(X, [3, 0, -1]),
        "take_along_axis1": np.take_along_axis(X, np.array([[1], [2], [0]]), axis=1),
        "put_along_axis1": put,
        "scatter_add_rows": X + 1,
        "gather_rows": X.reshape(3, 1, 4),
        "dynamic_slice": X[1:3, 2:4],
        "dynamic_slice_update": dsu,
        "slice_update_strided": su,
        "npy_roundtrip": X.T,
        "safetensors_x": X,
        "safetensors_ints": I,
        "vag_values[0]": (X64 * Y.astype(np.float32) + np.exp(X64)).sum(),
        "vag_values[1]": X * Y.astype(np.float32),
        "vag_grads[0]": Y.astype(np.float32) + np.exp(X64),
        "vag_grads[1]": X.sum(axis=0),
        "vjp_out[0]": t,
        "vjp_tanh[0]": 7 * (1 - t**2),
        "jvp_out[0]": t,
        "jvp_tanh[0]": 7 * (1 - t**2),
        "on_new_stream": X * X,
        "on_cpu_backend_stream": np.zeros((3, 4)),
    }


def test_ops_values_against_numpy(ops_run):
    got, stdout, _ = ops_run
    want = expected()
    missing = sorted(set(want) - set(got))
    assert not missing, f"not printed: {missing}\n{stdout}"
    for name, w in want.items():
        w = np.asarray(w, dtype=np.float64)
        assert got[name].shape == w.shape, (name, got[name].shape, w.shape)
        np.testing.assert_allclose(got[name], w, rtol=2e-6, atol=1e-6, err_msg=name)
    assert "callback_calls: 1" in stdout
    assert "dtype_Y: float64 8" in stdout
    assert "device: cpu" in stdout and "stream_index_positive: 1" in stdout
    assert stdout.rstrip().endswith("done")


def test_abi_version_matches_header(ops_run):
    _, stdout, _ = ops_run
    header = (ROOT / "include" / "oxmlx" / "oxmlx.h").read_text()
    major = re.search(r"#define OXMLX_ABI_VERSION_MAJOR (\d+)", header).group(1)
    minor = re.search(r"#define OXMLX_ABI_VERSION_MINOR (\d+)", header).group(1)
    assert f"abi: {major}.{minor}" in stdout


def test_random_matches_python_api(ops_run):
    got, _, _ = ops_run
    # The C program draws on the CPU (its default device): compare bit for bit
    # with the CPU stream (GPU distributions may differ in the last bit).
    with mx.stream(mx.cpu):
        k = mx.random.key(42)
        np.testing.assert_array_equal(got["uniform_key42"], np.array(mx.random.uniform(shape=(5,), key=k)))
        np.testing.assert_array_equal(got["normal_key42"], np.array(mx.random.normal((5,), key=k)))
        np.testing.assert_array_equal(got["randint_key42"], np.array(mx.random.randint(0, 10, (5,), key=k)))
        np.testing.assert_array_equal(got["split_key42"], np.array(mx.random.split(k)))
    u = got["uniform_key42"]
    assert ((u >= 0) & (u < 1)).all() and len(set(u.tolist())) == 5


def test_files_written_by_c_read_by_numpy_and_safetensors(ops_run):
    _, _, d = ops_run
    np.testing.assert_array_equal(np.load(d / "x.npy"), X.T)
    from safetensors.numpy import load_file

    st = load_file(str(d / "w.safetensors"))
    np.testing.assert_array_equal(st["x"], X)
    np.testing.assert_array_equal(st["ints"], I)
    assert st["ints"].dtype == np.int32


def test_hello_example(dirs, tmp_path):
    exe = build(EXAMPLES / "hello.c", dirs, tmp_path)
    r = run(exe)
    assert r.returncode == 0, r.stderr
    vals = {}
    for line in r.stdout.splitlines():
        name, _, rest = line.partition(": ")
        vals[name] = rest
    x = np.array([[0.5, -1.0, 2.0], [3.0, -0.25, 1.5]])
    f = lambda k: np.array([float(v) for v in vals[k].split()])  # noqa: E731
    np.testing.assert_allclose(f("softmax"), _softmax(x, 1).ravel(), rtol=1e-6)
    np.testing.assert_allclose(f("matmul"), (x @ x.T).ravel(), rtol=1e-6)
    np.testing.assert_allclose(f("exp"), np.exp(x).ravel(), rtol=1e-6)
    np.testing.assert_allclose(f("loss"), [(np.sin(x) * x).sum()], rtol=1e-6)
    np.testing.assert_allclose(f("grad"), (np.cos(x) * x + np.sin(x)).ravel(), rtol=1e-5)
    assert vals["reshape_error"].startswith("OXMLX_ERROR_VALUE [reshape]")


def test_error_paths(dirs, tmp_path):
    exe = build(EXAMPLES / "errors.c", dirs, tmp_path)
    r = run(exe)
    assert r.returncode == 0, r.stdout + r.stderr
    cases = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\w+): (OXMLX_\w+) \| (.*)$", line)
        if m:
            cases[m.group(1)] = (m.group(2), m.group(3))
    want = {
        "bad_reshape": ("OXMLX_ERROR_VALUE", "reshape"),
        "negative_shape": ("OXMLX_ERROR_VALUE", "(2,-3)"),
        "bad_dtype": ("OXMLX_ERROR_TYPE", "dtype value 99"),
        "bad_astype_dtype": ("OXMLX_ERROR_TYPE", "dtype value -1"),
        "axis_out_of_range": ("OXMLX_ERROR_INDEX", "Invalid axis 5"),
        "softmax_axis_out_of_range": ("OXMLX_ERROR_INDEX", "[softmax] Invalid axis 5"),
        "argmax_axis_out_of_range": ("OXMLX_ERROR_INDEX", "Invalid axis -3"),
        "broadcast_mismatch": ("OXMLX_ERROR_VALUE", "(2,3) and (3,2)"),
        "matmul_mismatch": ("OXMLX_ERROR_VALUE", "matmul"),
        "bitwise_on_float": ("OXMLX_ERROR_VALUE", "float32"),
        "null_array": ("OXMLX_ERROR_INVALID_ARGUMENT", "'a' is NULL"),
        "null_out": ("OXMLX_ERROR_INVALID_ARGUMENT", "'out' is NULL"),
        "unknown_unary": ("OXMLX_ERROR_VALUE", "no_such_op"),
        "clip_no_bounds": ("OXMLX_ERROR_VALUE", "a_min or a_max"),
        "concatenate_empty": ("OXMLX_ERROR_VALUE", "No arrays"),
        "vector_get_out_of_range": ("OXMLX_ERROR_INDEX", "Index 3"),
        "to_buffer_wrong_size": ("OXMLX_ERROR_VALUE", "24 bytes"),
        "item_not_scalar": ("OXMLX_ERROR_VALUE", "size 1"),
        "load_missing_file": ("OXMLX_ERROR_VALUE", "/nonexistent/dir/file.npy"),
        "callback_error": ("OXMLX_ERROR_CALLBACK", "user callback refused"),
        "grad_of_non_scalar": ("OXMLX_ERROR_VALUE", "scalar"),
        "callback_without_outputs": ("OXMLX_ERROR_CALLBACK", "without setting"),
        "bad_argnum": ("OXMLX_ERROR_VALUE", "argnum 3"),
        "unknown_backend": ("OXMLX_ERROR_VALUE", "no_such_backend"),
        "bad_device_type": ("OXMLX_ERROR_INVALID_ARGUMENT", "device type 7"),
        "shape_overflow": ("OXMLX_ERROR_VALUE", "too many elements"),
        "allocation_failure": ("OXMLX_ERROR_RUNTIME", "Unable to allocate"),
    }
    assert set(cases) == set(want), r.stdout
    for name, (status, text) in want.items():
        assert cases[name][0] == status, (name, cases[name])
        assert text in cases[name][1], (name, cases[name])
    assert "cleared: []" in r.stdout and "failures: 0" in r.stdout


def test_training_loop_in_c_matches_least_squares(dirs, tmp_path):
    r = run(build(EXAMPLES / "train.c", dirs, tmp_path))
    assert r.returncode == 0, r.stderr
    got = dict(line.split(": ") for line in r.stdout.splitlines())
    k = mx.random.key(0)
    x = np.array(mx.random.uniform(shape=(64,), key=k), dtype=np.float64)
    noise = np.array(mx.random.normal((64,), scale=0.01, key=mx.random.split(k, 1).reshape(2)), dtype=np.float64)
    y = 2 * x - 1 + noise
    (w, b), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
    best = np.mean((w * x + b - y) ** 2)
    assert abs(float(got["w"]) - w) < 5e-3 and abs(float(got["b"]) - b) < 5e-3
    assert best * (1 - 1e-5) <= float(got["loss"]) < best * 1.1  # float32 loss vs float64 optimum


def test_every_dtype_in_and_out_and_thread_local_errors(dirs, tmp_path):
    r = run(build(EXAMPLES / "dtypes.c", dirs, tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    names = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
             "float16", "float32", "float64", "bfloat16", "complex64"]
    for n in names:
        for check in ("roundtrip", "transposed", "scalar_and_empty", "astype_roundtrip"):
            assert f"{check} {n}: ok" in lines, (check, n, r.stdout)
    assert lines.count("thread_local_errors float32: ok") == 4
    assert "managed_zero_copy float32: ok" in lines
    assert "managed_bad_shape_not_released float32: ok" in lines
    assert lines[-1] == "failures: 0"


@pytest.mark.skipif(VALGRIND is None, reason="valgrind not installed")
@pytest.mark.parametrize("name", ["errors", "ops", "dtypes", "train"])
def test_examples_under_valgrind(dirs, tmp_path, name):
    exe = build(EXAMPLES / f"{name}.c", dirs, tmp_path)
    r = run(exe, *({"ops": [tmp_path], "train": [25]}.get(name, [])), valgrind=True)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "definitely lost" not in r.stderr and "Invalid read" not in r.stderr


def test_header_is_c99_and_cpp_clean(dirs, tmp_path):
    inc, _ = dirs
    src = tmp_path / "h.c"
    src.write_text("#include <oxmlx/oxmlx.h>\nint main(void) { return OXMLX_ABI_VERSION_MAJOR - 1; }\n")
    r = subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", inc,
                        "-fsyntax-only", str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if CXX:
        cpp = tmp_path / "h.cpp"
        cpp.write_text(src.read_text())
        r = subprocess.run([CXX, "-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", inc,
                            "-fsyntax-only", str(cpp)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The installed package when it is a real wheel install, otherwise
    `cmake --install` of the dev build into a scratch prefix (the wheel layout)."""
    pkg = pathlib.Path(oxmlx.__file__).parent
    if (pkg / "share" / "cmake" / "oxmlx" / "oxmlxConfig.cmake").exists():
        return pkg
    build_dir = os.environ.get("OXMLX_DEV_BUILD")
    cmake = shutil.which("cmake")
    if not build_dir or not cmake:
        pytest.skip("needs an installed wheel, or OXMLX_DEV_BUILD and cmake")
    prefix = tmp_path_factory.mktemp("prefix")
    r = subprocess.run([cmake, "--install", build_dir, "--prefix", str(prefix)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return prefix / "oxmlx"


def test_install_layout_and_pkg_config(installed, tmp_path):
    assert (installed / "include" / "oxmlx" / "oxmlx.h").exists()
    assert (installed / "share" / "cmake" / "oxmlx" / "oxmlxConfig.cmake").exists()
    pc = installed / "lib" / "pkgconfig" / "oxmlx.pc"
    assert pc.exists()
    pkg = shutil.which("pkg-config") or shutil.which("pkgconf")
    if pkg is None:
        text = pc.read_text()
        assert "-loxmlx" in text and "includedir=${prefix}/include" in text
        return
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc.parent))
    flags = subprocess.run([pkg, "--cflags", "--libs", "oxmlx"], capture_output=True, text=True, env=env)
    assert flags.returncode == 0, flags.stderr
    exe = tmp_path / "hello"
    r = subprocess.run(f"{CC} -std=c99 {EXAMPLES / 'hello.c'} {flags.stdout.strip()} -o {exe}",
                       shell=True, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0 and "grad:" in out.stdout


def test_cmake_package_config(installed, tmp_path):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not installed")
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(EXAMPLES / "hello.c", proj / "hello.c")
    (proj / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(consumer LANGUAGES C)\n"
        "find_package(oxmlx CONFIG REQUIRED)\n"
        "add_executable(hello hello.c)\ntarget_link_libraries(hello PRIVATE oxmlx::oxmlx)\n"
    )
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    r = subprocess.run([cmake, "-S", str(proj), "-B", str(proj / "b"), *gen,
                        f"-Doxmlx_DIR={installed / 'share' / 'cmake' / 'oxmlx'}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([cmake, "--build", str(proj / "b")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run([str(proj / "b" / "hello")], capture_output=True, text=True)
    assert out.returncode == 0 and "softmax:" in out.stdout, out.stderr


def test_python_helpers_point_at_header_and_library():
    inc, lib = oxmlx.get_include(), oxmlx.get_lib_dir()
    assert os.path.exists(os.path.join(inc, "oxmlx", "oxmlx.h"))
    assert any(f.startswith("liboxmlx") for f in os.listdir(lib))
    assert oxmlx.get_cmake_dir().endswith(os.path.join("share", "cmake", "oxmlx"))
    if _package_dirs() and not os.environ.get("OXMLX_DEV_BUILD"):  # a real install
        assert os.path.exists(os.path.join(oxmlx.get_cmake_dir(), "oxmlxConfig.cmake"))


def test_docs_example_is_the_hello_program(dirs, tmp_path):
    doc = (ROOT / "docs" / "c_abi.md").read_text()
    block = re.search(r"## A complete program.*?```c\n(.*?)```", doc, re.S).group(1)
    assert block == (EXAMPLES / "hello.c").read_text()
    src = tmp_path / "doc_example.c"
    src.write_text(block)
    r = run(build(src, dirs, tmp_path))
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("softmax: ")
    printed = re.search(r"It prints\n\n```\n(.*?)```", doc, re.S).group(1)
    assert printed.splitlines()[-1] == r.stdout.splitlines()[-1]
