"""inference.simulate: synthetic Fig. 2-like experiments with known truth.

1. determinism: the same key gives the same experiment, another key another one;
2. the trace: plateaus descending from ~7 to ~3 G0, within the geometry's limit;
3. the dataset: 120 rows (60 power groups x 2 detectors), counts non-negative
   integers, rows are sums of the trace's bins, groups never mix segments;
4. the means: each bin's mean is jaxqpc.photon_counts with eta/2 per detector
   plus dark counts; the row's model value at its mean power matches the exact
   row mean (sum over bins) to 1e-3; realised counts agree with the means
   (pooled chi-square and total over 20 seeds);
5. the bundled example is what write_example regenerates.

The simulator compiles once per configuration (~15 s on a slow CPU); every
test here reuses the default configuration.
"""

import jax


import numpy as np
import pytest

import jaxqpc
from inference.data import example_metadata, load_csv, load_example
from inference.simulate import EXAMPLE_SEED, EXAMPLE_TRUTH, simulate_experiment, write_example

VS, RS, DARK, BIN = 0.7, 470.0, 300.0, 0.01


@pytest.fixture(scope="module")
def sim():
    return simulate_experiment(jax.random.PRNGKey(0))


def _np(x):
    return np.asarray(x)


# ---------------------------------------------------------------------------
# 1. determinism
# ---------------------------------------------------------------------------
def test_deterministic(sim):
    trace, ds = sim
    trace2, ds2 = simulate_experiment(jax.random.PRNGKey(0), dict(EXAMPLE_TRUTH))
    for a, b in zip(trace, trace2):
        np.testing.assert_array_equal(_np(a), _np(b))
    for name in ("power", "counts", "bin_time", "detector"):
        np.testing.assert_array_equal(_np(getattr(ds, name)), _np(getattr(ds2, name)))
    trace3, ds3 = simulate_experiment(jax.random.PRNGKey(1))
    assert not np.array_equal(_np(trace.conductance), _np(trace3.conductance))
    assert not np.array_equal(_np(ds.counts), _np(ds3.counts))


# ---------------------------------------------------------------------------
# 2. the trace
# ---------------------------------------------------------------------------
def test_trace_shape_and_plateaus(sim):
    trace, _ = sim
    g = _np(trace.conductance)
    assert g.shape == (3000,) and trace.counts.shape == (2, 3000) and trace.expected.shape == (2, 3000)
    np.testing.assert_allclose(_np(trace.time)[:3], [0.0, 0.01, 0.02])
    assert 6.5 < np.median(g[:150]) < 7.0  # starts on the N = 7 plateau (a little below 7)
    assert 2.5 < np.median(g[-150:]) < 3.0  # ends on N = 3
    assert np.all(np.diff(_np(trace.segment)[_np(trace.segment) < 5]) >= 0)  # plateaus in order
    assert g.max() <= 4 * EXAMPLE_TRUTH["R0"] / jaxqpc.GOLD.fermi_wavelength_nm  # zeta <= 1
    # the power is the circuit's: P = V_c^2 G
    gs = g * jaxqpc.CONDUCTANCE_QUANTUM_S
    np.testing.assert_allclose(_np(trace.power), VS**2 * gs / (1 + RS * gs) ** 2, rtol=1e-14)
    # there are sub-quantum excursions (segments beyond the 5 plateaus)
    assert np.unique(_np(trace.segment)).size > 5


# ---------------------------------------------------------------------------
# 3. the dataset
# ---------------------------------------------------------------------------
def test_dataset_rows(sim):
    trace, ds = sim
    assert ds.n_rows == 120 and ds.dark_rate == (DARK, DARK)
    assert (ds.source_voltage, ds.series_resistance, ds.lattice_temperature) == (VS, RS, 300.0)
    det = _np(ds.detector)
    np.testing.assert_array_equal(det, np.repeat([0, 1], 60))
    counts = _np(ds.counts)
    assert np.all(counts >= 0) and np.all(counts == np.round(counts))
    assert np.all(_np(trace.counts) >= 0) and np.all(_np(trace.counts) % 1 == 0)
    # rows ordered by power, the same groups for both detectors
    p = _np(ds.power)
    assert np.all(np.diff(p[:60]) > 0)
    np.testing.assert_array_equal(p[:60], p[60:])
    np.testing.assert_array_equal(_np(ds.bin_time)[:60], _np(ds.bin_time)[60:])
    # each detector's rows add up to the whole trace
    np.testing.assert_allclose(_np(ds.bin_time)[:60].sum(), 3000 * BIN, rtol=1e-12)
    group = _np(trace.group)
    for d in range(2):
        np.testing.assert_array_equal(counts[60 * d:60 * (d + 1)],
                                      np.bincount(group, weights=_np(trace.counts)[d], minlength=60))
    np.testing.assert_allclose(p[:60], np.bincount(group, weights=_np(trace.power)) / np.bincount(group),
                               rtol=1e-14)
    # groups never mix segments (plateau / excursion)
    seg = _np(trace.segment)
    for gi in range(60):
        assert np.unique(seg[group == gi]).size == 1


