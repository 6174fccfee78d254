"""notebooks/gradient_design.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers.
"""

from tests.test_notebooks import execute_fast


def test_gradient_design_runs_in_fast_mode(monkeypatch):
    execute_fast("gradient_design", monkeypatch)
