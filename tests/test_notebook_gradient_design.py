"""notebooks/gradient_design.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers; in
CI after tests/test_fit_batch.py, whose compiled programs it loads from the disk cache
(docs/development.md).
"""

from tests.test_notebooks import execute_fast


def test_gradient_design_runs_in_fast_mode(monkeypatch):
    execute_fast("gradient_design", monkeypatch)
