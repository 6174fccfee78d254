"""Synthetic photon-count experiments with known truth (Buret et al. 2020, Figs. 2 and 3B).

:func:`simulate_experiment` draws

1. a conductance time trace G/G0 like the paper's Fig. 2 (10 ms bins): descending
   plateaus (default N ≈ 7, 6, 5, 4, 3, each a little below the integer) with
   random dwell times, abrupt jumps between them, Gaussian noise and a few
   short sub-quantum excursions (dips of 0.3–0.7 G0; the paper sees them
   between 6 G0 and 4 G0). Only the ballistic part before rupture is simulated
   (the model does not describe tunnelling);
2. the power dissipated in the contact, P = V_c² G with V_c = V_s/(1 + R_s G);
3. Poisson photon counts on each detector. The overall efficiency η of the
   truth is the paper's (0.43 fits the *sum* of the two cross-polarised APDs,
   whose signals are equal: the light is unpolarised), so it is shared equally:
   detector d counts with mean ``jaxqpc.photon_counts(P, eta=η/n_det,
   dark_rate=dark_rate[d], …)`` per bin, dark counts included;
4. a reduction to counts-vs-power rows (the :class:`Dataset`). By default the
   bins are grouped into ``n_groups`` = 60 groups, the same for every detector,
   so 2 detectors give 120 rows. Groups never mix the trace's segments (a
   plateau, or an excursion): each segment gets a share of the groups in
   proportion to its duration (at least one), and within a segment the bins are
   split by rank of power into groups of (nearly) equal size. A row holds the
   group's mean power, its summed counts and its summed time, bin_time · n_bins.
   Because the groups are narrow in power (a plateau's noise), the model at the
   mean power reproduces the exact mean (the sum over the group's bins) to
   better than 1e-3 (``trace.row_expected`` holds the exact one).
   ``n_groups=None`` keeps one row per bin and detector instead.

Deterministic given the key (all random draws are ``jax.random``); vectorised
over bins (no Python loop over bins or rows). The example dataset bundled with
the package was made with :func:`write_example` (``python -m inference.simulate
DIRECTORY``).
"""

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxqpc

from .dataset import HEAT_INPUTS, Dataset

__all__ = ["EXAMPLE_TRUTH", "EXAMPLE_SEED", "SimulatedTrace", "simulate_experiment", "write_example"]

EXAMPLE_TRUTH = {"eta": 0.43, "Lc": 0.13, "R0": 1.04, "h": 1.0}
"""Paper-like truth (Buret et al. 2020, Fig. 3B): η = 0.43 (both APDs together),
Lc = λF/4 = 0.13 nm, R0 = 2λF = 1.04 nm, side-wall exchange h = 1."""

EXAMPLE_SEED = 2020
"""Seed of the bundled example (``jax.random.PRNGKey(EXAMPLE_SEED)``)."""

TRUTH_KEYS = ("eta", "Lc", "R0", "h")


class SimulatedTrace(NamedTuple):
    """The full simulated time trace behind a simulated :class:`Dataset`.

    time (n_steps,): bin start times. conductance (n_steps,): G/G0.
    power (n_steps,): power dissipated in the contact.
    expected (n_det, n_steps): Poisson mean of each bin's counts, dark counts included.
    counts (n_det, n_steps): realised counts (integers stored as floats).
    segment (n_steps,): index of the plateau/excursion segment of each bin.
    group (n_steps,): dataset row group of each bin (row = group + n_groups·detector).
    row_expected (n_rows,): exact Poisson mean of each dataset row (sum over its bins).
    """

    time: jax.Array
    conductance: jax.Array
    power: jax.Array
    expected: jax.Array
    counts: jax.Array
    segment: jax.Array
    group: jax.Array
    row_expected: jax.Array


@functools.lru_cache(maxsize=1)
def _default_yield_table():
    return jaxqpc.YieldTable()


def _check_truth(truth):
    if not isinstance(truth, dict):
        raise TypeError(f"`truth` must be a dict with keys {TRUTH_KEYS}, got {type(truth).__name__}")
    missing = [k for k in TRUTH_KEYS if k not in truth]
    unknown = [k for k in truth if k not in TRUTH_KEYS]
    if missing or unknown:
        raise ValueError(f"`truth` needs exactly the keys {TRUTH_KEYS}; missing {missing}, unknown {unknown}")
    out = {k: float(truth[k]) for k in TRUTH_KEYS}
    # photon_counts cannot check its arguments inside jit: check them here
    if not 0.0 < out["eta"] <= 1.0:
        raise ValueError(f"`truth['eta']` must lie in (0, 1], got {out['eta']}")
    for k in ("Lc", "R0"):
        if not (np.isfinite(out[k]) and out[k] > 0):
            raise ValueError(f"`truth[{k!r}]` must be finite and > 0, got {out[k]}")
    if not out["h"] >= 0:  # inf allowed
        raise ValueError(f"`truth['h']` must lie in [0, inf], got {out['h']}")
    return out


