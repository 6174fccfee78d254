"""YieldTable reproduces the exact detected yield (value and T_e-derivative)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc


@pytest.mark.parametrize("spectrum", ["exact", "eq17"])
def test_table_matches_exact_yield(spectrum):
    table = jaxqpc.YieldTable(spectrum=spectrum)
    temperatures = np.geomspace(200.0, 1e4, 301)
    exact = np.asarray(jaxqpc.photon_yield(temperatures, spectrum=spectrum))
    np.testing.assert_allclose(np.asarray(table(temperatures)), exact, rtol=1e-11)
    grid = jnp.asarray(temperatures[::30])
    d_table = jax.vmap(jax.grad(lambda t: jnp.log(table(t))))(grid)
    d_exact = jax.vmap(jax.grad(lambda t: jnp.log(jaxqpc.photon_yield(t, spectrum=spectrum))))(grid)
    np.testing.assert_allclose(np.asarray(d_table), np.asarray(d_exact), rtol=1e-10)


def test_counts_with_table_equal_counts_with_exact_spectrum():
    kwargs = dict(eta=0.43, R0=1.04, Lc=0.13, h=1.0, source_voltage=0.7, series_resistance=470.0,
                  bin_time=0.01, dark_rate=300.0)
    n = np.linspace(3.5, 8.0, 7)
    exact = jaxqpc.photon_counts_from_conductance(n, spectrum="exact", **kwargs)
    fast = jaxqpc.photon_counts_from_conductance(n, spectrum=jaxqpc.YieldTable(), **kwargs)
    np.testing.assert_allclose(np.asarray(fast), np.asarray(exact), rtol=1e-11)


def test_table_refuses_temperatures_outside_its_range():
    table = jaxqpc.YieldTable(spectrum="eq17", t_min=300.0, t_max=5000.0, degree=30)
    with pytest.raises(ValueError, match="electron_temperature"):
        table(6000.0)
    with pytest.raises(ValueError, match="t_max"):
        jaxqpc.YieldTable(t_min=500.0, t_max=400.0)
