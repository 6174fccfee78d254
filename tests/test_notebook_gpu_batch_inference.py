"""notebooks/gpu_batch_inference.ipynb executes top to bottom in fast mode (JAXQPC_NOTEBOOK_FAST=1).

One file per notebook, so that `--dist loadfile` spreads the executions over the xdist workers.
"""

from tests.test_notebooks import execute_fast


def test_gpu_batch_inference_runs_in_fast_mode(monkeypatch):
    execute_fast("gpu_batch_inference", monkeypatch)
