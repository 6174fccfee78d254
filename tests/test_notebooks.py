"""notebooks/: valid notebooks whose code parses and whose imports resolve (not executed in CI)."""

import ast
import importlib
import json
import pathlib

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"bayesian_fitting", "gpu_batch_inference",
                                           "gradient_design", "paper_figures"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_parses_and_imports_resolve(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    tree = ast.parse(code)
    assert "jax_enable_x64" in code  # notebooks switch double precision on themselves
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("jaxqpc", "inference"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"), (path.name, node.module, alias.name)
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [], f"{path.name}: commit notebooks without outputs"
