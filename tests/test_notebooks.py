"""notebooks/: stored with the outputs of a full run of their current code; executed in fast mode elsewhere.

The checks here read the stored files only (fast). Each notebook is executed top to bottom in fast
mode (``JAXQPC_NOTEBOOK_FAST=1``) by its own file, ``tests/test_notebook_<name>.py``, so that
``--dist loadfile`` spreads them over the xdist workers; :func:`execute_fast` is what those files
call. ``python notebooks/run_all.py`` regenerates the stored outputs (docs/development.md).
"""

import ast
import base64
import importlib
import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = ("bayesian_fitting", "gpu_batch_inference", "gradient_design", "paper_figures")
MAX_NOTEBOOK_BYTES = 400_000
MAX_IMAGE_BYTES = 120_000
MAX_THUMBNAIL_BYTES = 40_000


def run_all():
    """notebooks/run_all.py as a module (the notebooks folder is not a package)."""
    spec = importlib.util.spec_from_file_location("notebooks_run_all", ROOT / "notebooks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute_fast(name, monkeypatch):
    """Execute ``notebooks/<name>.ipynb`` as stored, in fast mode, in a fresh kernel (nothing is
    written back). The kernel shares the suite's compilation cache (tests/conftest.py). A cell that
    raises fails the test with the cell's traceback (nbclient's CellExecutionError)."""
    import jax

    cache = jax.config.jax_compilation_cache_dir
    if cache:
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", cache)
        monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                           str(jax.config.jax_persistent_cache_min_compile_time_secs))
    nb, _ = run_all().execute(ROOT / "notebooks" / f"{name}.ipynb", fast=True, timeout=600)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in cells)
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    return nb


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_four_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_is_executed_by_its_own_test_file(name):
    test_file = ROOT / "tests" / f"test_notebook_{name}.py"
    assert test_file.is_file()
    assert f'execute_fast("{name}"' in test_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_parses_and_imports_resolve(path):
    nb = load(path)
    assert nb["nbformat"] == 4
    cells = run_all().code_cells(nb)
    first = cells[0]
    # the first code cell reads the fast-mode switch and sets JAX to CPU and float64
    assert "JAXQPC_NOTEBOOK_FAST" in first and "jax_enable_x64" in first and '"jax_platforms", "cpu"' in first
    tree = ast.parse("\n".join(line for cell in cells for line in cell.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("jaxqpc", "inference"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"), (path.name, node.module, alias.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_a_full_run_of_the_current_code(path):
    nb = load(path)
    meta = nb["metadata"].get("jaxqpc", {})
    assert meta.get("code_sha256") == run_all().code_sha256(nb), (
        f"{path.name}: the code changed since its outputs were stored; run python notebooks/run_all.py {path.stem}")
    assert meta.get("fast") is False, f"{path.name}: stored outputs must come from a full run, not fast mode"
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # one run, top to bottom, every cell executed once and showing something
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1)), path.name
    empty = [i for i, c in enumerate(cells) if not c["outputs"]]
    assert not empty, f"{path.name}: code cells {empty} have no outputs"
    errors = [o.get("ename") for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name}: {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebooks_are_small_with_png_figures(path):
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES, f"{path.name}: {path.stat().st_size / 1e3:.0f} kB"
    images = [base64.b64decode(o["data"]["image/png"]) for c in load(path)["cells"] if c["cell_type"] == "code"
              for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure"
    assert max(len(i) for i in images) <= MAX_IMAGE_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_thumbnails_are_small_and_linked(name):
    thumb = ROOT / "docs" / "images" / f"notebook_{name}.png"
    assert thumb.is_file() and thumb.stat().st_size <= MAX_THUMBNAIL_BYTES
    page = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    assert f"../notebooks/{name}.ipynb" in page and f"images/notebook_{name}.png" in page
