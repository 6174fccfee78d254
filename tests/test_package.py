"""Packaging: the `inference` name clash fails loudly; jaxqpc never imports inference."""

import importlib
import subprocess
import sys

import pytest


def test_inference_refuses_to_load_beside_the_unrelated_pypi_package(monkeypatch):
    import inference

    monkeypatch.setattr(importlib.metadata, "packages_distributions",
                        lambda: {"inference": ["jaxqpc", "inference"]})
    with pytest.raises(ImportError, match="pip uninstall inference"):
        importlib.reload(inference)


def test_inference_is_ours():
    import inference

    assert inference.__jaxqpc__ is True


def test_jaxqpc_does_not_import_inference_or_enable_x64():
    code = ("import sys, jax, jaxqpc; assert 'inference' not in sys.modules; "
            "assert not jax.config.jax_enable_x64")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_float32_warning():
    code = ("import warnings, jaxqpc; warnings.simplefilter('error');\n"
            "try:\n    jaxqpc.AbruptQPC(1.0).transmission(1.0)\nexcept RuntimeWarning as w:\n"
            "    assert 'float32' in str(w)\nelse:\n    raise SystemExit('no warning')")
    subprocess.run([sys.executable, "-c", code], check=True)
