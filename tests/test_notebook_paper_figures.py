"""notebooks/paper_figures.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers.
"""

from tests.test_notebooks import execute_fast


def test_paper_figures_runs_in_fast_mode(monkeypatch):
    execute_fast("paper_figures", monkeypatch)
