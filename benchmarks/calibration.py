"""Calibration study of the Bayesian fit: empirical coverage of its credible intervals.

What is measured. For each of ``--datasets`` simulated experiments
(:func:`inference.simulate.simulate_experiment`: a Fig. 2-like trace reduced to
60 power groups × 2 detectors = 120 rows, the same shape for every dataset) the
script fits the posterior of (η, Lc, R0, h) exactly as the package does by
default (``--method quadrature``: :func:`inference.quadrature.fit_quadrature`,
one dataset at a time), or with the MCMC path (``--method aies``: multi-start
MAP with :func:`inference.optimize.fit_map`, then AIES with 32 walkers and the
package's default chain length :data:`inference.sample.DEFAULT_LENGTHS`,
unless ``--warmup``/``--draws`` say otherwise, with
:func:`inference.sample.fit_posterior_batch`) and records whether the true
value lies inside the central 68 % (16–84 % quantiles) and 95 % (2.5–97.5 %)
credible intervals of each parameter. The coverage is the fraction of
datasets where it does, printed with its binomial standard error
sqrt(p(1 − p)/n), next to the nominal level. Datasets are sampled
``--batch`` at a time (AIES: in one compiled call, vmap over datasets; equal
shapes, so one compilation serves every batch of the same size).

Two modes (``--truth``):

* ``prior`` (default): simulation-based calibration (Cook, Gelman & Rubin
  2006; Talts et al. 2018). Each dataset's truth is drawn from the prior that
  the fit uses, :func:`inference.likelihood.sample_prior` (η ~ U(0, 1],
  log-normal R0 and Lc, log₁₀ h ~ U(−3, 3), truncated to R0 ≥ R0_min =
  N_max λF/4 and Lc ≤ 1.5 R0). If the posterior is computed correctly, the
  truth's posterior quantile is then uniform on (0, 1) and every central
  q-interval covers the truth with probability exactly q, averaged over the
  prior, whatever the amount of information in the data. This is the real
  check of the likelihood, the prior, the bijection's Jacobian and the sampler
  together. Coverage below nominal means intervals that are too narrow (or
  biased); above nominal, too wide.

  How the truth is drawn, and the one approximation. R0_min depends on the
  data's largest conductance, i.e. on the simulated conductance trace, which
  does not depend on the truth (the truth only enters the photon counts; the
  trace's key is split off before). So the trace is simulated first (with
  :data:`EXAMPLE_TRUTH`), the truth is drawn from the prior truncated with
  that trace's R0_min, and the experiment is simulated again with the same key
  and the drawn truth: same trace (checked), new counts. The simulator further
  needs R0 ≥ (max level + 5 noise) λF/4 = 7.1 λF/4 = 0.923 nm (its
  ``_check_truth``/levels check), a little above the data's R0_min
  (N_max ≈ 6.95–7.03, R0_min ≈ 0.90–0.91 nm), so draws below it are
  rejected. The truth's prior then differs from the fit's prior by that
  rejected mass, measured per dataset from 4096 prior draws (~1–2 %). The
  coverage of any interval can change by at most this total-variation
  distance, so it bounds the bias this approximation can cause; the script
  prints its mean.

  The truth's posterior quantile (fraction of draws below the truth) is also
  recorded; its mean (0.5 if calibrated) shows the direction of a bias, and a
  Kolmogorov–Smirnov test of its uniformity is printed (draws within a walker
  are autocorrelated, but the quantile of the truth only needs the marginal).

* ``fixed``: every dataset uses :data:`EXAMPLE_TRUTH` (the paper-like
  η = 0.43, Lc = 0.13 nm, R0 = 1.04 nm, h = 1) with a different seed. Here
  coverage need not be nominal: it is a frequentist property at one point of
  parameter space, and along the poorly measured directions (h, and the
  sloppy combination of η, Lc, R0) the posterior follows the prior, which is
  not centred on this truth. It tells how the intervals behave for data like
  the paper's.

Also reported: the number of datasets whose fit warned (quadrature: the grid
check or the box; AIES: :func:`inference.diagnostics.diagnose`, R-hat > 1.01,
bulk or tail ESS < 400), the coverage restricted to the datasets without
warnings, the coverage of the long hot cylinders (true Lc/R0 > 0.15) and of
the shorter ones separately,
the total wall time and the time per dataset (simulation, MAP, sampling,
diagnostics). Results depend on ``--seed`` and, through the sampler keys
(split per batch), on ``--batch``.

Usage (from the repository root; not part of the test suite)::

    PYTHONPATH=. python benchmarks/calibration.py --quick          # smoke test, < 2 min
    PYTHONPATH=. python benchmarks/calibration.py --plot ranks.png   # the study in the docs: 200 datasets
    PYTHONPATH=. python benchmarks/calibration.py --truth fixed --out /tmp/cal_fixed.json
    PYTHONPATH=. python benchmarks/calibration.py --method aies    # the MCMC path

Cost: the quadrature takes a few seconds per dataset; AIES grows with the
draws per walker (``--draws``; its default is 2000 warm-up + 30000 draws). The
script prints the wall time per dataset, and docs/fitting.md reports the
measured study.

``--out FILE`` saves every dataset's truth, quantiles, truth quantile,
coverage flags and diagnostics as JSON (an existing file is only replaced with
``--force``). Times are wall-clock; the load average is printed at the start
because the machine may be shared.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np
from scipy import stats

import jaxqpc
from inference.diagnostics import diagnose
from inference.likelihood import sample_prior
from inference.optimize import fit_map
from inference.quadrature import fit_quadrature
from inference.params import PARAM_NAMES, max_conductance, min_radius_nm, to_physical
from inference.sample import DEFAULT_LENGTHS, fit_posterior_batch
from inference.simulate import EXAMPLE_TRUTH, simulate_experiment

LEVELS = (7.0, 6.0, 5.0, 4.0, 3.0)
"""Plateau conductances of the simulated traces (G0; the simulator's default)."""

NOISE_G0 = 0.02
"""Gaussian noise of G per bin (G0; the simulator's default)."""

R0_SIM_NM = (max(LEVELS) + 5.0 * NOISE_G0) * jaxqpc.GOLD.fermi_wavelength_nm / 4.0
"""Smallest R0 the simulator accepts for these levels: (max level + 5 noise) λF/4 (nm)."""

LEVELS_CI = (0.68, 0.95)
"""Nominal levels of the central credible intervals."""

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)
"""Posterior quantiles saved per parameter (the bounds of both intervals and the median)."""

