"""A simulated fleet: what a shared efficiency η buys, and how the batched default posterior scales.

Part 1 (shared η). ``--contacts`` contacts (default 24) are simulated like the bundled example
(:func:`inference.simulate.simulate_experiment`, 3000 bins of 10 ms, 60 rows per detector) with
one η = 0.43 for all and geometry drawn per contact: R0 from its prior restricted to R0 ≥ 1 nm
(the example's plateaus need N λF/4 < R0), Lc from its prior below 1.5 R0, log₁₀ h uniform on
[−3, 3]. Each contact is fitted alone (:func:`inference.quadrature.fit_quadrature_batch`, h
free) and the fleet with one shared η (:func:`inference.hierarchical.fit_shared_eta`). The script
prints per contact the 95 % interval widths of ln Lc and ln R0 both ways and whether they cover
the truths, the shared η's quantiles, the ln Bayes factor of one η against independent ones, and
the accuracy checks.

Part 2 (``--scaling``): datasets per minute of ``fit_quadrature_batch`` for batch sizes
``--sizes`` (default 1, 4 and 16; datasets of 120 rows, h free), compilation reported separately
(first call minus a second identical call).

Part 3 (``--map``): MAP fits per minute of ``inference.optimize.fit_map_batch`` (its defaults,
or ``--map-starts``/``--map-steps``) for ``--map-sizes`` (default 1, 10 and 100) datasets of 120
rows (two detectors, like the example) per call, fitted in chunks of its default ``batch_size``,
compilation reported separately; as
baselines, a loop of the package's own single-dataset ``fit_map`` over 16 datasets (with the
difference of the modes found), and ``--scipy`` datasets fitted the way one would without the
package: a loop of ``scipy.optimize.minimize`` (L-BFGS-B, finite-difference gradients) from 32
prior draws each, on the NumPy/SciPy posterior density of ``bayes_speed.py`` (needs the ``bench``
extra). Both parts simulate 16 datasets and repeat them to fill larger batches.

Usage (from the repository root; not part of the test suite)::

    PYTHONPATH=. python benchmarks/fleet.py [--contacts N] [--scaling] [--map] [--no-shared]
        [--sizes B ...] [--map-sizes B ...]
"""

import argparse
import functools
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np

import jaxqpc
from inference.hierarchical import fit_shared_eta
from inference.likelihood import PRIOR
from inference.quadrature import fit_quadrature_batch
from inference.simulate import simulate_experiment

ETA = 0.43


def draw_truths(rng, n):
    """Geometry per contact from the priors (R0 ≥ 1 nm, Lc ≤ 1.5 R0), one η."""
    _, lc_med, lc_sig = PRIOR["Lc"]
    _, r0_med, r0_sig = PRIOR["R0"]
    out = []
    while len(out) < n:
        r0 = r0_med * np.exp(r0_sig * rng.standard_normal())
        lc = lc_med * np.exp(lc_sig * rng.standard_normal())
        if r0 >= 1.0 and lc <= 1.5 * r0:
            out.append({"eta": ETA, "Lc": lc, "R0": r0, "h": 10.0 ** rng.uniform(-3, 3)})
    return out


def width(q):
    return np.log(q[4]) - np.log(q[0])