def test_one_row_per_bin(sim):
    trace, _ = sim
    trace2, ds = simulate_experiment(jax.random.PRNGKey(0), n_groups=None)
    assert ds.n_rows == 2 * 3000
    np.testing.assert_array_equal(np.sort(_np(ds.power)[:3000]), np.sort(_np(trace.power)))
    np.testing.assert_array_equal(_np(ds.bin_time), BIN)
    assert _np(ds.counts).sum() == _np(trace.counts).sum()


def test_without_excursions(sim):
    """n_excursions=0: the trace is its plateaus alone (same dwell times and noise as with dips)."""
    trace, _ = sim
    plain, ds = simulate_experiment(jax.random.PRNGKey(0), n_excursions=0)
    n_plateaus = 5
    assert np.all(_np(plain.segment) < n_plateaus) and np.any(_np(trace.segment) >= n_plateaus)
    np.testing.assert_array_equal(_np(plain.segment), _np(trace.segment) % n_plateaus)
    assert ds.n_rows == 120


# ---------------------------------------------------------------------------
# 4. the means
# ---------------------------------------------------------------------------
def test_means_are_photon_counts(sim):
    trace, ds = sim
    kw = dict(R0=EXAMPLE_TRUTH["R0"], Lc=EXAMPLE_TRUTH["Lc"], h=EXAMPLE_TRUTH["h"], source_voltage=VS,
              series_resistance=RS, spectrum=jaxqpc.YieldTable())
    # the rows: the model at the row's mean power vs the exact sum over the row's bins
    model = jaxqpc.photon_counts(ds.power, eta=EXAMPLE_TRUTH["eta"] / 2, bin_time=ds.bin_time,
                                 dark_rate=ds.dark_rate_per_row, **kw)
    np.testing.assert_allclose(_np(model), _np(trace.row_expected), rtol=1e-3)
    # the bins: total eta shared equally by the two detectors, dark counts included
    sel = np.arange(0, 3000, 25)
    bins = jaxqpc.photon_counts(trace.power[sel], eta=EXAMPLE_TRUTH["eta"] / 2, bin_time=BIN,
                                dark_rate=DARK, **kw)
    np.testing.assert_allclose(_np(trace.expected)[:, sel], np.stack([_np(bins)] * 2), rtol=1e-12)
    # signal grows as the conductance drops (Fig. 3B: counts fall with power), above the dark level
    signal = _np(trace.row_expected)[:60] / _np(ds.bin_time)[:60] - DARK
    assert np.all(signal > 0) and signal[0] > 10 * signal[-1]


def test_realised_counts_match_means():
    """Pearson chi-square of 20 experiments (2400 rows) and their total counts."""
    stats, total, mean_total = [], 0.0, 0.0
    for seed in range(100, 120):
        trace, ds = simulate_experiment(jax.random.PRNGKey(seed))
        c, mu = _np(ds.counts), _np(trace.row_expected)
        stats.append(np.sum((c - mu) ** 2 / mu))
        total, mean_total = total + c.sum(), mean_total + mu.sum()
    n = 20 * 120
    assert abs(np.sum(stats) / n - 1.0) < 5 * np.sqrt(2.0 / n)
    assert abs(total - mean_total) < 5 * np.sqrt(mean_total)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("truth,match", [
    ({"eta": 0.4, "Lc": 0.13, "R0": 1.04}, "missing"),
    ({**EXAMPLE_TRUTH, "L0": 1.0}, "unknown"),
    ({**EXAMPLE_TRUTH, "eta": 1.5}, "eta"),
    ({**EXAMPLE_TRUTH, "R0": -1.0}, "R0"),
    ({**EXAMPLE_TRUTH, "h": -1.0}, "h"),
    ({**EXAMPLE_TRUTH, "R0": 0.8}, "levels"),  # N = 7 needs R0 >= 7 lambda_F/4 = 0.91 nm
])
def test_bad_truth(truth, match):
    with pytest.raises(ValueError, match=match):
        simulate_experiment(jax.random.PRNGKey(0), truth)


def test_bad_arguments():
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="n_groups"):
        simulate_experiment(key, n_groups=3)  # fewer than the segments
    with pytest.raises(ValueError, match="series_resistance"):
        simulate_experiment(key, series_resistance=-1.0)
    with pytest.raises(ValueError, match="dark_rate"):
        simulate_experiment(key, dark_rate=(300.0, -1.0))
    with pytest.raises(TypeError, match="dict"):
        simulate_experiment(key, (0.43, 0.13, 1.04, 1.0))


# ---------------------------------------------------------------------------
# 5. the bundled example
# ---------------------------------------------------------------------------
def test_example_is_reproducible(tmp_path):
    """If this fails after a jax upgrade, regenerate: python -m inference.simulate inference/examples --overwrite."""
    meta = example_metadata()
    assert meta["seed"] == EXAMPLE_SEED and meta["truth"] == EXAMPLE_TRUTH
    csv_path, _ = write_example(tmp_path)
    fresh, bundled = load_csv(csv_path), load_example()
    np.testing.assert_allclose(_np(fresh.power), _np(bundled.power), rtol=1e-12)
    np.testing.assert_array_equal(_np(fresh.counts), _np(bundled.counts))
    np.testing.assert_array_equal(_np(fresh.bin_time), _np(bundled.bin_time))
    np.testing.assert_array_equal(_np(fresh.detector), _np(bundled.detector))
