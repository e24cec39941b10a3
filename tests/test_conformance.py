"""The conformance harness (python -m oxmlx.conformance): case expansion,
report structure, a small subset run against MLX, and that a wrong result,
a wrong dtype and a wrong exception type are each reported with their repro."""

import json
import subprocess
import sys
import types

import numpy as np
import pytest

import oxmlx.core as mx
from oxmlx.conformance import load_cases, run_cases, summarize, write_reports
from oxmlx.conformance.cases import EDGES
from oxmlx.conformance.runner import make_inputs

SUBSET = {"add", "exp", "sum", "softmax", "concatenate", "matmul", "take", "__getitem__", "reshape", "pad"}


def test_spec_expands_to_enough_cases_with_edges():
    cases = load_cases()
    value = [c for c in cases if c.kind == "value"]
    assert len({(c.op, tuple(c.dtypes)) for c in value}) >= 300
    assert {c.variant for c in value} >= set(EDGES) | {"base"}
    assert sum(c.kind == "error" for c in cases) >= 30
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    # mixed-dtype (promotion) cases exist
    assert any(len(set(c.dtypes)) > 1 for c in value)


def test_inputs_are_seeded_and_layouts_are_real():
    c = next(c for c in load_cases(ops={"exp"}) if c.variant == "transposed")
    a, b = make_inputs(c), make_inputs(c)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    logical, buf, layout = a[0]
    assert layout == "transposed" and buf.shape == logical.shape[::-1]
    s = next(c for c in load_cases(ops={"exp"}) if c.variant == "sliced")
    logical, buf, layout = make_inputs(s)[0]
    assert layout == "sliced" and buf.shape[-1] == 2 * logical.shape[-1] + 1
    nf = next(c for c in load_cases(ops={"exp"}) if c.variant == "nonfinite")
    v = make_inputs(nf)[0][0]
    assert np.isnan(v).any() and np.isposinf(v).any() and np.isneginf(v).any()
    other = load_cases(ops={"exp"}, base_seed=1)
    assert [c.seed for c in other] != [c.seed for c in load_cases(ops={"exp"})]


@pytest.fixture(scope="module")
def subset_run(tmp_path_factory):
    mlx = pytest.importorskip("mlx.core")
    cases = load_cases(ops=SUBSET)
    results = run_cases(cases, mx, mlx)
    out = tmp_path_factory.mktemp("conf")
    summary = write_reports(results, out, {"seed": 0})
    return results, summary, out


def test_subset_passes_against_mlx(subset_run):
    results, summary, _ = subset_run
    bad = [r for r in results if r["status"] in ("fail", "harness_error")]
    assert not bad, json.dumps(bad[:3], indent=1, default=str)[:4000]
    assert summary["passed"] == summary["compared"] > 150
    assert summary["error_cases"] > 5


def test_report_structure(subset_run):
    results, summary, out = subset_run
    doc = json.loads((out / "report.json").read_text())
    assert set(doc) >= {"meta", "summary", "mismatches", "cases", "missing"}
    assert doc["summary"]["total"] == len(results) == len(doc["cases"])
    for k in ("passed", "failed", "compared", "pass_rate", "per_op", "missing_in_oxmlx"):
        assert k in doc["summary"]
    md = (out / "report.md").read_text()
    assert f"**{summary['passed']} / {summary['compared']} cases pass**" in md
    assert "| `add` |" in md and "## Mismatches" in md


def _broken_oxmlx():
    """oxmlx with three planted bugs: exp off by 1e-3, sum in the wrong
    dtype, reshape raising the wrong exception type."""
    fake = types.SimpleNamespace(**{n: getattr(mx, n) for n in dir(mx) if not n.startswith("__")})
    fake.exp = lambda a, **k: mx.exp(a, **k) * 1.001
    fake.sum = lambda a, *args, **k: mx.sum(a, *args, **k).astype(mx.float64)

    def reshape(a, *args, **k):
        raise TypeError("planted")

    fake.reshape = reshape
    return fake


def test_planted_bugs_are_reported_with_repro(mlx, tmp_path):
    cases = [c for c in load_cases(ops={"exp", "sum", "reshape"}) if c.variant in ("base", "error")][:60]
    results = run_cases(cases, _broken_oxmlx(), mlx)
    by = {}
    for r in results:
        by.setdefault(r["op"], []).append(r)
    exp_fail = [r for r in by["exp"] if r["status"] == "fail"]
    assert exp_fail and all("max_abs" in r and r["max_rel"] > 5e-4 for r in exp_fail)
    assert all("repro" in r and "mx.exp(x0)" in r["repro"] and r["inputs"] for r in exp_fail)
    assert any("dtype" in r.get("reason", "") for r in by["sum"] if r["status"] == "fail")
    reshape_fail = [r for r in by["reshape"] if r["status"] == "fail"]
    assert reshape_fail
    err = [r for r in reshape_fail if r["kind"] == "error"]
    assert err and err[0]["got"] == "TypeError" and err[0]["expected"] == "ValueError"
    s = summarize(results)
    assert s["failed"] == len([r for r in results if r["status"] == "fail"]) > 0
    write_reports(results, tmp_path, {"seed": 0})
    md = (tmp_path / "report.md").read_text()
    assert "### `exp[" in md and "seed" in md and "```python" in md


def test_cli_runs_and_writes_reports(mlx, tmp_path):
    r = subprocess.run([sys.executable, "-m", "oxmlx.conformance", "--ops", "add,exp,sum",
                        "--backend", "cpu", "--out", str(tmp_path), "--seed", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cases pass" in r.stdout
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["meta"]["seed"] == 3 and doc["meta"]["oxmlx_backend"] == "cpu"
    assert doc["summary"]["failed"] == 0 and doc["summary"]["passed"] > 50
    listed = subprocess.run([sys.executable, "-m", "oxmlx.conformance", "--ops", "exp", "--list"],
                            capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.count("exp[") > 10
    bad = subprocess.run([sys.executable, "-m", "oxmlx.conformance", "--backend", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown oxmlx backend" in (bad.stdout + bad.stderr)


def test_repro_snippets_rebuild_the_case():
    from oxmlx.conformance.runner import _to_np, repro, run_on

    cases = [c for c in load_cases(ops=SUBSET | {"where", "clip", "split"}) if c.kind == "value"
             and c.variant in ("base", "transposed", "sliced", "nonfinite")][::7]
    assert len(cases) > 20
    for c in cases:
        inputs = make_inputs(c)
        ns = {}
        want = run_on(mx, c, inputs)
        if want[0] == "error":  # the snippet raises the same
            with pytest.raises(Exception) as e:
                exec(repro(c, inputs), ns)  # noqa: S102 - our own generated snippet
            assert type(e.value).__name__ == want[1], c.id
            continue
        exec(repro(c, inputs), ns)  # noqa: S102
        got = _to_np(mx, ns["out"])
        for g, w in zip(got if isinstance(got, list) else [got], want[1] if isinstance(want[1], list) else [want[1]]):
            assert g["dtype"] == w["dtype"], c.id
            np.testing.assert_array_equal(g["value"], w["value"], err_msg=c.id)
