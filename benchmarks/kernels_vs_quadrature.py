"""The default posterior (quadrature) against the MCMC kernels, and `jaxqpc fit` against its old default.

Part 1, agreement. On the bundled example (Lc/R0 = 1/8) and on two long hot cylinders
(:data:`LONG_TRUTHS`, Lc/R0 = 0.4 and 0.21, simulated like the example), the script computes the
posterior by :func:`inference.quadrature.fit_quadrature` (40 000 draws) and by the MCMC
kernels with their package defaults (multi-start MAP, then
:func:`inference.sample.fit_posterior`: AIES; ``--nuts`` adds NUTS; ``--longer 4 8`` adds AIES
runs 4 and 8 times longer on the long cylinders). For each kernel and
parameter it reports the kernel's 2.5/16/50/84/97.5 % quantiles located in the quadrature's
CDF: max |F_quad(q_kernel(p)) − p| over the five levels. Agreement within 0.02 in probability
is expected when the kernel has converged (max R-hat ≤ 1.01); both sides carry Monte Carlo
noise of ≈ 0.005–0.01 at these draw counts.

Part 2, speed (``--cli``): ``jaxqpc fit --example`` end to end (loading, compilation,
posterior, model comparison, report and plots) with the default method and with
``--method aies`` (the default until this release), each with an empty compilation cache and
then with the cache it filled, as subprocesses in the same run (``--repeat N``: N such pairs per
method, alternating; ``--cli-only``: part 2 alone).

Usage (from the repository root; not part of the test suite)::

    PYTHONPATH=. python benchmarks/kernels_vs_quadrature.py [--nuts] [--cli | --cli-only] [--repeat N] [--longer K ...]

Times are wall-clock on whatever machine runs it; the load average is printed first.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np

import jaxqpc
from inference.data import load_example
from inference.diagnostics import diagnose
from inference.optimize import fit_map
from inference.params import PARAM_NAMES
from inference.quadrature import QUANTILES, fit_quadrature
from inference.sample import fit_posterior
from inference.simulate import simulate_experiment

LONG_TRUTHS = ({"eta": 0.6, "Lc": 0.6, "R0": 1.5, "h": 3.0}, {"eta": 0.7, "Lc": 0.25, "R0": 1.2, "h": 10.0})
"""Two long hot cylinders (Lc/R0 = 0.4 and 0.21), where the old default's intervals failed."""


def agreement(reference, draws):
    """max over QUANTILES of |F_reference(quantile of draws) − p| per parameter."""
    out = {}
    for k in PARAM_NAMES:
        ref = np.sort(np.asarray(reference[k]).reshape(-1))
        q = np.quantile(np.asarray(draws[k]).reshape(-1), QUANTILES)
        cdf = np.searchsorted(ref, q, side="right") / ref.size
        out[k] = float(np.max(np.abs(cdf - np.asarray(QUANTILES))))
    return out


def compare(name, dataset, table, kernels, longer=()):
    t = time.perf_counter()
    quad = fit_quadrature(dataset, key=jax.random.PRNGKey(0), table=table, n_draws=40_000)
    print(f"\n{name}: quadrature {time.perf_counter() - t:.1f} s (compilation included on the first), "
          f"checks: quantile shift {max(quad.quantile_shift):.4f}, warnings {list(quad.warnings)}")
    print("  quadrature 2.5/50/97.5 %: " + "; ".join(
        f"{k} {np.quantile(quad.params[k], 0.025):.3g}/{np.median(quad.params[k]):.3g}/"
        f"{np.quantile(quad.params[k], 0.975):.3g}" for k in PARAM_NAMES))
    maps = fit_map(dataset, key=jax.random.PRNGKey(1), table=table)
    runs = [(kernel, {}) for kernel in kernels] + [
        (f"aies x{k}", dict(num_warmup=2000 * k, num_samples=30_000 * k)) for k in longer]
    for label, options in runs:
        kernel = label.split()[0]
        t = time.perf_counter()
        post = fit_posterior(dataset, key=jax.random.PRNGKey(2), table=table, sampler=kernel, maps=maps, **options)
        wall = time.perf_counter() - t
        d = diagnose(post)
        agree = agreement(quad.params, post.params)
        print(f"  {label}: {wall:.1f} s, max R-hat {max(d['r_hat'].values()):.3f}, min bulk ESS "
              f"{d['min_ess_bulk']:.0f}; max |F_quad(q_{kernel}(p)) - p|: "
              + ", ".join(f"{k} {v:.3f}" for k, v in agree.items()))


def time_cli(method, cache):
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "inference.cli", "fit", "--example", "--out", os.path.join(out, "o")]
        if method != "quadrature":
            cmd += ["--method", method]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, JAXQPC_CACHE_DIR=cache))
        return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nuts", action="store_true", help="also compare NUTS (slow: minutes per dataset)")
    parser.add_argument("--cli", action="store_true", help="also time `jaxqpc fit --example` end to end")
    parser.add_argument("--cli-only", action="store_true", help="only time `jaxqpc fit --example` (part 2)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="part 2: N pairs (empty cache, then warm) per method")
    parser.add_argument("--longer", type=int, nargs="*", default=[], metavar="K",
                        help="on the long cylinders, also AIES K times longer than its default (e.g. 4 8)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, jax {jax.__version__} "
          f"({jax.default_backend()})")
    if not args.cli_only:
        table = jaxqpc.YieldTable()
        kernels = ["aies"] + (["nuts"] if args.nuts else [])
        compare("bundled example (Lc/R0 = 1/8)", load_example(), table, kernels)
        for truth in LONG_TRUTHS:
            _, long_ds = simulate_experiment(jax.random.PRNGKey(7), truth)
            compare(f"long hot cylinder {truth}", long_ds, table, kernels, args.longer)
    if args.cli or args.cli_only:
        print("\njaxqpc fit --example, end to end (s):")
        for _ in range(args.repeat):
            for method in ("quadrature", "aies"):
                with tempfile.TemporaryDirectory() as cache:
                    cold, warm = time_cli(method, cache), time_cli(method, cache)
                print(f"  --method {method:10s}: empty compilation cache {cold:6.1f}, warm cache {warm:6.1f}")


if __name__ == "__main__":
    main()
