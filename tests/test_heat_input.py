"""The heat input as a model choice of the fits (``Dataset.with_heat_input``, ``simulate_experiment``).

Independent checks: the Landauer share of a constant transmission is 1/2
(particle-hole symmetry), so the model's counts must equal ``photon_counts``
with ``heat_fraction=0.5`` composed by hand from the circuit; the simulator's
per-bin means must equal that composition bin by bin.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from inference import likelihood as lik
from inference.simulate import EXAMPLE_TRUTH, simulate_experiment

TRUTH = {"eta": 0.4, "Lc": 0.3, "R0": 2.0, "h": 1.0}


@pytest.fixture(scope="module")
def table():
    return jaxqpc.YieldTable()


@pytest.fixture(scope="module")
def simulated():
    """(trace, dataset) of a short trace simulated with the Landauer heat input."""
    return simulate_experiment(jax.random.PRNGKey(5), n_steps=200, n_groups=20, heat_input="landauer")


def test_landauer_counts_are_half_the_heat(simulated, table):
    _, ds = simulated
    assert ds.heat_fraction is None  # simulated data carry no model choice
    assert ds.with_heat_input("drain").heat_fraction is None
    landauer = ds.with_heat_input("landauer")
    np.testing.assert_allclose(np.asarray(landauer.heat_fraction), 0.5, atol=1e-12)
    want = jaxqpc.photon_counts(
        ds.power, eta=TRUTH["eta"] / 2, R0=TRUTH["R0"], Lc=TRUTH["Lc"], h=TRUTH["h"], heat_fraction=0.5,
        source_voltage=ds.source_voltage, series_resistance=ds.series_resistance, bin_time=ds.bin_time,
        dark_rate=ds.dark_rate_per_row, spectrum=table)
    got = lik.expected_counts(TRUTH, landauer, table)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-13)
    assert np.all(np.asarray(got) < np.asarray(lik.expected_counts(TRUTH, ds, table)))  # cooler


def test_simulator_heats_each_bin_with_the_landauer_share(simulated, table):
    trace, ds = simulated
    t = EXAMPLE_TRUTH
    want = jaxqpc.photon_counts(
        trace.power[None, :], eta=t["eta"] / 2, R0=t["R0"], Lc=t["Lc"], h=t["h"], heat_fraction=0.5,
        source_voltage=ds.source_voltage, series_resistance=ds.series_resistance, bin_time=0.01,
        dark_rate=jnp.asarray(ds.dark_rate)[:, None], spectrum=table)
    np.testing.assert_allclose(np.asarray(trace.expected), np.asarray(want), rtol=1e-12)


def test_heat_input_errors(simulated):
    _, ds = simulated
    with pytest.raises(ValueError, match="heat_input"):
        ds.with_heat_input("source")
    with pytest.raises(ValueError, match="heat_input"):
        simulate_experiment(jax.random.PRNGKey(0), n_steps=10, heat_input="source")
    with pytest.raises(ValueError, match="transmission"):
        ds.with_heat_input("landauer", transmission="step")
