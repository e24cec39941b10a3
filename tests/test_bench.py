"""oxmlx-bench's machinery: discovery, the agreement check, the table and the
JSON report (no timing is asserted: benchmarks measure, tests don't time)."""

import json

import numpy as np

from oxmlx.bench import main, table
from oxmlx.bench.frameworks import discover
from oxmlx.bench.runner import _agree, run
from oxmlx.bench.workloads import WORKLOADS


def test_discover_has_oxmlx_and_numpy():
    names = [f.name for f in discover("cpu")]
    assert "oxmlx" in names and "numpy" in names


def test_agreement_check_rejects_wrong_results():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert _agree(a, a + 1e-6, 1e-4, 1e-4)
    assert not _agree(a, a + 1, 1e-4, 1e-4)
    assert not _agree(a, a.reshape(3, 2), 1e-4, 1e-4)
    assert not _agree([a, a], [a], 1e-4, 1e-4)


def test_run_checks_oxmlx_against_numpy(tmp_path):
    fws = discover("cpu", ["oxmlx", "numpy"])
    rows = run([WORKLOADS["reduce"], WORKLOADS["overhead"]], fws, quick=True, budget=1e-4,
               progress=False)
    assert [r["workload"] for r in rows] == ["reduce"] * 3 + ["overhead"]
    for r in rows:
        for name in ("oxmlx", "numpy"):
            assert r["results"][name]["status"] == "ok", (r["case"], r["results"][name])
            assert r["results"][name]["seconds"] > 0
    md = table(rows, ["oxmlx", "numpy"])
    assert md.count("\n") == len(rows) + 1 and "1.00x" in md


def test_cli_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["--only", "overhead", "--quick", "--budget", "0.0001", "--frameworks",
                 "oxmlx,numpy", "--json", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    assert data["frameworks"] == ["oxmlx", "numpy"]
    assert data["rows"][0]["results"]["oxmlx"]["status"] == "ok"
    assert "| overhead |" in capsys.readouterr().out
