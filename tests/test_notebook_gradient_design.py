"""notebooks/gradient_design.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers.
Marked slow: in fast mode it still takes 41–56 s of a CI run (mostly the library's compilation,
docs/development.md), which CI's 6-minute budget does not hold yet; the default suite checks that its
stored outputs come from a full run of its current code (tests/test_notebooks.py). Run it with
``python -m pytest -m slow tests/test_notebook_gradient_design.py``.
"""

import pytest

from tests.test_notebooks import execute_fast


@pytest.mark.slow
def test_gradient_design_runs_in_fast_mode(monkeypatch):
    execute_fast("gradient_design", monkeypatch)