def shared_eta(n_contacts, table):
    truths = draw_truths(np.random.default_rng(1), n_contacts)
    sets = [simulate_experiment(jax.random.PRNGKey(100 + i), t)[1] for i, t in enumerate(truths)]
    t0 = time.perf_counter()
    alone = fit_quadrature_batch(sets, key=jax.random.PRNGKey(0), table=table)
    t_alone = time.perf_counter() - t0
    shared = fit_shared_eta(sets, key=jax.random.PRNGKey(1), table=table)
    print(f"\n== {n_contacts} contacts, eta = {ETA} shared; independent fits {t_alone:.0f} s, "
          f"shared-eta fit {shared.wall_s:.0f} s")
    print(f"shared eta: quantiles (2.5/16/50/84/97.5 %) {np.round(shared.eta_quantiles, 4)}, "
          f"truth {ETA}; ln B(shared vs independent) = {shared.ln_bayes_factor:+.2f}; "
          f"eta quantile check {shared.eta_quantile_shift:.4f}; warnings {list(shared.warnings)}")
    print(f"{'c':>3s} {'Lc':>7s} {'R0':>6s} {'Lc/R0':>6s} | {'width ln Lc: alone → shared':>28s} "
          f"{'width ln R0: alone → shared':>28s} | covered alone (eta Lc R0) | covered shared (Lc R0)")
    ratios, cover_alone, cover_shared = [], [], []
    for i, (t, a, s) in enumerate(zip(truths, alone, shared.contacts)):
        wa = [width(a.quantiles[k]) for k in ("Lc", "R0")]
        ws = [width(s.quantiles[k]) for k in ("Lc", "R0")]
        ratios.append(np.array(ws) / np.array(wa))
        ca = [a.quantiles[k][0] <= t[k] <= a.quantiles[k][4] for k in ("eta", "Lc", "R0")]
        cs = [s.quantiles[k][0] <= t[k] <= s.quantiles[k][4] for k in ("Lc", "R0")]
        cover_alone.append(ca)
        cover_shared.append(cs)
        print(f"{i:3d} {t['Lc']:7.3f} {t['R0']:6.3f} {t['Lc'] / t['R0']:6.3f} | "
              f"{wa[0]:12.3f} → {ws[0]:<12.3f} {wa[1]:12.3f} → {ws[1]:<12.3f} | "
              f"{' '.join('y' if c else 'n' for c in ca):>24s} | {' '.join('y' if c else 'n' for c in cs):>20s}")
    ratios = np.array(ratios)
    print(f"median width ratio shared/alone: ln Lc {np.median(ratios[:, 0]):.3f}, ln R0 "
          f"{np.median(ratios[:, 1]):.3f} (range {ratios.min():.3f}–{ratios.max():.3f}); 95 % coverage "
          f"alone (eta, Lc, R0) {np.mean(cover_alone, axis=0).round(3)}, shared (Lc, R0) "
          f"{np.mean(cover_shared, axis=0).round(3)}; own-fit warnings "
          f"{sum(bool(a.warnings) for a in alone)}")


def throughput(fit, sets, sizes, label, unit):
    """Per batch size: ``fit(datasets, key, batch_size)`` on the first ``size`` datasets, twice
    (the first call compiles); prints the second call's rate and the compilation time."""
    print(f"\n== {label}")
    for b in sizes:
        t0 = time.perf_counter()
        fit(sets[:b], jax.random.PRNGKey(0), b)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit(sets[:b], jax.random.PRNGKey(1), b)
        run = time.perf_counter() - t0
        print(f"batch {b:3d}: {60 * b / run:7.1f} {unit}/min ({run:.1f} s; compilation {first - run:.1f} s)")


def simulated(n, seed, distinct=16):
    """``n`` example-like datasets: ``distinct`` simulations repeated (throughput needs no more)."""
    sets = [simulate_experiment(jax.random.PRNGKey(seed + i))[1] for i in range(min(n, distinct))]
    return [sets[i % len(sets)] for i in range(n)]


def scaling(table, sizes):
    throughput(lambda d, k, b: fit_quadrature_batch(d, key=k, table=table, batch_size=b),
               simulated(max(sizes), 200), sizes,
               "datasets per minute of fit_quadrature_batch (120 rows, h free)", "datasets")


