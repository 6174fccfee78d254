"""notebooks/gradient_design.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers.
Marked slow (its compilation with a cold cache does not fit CI's budget, docs/development.md): the
default suite checks that its stored outputs come from a full run of its current code
(tests/test_notebooks.py); run it with ``python -m pytest -m slow tests/test_notebook_gradient_design.py``.
"""

import pytest

from tests.test_notebooks import execute_fast


@pytest.mark.slow
def test_gradient_design_runs_in_fast_mode(monkeypatch):
    execute_fast("gradient_design", monkeypatch)