PRIOR_PROPOSALS = 4096
LONG_CYLINDER = 0.15
"""True Lc/R0 above which a dataset counts as a long hot cylinder (reported as its own stratum)."""
"""Prior draws per dataset: the first acceptable one is the truth, all measure the rejected mass."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--truth", choices=("prior", "fixed"), default="prior",
                   help="truths drawn from the prior (simulation-based calibration) or EXAMPLE_TRUTH")
    p.add_argument("--datasets", type=int, default=None, help="number of datasets (default 200; 4 with --quick)")
    p.add_argument("--batch", type=int, default=None,
                   help="datasets per compiled sampling call (default 10; 4 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="master seed")
    p.add_argument("--warmup", type=int, default=None,
                   help=f"AIES warm-up per walker (default {DEFAULT_LENGTHS['aies'][0]}; 300 with --quick)")
    p.add_argument("--draws", type=int, default=None,
                   help=f"AIES draws per walker (default {DEFAULT_LENGTHS['aies'][1]}; 600 with --quick)")
    p.add_argument("--walkers", type=int, default=32, help="AIES walkers (default 32)")
    p.add_argument("--method", choices=("quadrature", "aies"), default="quadrature",
                   help="quadrature (inference.quadrature, the package default) or aies (MAP + AIES)")
    p.add_argument("--plot", type=pathlib.Path, default=None,
                   help="write the rank histograms of the truth's posterior quantile (PNG) here")
    p.add_argument("--quick", action="store_true", help="smoke test: 4 datasets, short chains (< 2 min)")
    p.add_argument("--progress", action="store_true", help="print the sampler's progress (stderr)")
    p.add_argument("--out", type=pathlib.Path, default=None, help="save per-dataset results as JSON here")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = p.parse_args(argv)
    quick = {"datasets": 4, "batch": 4, "warmup": 300, "draws": 600}
    full = {"datasets": 200, "batch": 10, "warmup": DEFAULT_LENGTHS["aies"][0],
            "draws": DEFAULT_LENGTHS["aies"][1]}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.datasets < 1 or args.batch < 1 or args.warmup < 0 or args.draws < 1:
        p.error("need --datasets >= 1, --batch >= 1, --warmup >= 0, --draws >= 1")
    if args.out is not None and args.out.exists() and not args.force:
        p.error(f"{args.out} exists; pass --force to overwrite it")
    return args


def _floats(d):
    return {k: float(v) for k, v in d.items()}


def draw_truth(key, dataset):
    """A truth from the fit's prior for ``dataset``, restricted to what the simulator accepts.

    Returns (truth, rejected): ``rejected`` is the fraction of the prior draws with
    R0 < :data:`R0_SIM_NM`, an estimate of the total-variation distance between the
    fit's prior and the prior the truth is drawn from.
    """
    draws = to_physical(sample_prior(key, dataset, PRIOR_PROPOSALS), dataset)
    ok = np.asarray(draws["R0"]) >= R0_SIM_NM
    if not ok.any():
        raise RuntimeError(f"no prior draw with R0 >= {R0_SIM_NM:.4g} nm in {PRIOR_PROPOSALS}")
    i = int(np.argmax(ok))
    return {k: float(draws[k][i]) for k in PARAM_NAMES}, float(1.0 - ok.mean())


def simulate(key, mode):
    """One simulated dataset: (truth, dataset, extra information for the record)."""
    k_sim, k_truth = jax.random.split(key)
    sim = dict(levels=LEVELS, conductance_noise=NOISE_G0)
    _, dataset = simulate_experiment(k_sim, EXAMPLE_TRUTH, **sim)
    extra = {"n_max": float(max_conductance(dataset)), "r0_min_nm": float(min_radius_nm(dataset))}
    if mode == "fixed":
        return dict(EXAMPLE_TRUTH), dataset, extra
    truth, rejected = draw_truth(k_truth, dataset)
    _, redrawn = simulate_experiment(k_sim, truth, **sim)
    # the trace does not depend on the truth (only the counts do): same rows, same R0_min
    extra["same_trace"] = bool(np.array_equal(np.asarray(redrawn.power), np.asarray(dataset.power)))
    extra["prior_rejected"] = rejected
    return truth, redrawn, extra


def summarise_posterior(post, truth):
    """Quantiles, truth quantile and coverage flags of one posterior, per parameter."""
    flat = post.flat()
    out = {}
    for k in PARAM_NAMES:
        x = flat[k]
        q = np.quantile(x, QUANTILES)
        rec = {"quantiles": dict(zip((f"{100 * p:g}%" for p in QUANTILES), map(float, q))),
               "truth_quantile": float(np.mean(x < truth[k]) + 0.5 * np.mean(x == truth[k]))}
        for level in LEVELS_CI:
            lo, hi = np.quantile(x, [0.5 - level / 2, 0.5 + level / 2])
            rec[f"inside_{round(100 * level)}"] = bool(lo <= truth[k] <= hi)
        out[k] = rec
    return out


def coverage_table(records, title):
    """The coverage table (a string) over ``records``."""
    n = len(records)
    head = (f"{'param':7s} " + " ".join(f"{'cov' + str(round(100 * lv)):>7s} {'± se':>6s} {'(z)':>6s}"
                                         for lv in LEVELS_CI)
            + f" {'mean q':>7s} {'KS p':>6s}")
    lines = [f"{title} (n = {n}; z = (cov − nominal)/sqrt(nominal(1 − nominal)/n); "
             "mean q = mean posterior quantile of the truth, 0.5 if calibrated; "
             "KS p = uniformity of that quantile)", head, "-" * len(head)]
    for k in PARAM_NAMES:
        cells = []
        for lv in LEVELS_CI:
            p = np.mean([r["params"][k][f"inside_{round(100 * lv)}"] for r in records])
            se = math.sqrt(p * (1 - p) / n)
            z = (p - lv) / math.sqrt(lv * (1 - lv) / n)
            cells.append(f"{p:7.3f} {se:6.3f} {z:+6.2f}")
        q = np.array([r["params"][k]["truth_quantile"] for r in records])
        ks = stats.kstest(q, "uniform").pvalue if n > 1 else float("nan")
        lines.append(f"{k:7s} " + " ".join(cells) + f" {q.mean():7.3f} {ks:6.3f}")
    lines.append(f"{'nominal':7s} " + " ".join(
        f"{lv:7.3f} {math.sqrt(lv * (1 - lv) / n):6.3f} {'':6s}" for lv in LEVELS_CI))
    return "\n".join(lines)


def header(args):
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",) * 3
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in load)}; "
          f"{os.cpu_count()} CPUs; {platform.platform()}")
    print(f"python {platform.python_version()}, jax {jax.__version__} ({jax.default_backend()}, "
          f"{len(jax.devices())} device(s)), float64")
    print(f"command: {' '.join(sys.argv)}")
    print(f"truth: {args.truth}; {args.datasets} datasets in batches of {args.batch}; seed {args.seed}; "
          + ("inference.quadrature" if args.method == "quadrature" else
             f"AIES {args.walkers} walkers × {args.draws} draws ({args.warmup} warm-up)")
          + ("" if (args.warmup, args.draws) == DEFAULT_LENGTHS["aies"] else
             f" [package default: {DEFAULT_LENGTHS['aies'][1]} draws ({DEFAULT_LENGTHS['aies'][0]} warm-up)]"))
    print(flush=True)


def main(argv=None):
    args = parse_args(argv)
    header(args)
    t_start = time.perf_counter()
    timing = {"table": 0.0, "simulate": 0.0, "map": 0.0, "sample": 0.0, "diagnose": 0.0}
    t = time.perf_counter()
    table = jaxqpc.YieldTable()
    timing["table"] = time.perf_counter() - t
    master = jax.random.PRNGKey(args.seed)
    k_data, k_sample = jax.random.split(master)

    records = []
    n_batches = math.ceil(args.datasets / args.batch)
    for b in range(n_batches):
        idx = list(range(b * args.batch, min((b + 1) * args.batch, args.datasets)))
        batch = []
        for i in idx:
            k_sim, k_map = jax.random.split(jax.random.fold_in(k_data, i))
            t = time.perf_counter()
            truth, dataset, extra = simulate(k_sim, args.truth)
            timing["simulate"] += time.perf_counter() - t
            if args.method == "quadrature":
                t = time.perf_counter()
                post = fit_quadrature(dataset, key=jax.random.fold_in(k_sample, i), table=table)
                timing["sample"] += time.perf_counter() - t
                records.append({"index": i, "truth": truth, **extra, "params": summarise_posterior(post, truth),
                                "warnings": list(post.warnings), "quantile_shift": post.quantile_shift,
                                "edge_mass": post.edge_mass, "log_evidence_error": post.log_evidence_error})
                continue
            t = time.perf_counter()
            fit = fit_map(dataset, key=k_map, table=table)
            timing["map"] += time.perf_counter() - t
            batch.append((i, truth, dataset, extra, fit))

        if args.method == "quadrature":
            done = len(records)
            elapsed = time.perf_counter() - t_start
            print(f"{done}/{args.datasets} done, {elapsed:.0f} s elapsed, "
                  f"~{elapsed / done * (args.datasets - done):.0f} s left; "
                  f"{sum(bool(r['warnings']) for r in records)} with warnings", flush=True)
            continue
        t = time.perf_counter()
        posts = fit_posterior_batch([x[2] for x in batch], key=jax.random.fold_in(k_sample, b), table=table,
                                    maps=[x[4] for x in batch], num_warmup=args.warmup,
                                    num_samples=args.draws, walkers=args.walkers, progress=args.progress)
        t_sample = time.perf_counter() - t
        timing["sample"] += t_sample

        t = time.perf_counter()
        for (i, truth, dataset, extra, fit), post in zip(batch, posts):
            diag = diagnose(post)
            records.append({
                "index": i, "truth": truth, **extra,
                "map": _floats(fit.params), "map_hessian_ok": bool(fit.hessian_ok),
                "params": summarise_posterior(post, truth),
                "warnings": diag["warnings"], "r_hat": diag["r_hat"],
                "ess_bulk": diag["ess_bulk"], "ess_tail": diag["ess_tail"],
            })
        timing["diagnose"] += time.perf_counter() - t
        done = len(records)
        elapsed = time.perf_counter() - t_start
        n_warn = sum(bool(r["warnings"]) for r in records)
        print(f"batch {b + 1}/{n_batches}: {len(batch)} datasets, sampling {t_sample:.1f} s; "
              f"{done}/{args.datasets} done, {elapsed:.0f} s elapsed, "
              f"~{elapsed / done * (args.datasets - done):.0f} s left; {n_warn} with warnings",
              flush=True)

    wall = time.perf_counter() - t_start
    n = len(records)
    print()
    print(coverage_table(records, f"Coverage of central credible intervals, truth = {args.truth}"))
    clean = [r for r in records if not r["warnings"]]
    warned = [r for r in records if r["warnings"]]
    print(f"\ndiagnostics warnings: {len(warned)}/{n} datasets")
    for r in warned:
        detail = (f" (R-hat max {max(r['r_hat'].values()):.3f}, "
                  f"min ESS {min(min(r['ess_bulk'].values()), min(r['ess_tail'].values())):.0f})"
                  if "r_hat" in r else f" (grid check {max(r['quantile_shift']):.3f})")
        print(f"  dataset {r['index']}: truth {_fmt(r['truth'])}: " + "; ".join(r["warnings"]) + detail)
    if warned and clean:
        print()
        print(coverage_table(clean, "Coverage on the datasets without warnings"))
    long = [r for r in records if r["truth"]["Lc"] / r["truth"]["R0"] > LONG_CYLINDER]
    if long and len(long) < n:
        print()
        print(coverage_table(long, f"Coverage on the long hot cylinders (true Lc/R0 > {LONG_CYLINDER})"))
        short = [r for r in records if r["truth"]["Lc"] / r["truth"]["R0"] <= LONG_CYLINDER]
        print()
        print(coverage_table(short, f"Coverage on the shorter cylinders (true Lc/R0 <= {LONG_CYLINDER})"))
    if args.plot is not None:
        rank_histograms(records, args.plot)
        print(f"saved {args.plot}")
    if args.truth == "prior":
        rej = np.array([r["prior_rejected"] for r in records])
        same = sum(r["same_trace"] for r in records)
        print(f"\nprior mass rejected for the simulator (R0 < {R0_SIM_NM:.3f} nm; bounds the coverage "
              f"bias of the truth-prior mismatch): mean {100 * rej.mean():.2f} %, max {100 * rej.max():.2f} %; "
              f"trace unchanged by the truth redraw in {same}/{n} datasets")
    per = wall / n
    print(f"\ntotal wall time {wall:.1f} s ({wall / 60:.1f} min); per dataset {per:.1f} s: "
          + ", ".join(f"{k} {v / n:.2f} s" for k, v in timing.items() if k != "table")
          + f" (+ YieldTable {timing['table']:.1f} s once; compilations included)")

    if args.out is not None:
        result = {
            "args": {k: (str(v) if isinstance(v, pathlib.Path) else v) for k, v in vars(args).items()},
            "command": sys.argv, "jax": jax.__version__, "wall_s": wall, "timing_s": timing,
            "levels": LEVELS, "conductance_noise": NOISE_G0, "r0_sim_nm": R0_SIM_NM, "quantiles": QUANTILES,
            "datasets": records,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w" if args.force else "x") as f:
            json.dump(result, f, indent=1)
        print(f"saved {args.out}")


def rank_histograms(records, path, bins=10):
    """Histograms of the truth's posterior quantile per parameter (flat if calibrated), with the
    binomial ±2σ band of a uniform histogram."""
    from matplotlib.figure import Figure

    n = len(records)
    fig = Figure(figsize=(10, 2.6), layout="constrained")
    axes = fig.subplots(1, len(PARAM_NAMES))
    expect = n / bins
    band = 2.0 * math.sqrt(expect * (1.0 - 1.0 / bins))
    for ax, k in zip(axes, PARAM_NAMES):
        q = [r["params"][k]["truth_quantile"] for r in records]
        ax.hist(q, bins=bins, range=(0, 1), color="0.6", edgecolor="k")
        ax.axhspan(expect - band, expect + band, color="C0", alpha=0.2, lw=0)
        ax.axhline(expect, color="C0")
        ax.set_title(k)
        ax.set_xlabel("posterior quantile of the truth")
    axes[0].set_ylabel(f"datasets (of {n})")
    fig.savefig(path, dpi=100)


def _fmt(truth):
    return "{" + ", ".join(f"{k} {v:.3g}" for k, v in truth.items()) + "}"


if __name__ == "__main__":
    main()
