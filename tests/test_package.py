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


def test_float64_after_a_float32_call():
    """Switching to float64 after float32 calls recompiles in float64 (no stale float32 constants): the
    thermal tables of ``transport`` (cached per model) and the side-wall
    roots of ``peak_temperature`` (cached per number of roots)."""
    code = (
        "import warnings, jax, jax.numpy as jnp, jaxqpc; warnings.simplefilter('ignore')\n"
        "m = jaxqpc.AbruptQPC(1.0)\n"
        "calls = [lambda: jaxqpc.transport(m, 4.0, 0.5, 0.04).power_right,\n"
        "         lambda: jaxqpc.peak_temperature(4.0, R0=1.04, Lc=0.13, h=1.0, contact_voltage=0.61)]\n"
        "before = [f() for f in calls]\n"
        "assert all(v.dtype == jnp.float32 for v in before)\n"
        "jax.config.update('jax_enable_x64', True)\n"
        "for f, v in zip(calls, before):\n"
        "    w = f()\n"
        "    assert w.dtype == jnp.float64, w.dtype\n"
        "    assert jnp.allclose(w, v.astype(jnp.float64), rtol=1e-4), (w, v)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