def _conductance_trace(key, n_steps, levels, conductance_noise, n_excursions, max_conductance):
    """G/G0 per bin and the segment label of each bin (vectorised over bins)."""
    k_dwell, k_offset, k_start, k_len, k_depth, k_noise = jax.random.split(key, 6)
    levels = jnp.asarray(levels, dtype=float)
    n_plateaus = levels.shape[0]
    # dwell fractions: half shared equally, half Dirichlet, so no plateau is shorter than 1/(2n)
    weights = jax.random.exponential(k_dwell, (n_plateaus,))  # normalised: a flat Dirichlet draw
    frac = 0.5 / n_plateaus + 0.5 * weights / weights.sum()
    ends = jnp.round(jnp.cumsum(frac) * n_steps).astype(int)
    t = jnp.arange(n_steps)
    plateau = jnp.minimum(jnp.searchsorted(ends, t, side="right"), n_plateaus - 1)
    # gold plateaus sit a little below the integer
    value = levels - jnp.abs(0.03 + 0.04 * jax.random.normal(k_offset, (n_plateaus,)))
    g = value[plateau]
    # sub-quantum excursions: a dip of 0.3-0.7 G0 for 15-60 bins (0.15-0.6 s at 10 ms)
    which = jnp.full(n_steps, -1)  # the excursion covering each bin, -1 for none
    if n_excursions:
        length = jax.random.randint(k_len, (n_excursions,), 15, 61)
        start = jax.random.randint(k_start, (n_excursions,), 0, max(n_steps - 60, 1))
        depth = jax.random.uniform(k_depth, (n_excursions,), minval=0.3, maxval=0.7)
        inside = (t[None, :] >= start[:, None]) & (t[None, :] < (start + length)[:, None])
        # the last excursion covering a bin wins
        which = jnp.where(inside.any(0), n_excursions - 1 - jnp.argmax(inside[::-1], axis=0), -1)
        g = g - jnp.where(which >= 0, depth[jnp.maximum(which, 0)], 0.0)
    g = g + conductance_noise * jax.random.normal(k_noise, (n_steps,))
    g = jnp.clip(g, 0.05, max_conductance)
    segment = plateau + n_plateaus * (which + 1)
    return g, segment


@eqx.filter_jit
def _simulate_bins(key, params, circuit, dark, spectrum, n_steps, levels, n_excursions, transmission):
    """Trace, power, Poisson means and counts per bin: one compiled function per configuration."""
    k_trace, k_counts = jax.random.split(key)
    g, segment = _conductance_trace(k_trace, n_steps, levels, circuit["conductance_noise"], n_excursions,
                                    circuit["max_g"])
    g_s = g * jaxqpc.CONDUCTANCE_QUANTUM_S
    vc = circuit["source_voltage"] / (1.0 + circuit["series_resistance"] * g_s)
    power = vc * vc * g_s
    fraction = 1.0 if transmission is None else jaxqpc.drain_heat_fraction(
        g, vc, transmission=transmission, lattice_temperature=circuit["lattice_temperature"])
    expected = jaxqpc.photon_counts(
        power[None, :], eta=params["eta"] / dark.shape[0], R0=params["R0"], Lc=params["Lc"],
        h=params["h"], source_voltage=circuit["source_voltage"],
        series_resistance=circuit["series_resistance"], bin_time=circuit["bin_time"],
        dark_rate=dark[:, None], spectrum=spectrum, lattice_temperature=circuit["lattice_temperature"],
        heat_fraction=fraction)
    counts = jax.random.poisson(k_counts, expected).astype(expected.dtype)
    return g, segment, power, expected, counts


