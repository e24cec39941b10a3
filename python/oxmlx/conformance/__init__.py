"""Conformance harness: runs a spec of ops x shapes x dtypes x keyword
arguments x tolerances on oxmlx and on upstream MLX with identical (seeded)
inputs and reports every mismatch with its repro inputs.

    python -m oxmlx.conformance --out report/            # everything
    python -m oxmlx.conformance --ops add,exp --out r/   # a subset

The specs are JSON files in ``specs/`` (see docs/conformance.md); the cases
they expand to, generated edge cases included (empty arrays, 0-d scalars,
transposed and strided inputs, NaN/inf, broadcasting, mixed dtypes), are
built by :mod:`oxmlx.conformance.cases`; :mod:`oxmlx.conformance.runner`
runs and compares them; :mod:`oxmlx.conformance.report` writes report.md and
report.json.
"""

from oxmlx.conformance.cases import Case, load_cases  # noqa: F401
from oxmlx.conformance.runner import run_cases  # noqa: F401
from oxmlx.conformance.report import summarize, write_reports  # noqa: F401