def map_scaling(table, sizes, n_scipy, n_starts, steps):
    from inference.optimize import fit_map_batch

    fit = functools.partial(fit_map_batch, table=table, n_starts=n_starts, steps=steps)
    throughput(lambda d, k, b: fit(d, key=k), simulated(max(sizes), 300), sizes,
               f"MAP fits per minute of fit_map_batch (120 rows; 32 screened draws, {n_starts} starts × ≤ {steps} "
               f"iterations; 'batch' = datasets per call, fitted in chunks of the default batch_size)", "fits")
    loop_of_single_maps(table, fit, simulated(16, 300))
    if n_scipy:
        scipy_maps(simulated(n_scipy, 300))


def loop_of_single_maps(table, fit_map_batch, sets):
    """The package's single-dataset MAP (``fit_map``: 32 starts of Adam + BFGS, no structure used) in
    a Python loop, as a baseline, and whether ``fit_map_batch`` finds its mode on the same datasets."""
    from inference.optimize import fit_map

    fit_map(sets[0], key=jax.random.PRNGKey(0), table=table)  # compiles
    t0 = time.perf_counter()
    single = [fit_map(d, key=jax.random.PRNGKey(i), table=table) for i, d in enumerate(sets)]
    wall = time.perf_counter() - t0
    batch = fit_map_batch(sets, key=jax.random.PRNGKey(2), batch_size=len(sets))
    diff = np.array([b.log_posterior - s.log_posterior for b, s in zip(batch, single)])
    print(f"loop of fit_map (32 starts, Adam + BFGS): {60 * len(sets) / wall:7.1f} fits/min; fit_map_batch's "
          f"log posterior minus fit_map's on these {len(sets)}: min {diff.min():+.1e}, max {diff.max():+.1e} "
          f"({np.sum(diff >= -1e-6)} within 1e-6 nats)")


def scipy_maps(sets, n_starts=32):
    """The baseline: a loop of ``scipy.optimize.minimize`` (L-BFGS-B, finite-difference gradients) from
    ``n_starts`` prior draws per dataset, on the NumPy/SciPy density of ``bayes_speed.py`` (the same
    u-space posterior, Eq. 17 spectrum)."""
    import scipy.optimize
    from bayes_speed import NumpyPosterior

    from inference.likelihood import sample_prior

    t0 = time.perf_counter()
    evaluations = 0
    for i, ds in enumerate(sets):
        log_post = NumpyPosterior(ds)

        def loss(u):
            v = float(log_post(u))
            return -v if np.isfinite(v) else 1e300

        for u0 in np.asarray(sample_prior(jax.random.PRNGKey(i), ds, n_starts)):
            evaluations += scipy.optimize.minimize(loss, u0, method="L-BFGS-B").nfev
    wall = time.perf_counter() - t0
    print(f"scipy L-BFGS-B loop ({n_starts} starts, NumPy density): {60 * len(sets) / wall:7.2f} fits/min "
          f"({wall:.1f} s for {len(sets)}; {evaluations / len(sets):.0f} density evaluations per fit)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=24)
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--map", action="store_true")
    parser.add_argument("--no-shared", action="store_true", help="skip part 1")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16],
                        help="batch sizes of part 2 (default 1 4 16)")
    parser.add_argument("--map-sizes", type=int, nargs="+", default=[1, 10, 100],
                        help="batch sizes of part 3 (default 1 10 100)")
    parser.add_argument("--map-starts", type=int, default=2, help="fit_map_batch's n_starts (default 2)")
    parser.add_argument("--map-steps", type=int, default=60, help="fit_map_batch's steps (default 60)")
    parser.add_argument("--scipy", type=int, default=2, metavar="N",
                        help="part 3's baseline: N datasets fitted by a scipy loop (default 2; 0: none; "
                        "needs the bench extra)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, {jax.devices()}")
    table = jaxqpc.YieldTable()
    if not args.no_shared:
        shared_eta(args.contacts, table)
    if args.scaling:
        scaling(table, args.sizes)
    if args.map:
        map_scaling(table, args.map_sizes, args.scipy, args.map_starts, args.map_steps)


if __name__ == "__main__":
    main()