def _groups(segment, power, n_groups):
    """Row group of each bin: segments split by power rank, groups ordered by mean power."""
    segment = np.asarray(segment)
    power = np.asarray(power)
    n_steps = segment.shape[0]
    labels, seg = np.unique(segment, return_inverse=True)
    n_seg = labels.shape[0]
    sizes = np.bincount(seg, minlength=n_seg)
    if n_groups is None:
        group = np.arange(n_steps)
    else:
        if n_groups < n_seg:
            raise ValueError(f"`n_groups` = {n_groups} is below the number of trace segments ({n_seg}); "
                             "raise it or lower `n_excursions`")
        if n_groups > n_steps:
            raise ValueError(f"`n_groups` = {n_groups} exceeds `n_steps` = {n_steps}")
        # largest-remainder apportionment, at least one group per segment, at most one per bin
        quota = n_groups * sizes / n_steps
        k = np.clip(np.floor(quota).astype(int), 1, sizes)
        for _ in range(n_groups):  # at most n_groups adjustments (a few in practice)
            diff = n_groups - k.sum()
            if diff == 0:
                break
            room = (k < sizes) if diff > 0 else (k > 1)
            score = np.where(room, (quota - k) * np.sign(diff), -np.inf)
            k[np.argmax(score)] += int(np.sign(diff))
        offset = np.concatenate([[0], np.cumsum(k)[:-1]])
        order = np.lexsort((power, seg))  # by segment, then by power
        rank = np.empty(n_steps, int)
        rank[order] = np.arange(n_steps) - np.repeat(np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        group = offset[seg] + (rank * k[seg]) // sizes[seg]
    # renumber groups by increasing mean power
    n = int(group.max()) + 1
    mean_p = np.bincount(group, weights=power, minlength=n) / np.bincount(group, minlength=n)
    new = np.empty(n, int)
    new[np.argsort(mean_p, kind="stable")] = np.arange(n)
    return new[group], n


def simulate_experiment(key, truth=None, *, n_steps=3000, bin_time=0.01, source_voltage=0.7,
                        series_resistance=470.0, dark_rate=(300.0, 300.0), lattice_temperature=300.0,
                        levels=(7.0, 6.0, 5.0, 4.0, 3.0), conductance_noise=0.02, n_excursions=4, n_groups=60,
                        spectrum=None, heat_input="drain", transmission="constant"):
    """Simulate a Fig. 2-like time trace and reduce it to a counts-vs-power :class:`Dataset`.

    Args:
        key: a ``jax.random`` key; the result is a deterministic function of it.
        truth: {"eta", "Lc", "R0", "h"} (η for all detectors together;
            nm; h ∈ [0, ∞]); default :data:`EXAMPLE_TRUTH`.
        n_steps: number of time bins (3000 × 10 ms = 30 s). bin_time: bin time (s).
        source_voltage (V), series_resistance (Ω), lattice_temperature (K): the circuit and T_L.
        dark_rate: dark-count rate (s⁻¹) per detector; its length is the number of detectors.
        levels: plateau conductances (G0), visited in order; each must satisfy
            N λF/4 < R0 (the model's heated disk inside the cylinder).
        conductance_noise: Gaussian noise of G per bin (G0). n_excursions: number of sub-quantum dips.
        n_groups: row groups per detector (rows = n_groups · n_det), or None for
            one row per bin and detector.
        spectrum: passed to :func:`jaxqpc.photon_counts`; default a cached
            :class:`jaxqpc.YieldTable` (the exact yield, fast).
        heat_input, transmission: the heat input of the simulated physics
            (:meth:`Dataset.with_heat_input`), applied per bin; the returned
            dataset is data only (its ``heat_fraction`` is None): a fit chooses
            its own heat input.
    Returns:
        (trace, dataset): a :class:`SimulatedTrace` and the :class:`Dataset`, rows
        ordered by detector, then by increasing power.
    """
    truth = _check_truth(EXAMPLE_TRUTH if truth is None else truth)
    dark = tuple(float(d) for d in np.atleast_1d(np.asarray(dark_rate, dtype=float)))
    n_det = len(dark)
    if n_steps < 1 or int(n_steps) != n_steps:
        raise ValueError(f"`n_steps` must be a positive integer, got {n_steps}")
    if n_excursions < 0:
        raise ValueError(f"`n_excursions` must be >= 0, got {n_excursions}")
    if heat_input not in HEAT_INPUTS:
        raise ValueError(f"`heat_input` must be one of {HEAT_INPUTS}, got {heat_input!r}")
    spectrum = _default_yield_table() if spectrum is None else spectrum
    max_g = 4.0 * truth["R0"] / jaxqpc.GOLD.fermi_wavelength_nm  # ζ = N λF/(4 R0) ≤ 1
    if max(levels) + 5 * conductance_noise > max_g:
        raise ValueError(f"`levels` reach {max(levels)} G0 but R0 = {truth['R0']} nm allows N ≤ "
                         f"{max_g:.3g} (N λF/4 ≤ R0); lower the levels or raise R0")

    for name, value in (("bin_time", bin_time), ("source_voltage", source_voltage),
                        ("lattice_temperature", lattice_temperature)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be finite and > 0, got {value}")
    if not (np.isfinite(series_resistance) and series_resistance >= 0):
        raise ValueError(f"`series_resistance` must be finite and >= 0, got {series_resistance}")
    if not all(np.isfinite(d) and d >= 0 for d in dark):
        raise ValueError(f"`dark_rate` must be finite and >= 0, got {dark}")

    if heat_input == "landauer":  # its domain at the extremes of the trace (V_c ≤ V_s), eagerly
        jaxqpc.drain_heat_fraction(min(max(levels) + 5 * conductance_noise, max_g), source_voltage,
                                   transmission=transmission, lattice_temperature=lattice_temperature)

    params = {k: jnp.asarray(v, dtype=float) for k, v in truth.items()}
    circuit = {k: jnp.asarray(v, dtype=float) for k, v in (
        ("bin_time", bin_time), ("source_voltage", source_voltage), ("series_resistance", series_resistance),
        ("lattice_temperature", lattice_temperature), ("conductance_noise", conductance_noise), ("max_g", max_g))}
    g, segment, power, expected, counts = _simulate_bins(
        key, params, circuit, jnp.asarray(dark, dtype=float), spectrum, int(n_steps),
        tuple(float(v) for v in levels), int(n_excursions), None if heat_input == "drain" else transmission)

    group, n = _groups(segment, power, n_groups)
    group_j = jnp.asarray(group)
    n_bins = jnp.bincount(group_j, length=n)
    row_power = jnp.bincount(group_j, weights=power, length=n) / n_bins
    sum_rows = jax.vmap(lambda x: jnp.bincount(group_j, weights=x, length=n))
    row_counts = sum_rows(counts).reshape(-1)
    row_expected = sum_rows(expected).reshape(-1)
    dataset = Dataset(power=jnp.tile(row_power, n_det), counts=row_counts,
                      bin_time=jnp.tile(n_bins * bin_time, n_det).astype(power.dtype),
                      detector=jnp.repeat(jnp.arange(n_det), n),
                      source_voltage=float(source_voltage), series_resistance=float(series_resistance),
                      dark_rate=dark, lattice_temperature=float(lattice_temperature))
    trace = SimulatedTrace(time=jnp.arange(n_steps) * bin_time, conductance=g, power=power,
                           expected=expected, counts=counts, segment=segment, group=group_j,
                           row_expected=row_expected)
    return trace, dataset


def write_example(directory, *, seed=EXAMPLE_SEED, overwrite=False):
    """Regenerate the bundled example (``example.csv`` + ``example.json``) in ``directory``.

    Needs double precision (``jax.config.update("jax_enable_x64", True)``) so the
    files do not depend on float32 round-off. Returns the paths written.
    """
    import pathlib

    from .data import save_csv

    if not jax.config.jax_enable_x64:
        raise RuntimeError('write_example needs jax.config.update("jax_enable_x64", True)')
    trace, dataset = simulate_experiment(jax.random.PRNGKey(seed), EXAMPLE_TRUTH)
    extra = {
        "truth": EXAMPLE_TRUTH,
        "seed": seed,
        "efficiency_convention": "truth.eta is the overall efficiency of both detectors together; "
                                 "each detector's row has mean photon_counts(power, eta=eta/2, "
                                 "dark_rate=dark_rate[detector], bin_time=bin_time, ...)",
        "made_with": (f"inference.simulate.simulate_experiment(jax.random.PRNGKey({seed}), EXAMPLE_TRUTH) "
                      "with its defaults: 3000 bins of 10 ms (a Fig. 2-like trace, plateaus near "
                      "7,6,5,4,3 G0 with 4 sub-quantum dips), two APDs with 300 counts/s dark rate each, "
                      "V_s = 0.7 V, R_s = 470 ohm, rows = 60 power groups x 2 detectors; "
                      f"jax {jax.__version__}, float64; regenerate with "
                      "inference.simulate.write_example(directory)"),
        "units": {"power": "W", "bin_time": "s", "source_voltage": "V", "series_resistance": "ohm",
                  "dark_rate": "1/s", "lattice_temperature": "K", "Lc": "nm", "R0": "nm"},
    }
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return save_csv(dataset, directory / "example.csv", overwrite=overwrite, extra_metadata=extra)


def _main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m inference.simulate",
                                     description="Write the example dataset (example.csv + example.json).")
    parser.add_argument("directory", help="where to write (inference/examples to refresh the bundled one)")
    parser.add_argument("--seed", type=int, default=EXAMPLE_SEED)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    for p in write_example(args.directory, seed=args.seed, overwrite=args.overwrite):
        print(p)


if __name__ == "__main__":
    _main()
