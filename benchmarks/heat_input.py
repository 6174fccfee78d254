"""How much the heat input of the model moves the fitted (η, Lc, R0), compared with h.

For two truths, the bundled example's (Lc/R0 = 1/8) and a long hot cylinder
(Lc/R0 = 0.4), data are simulated like the example (:func:`inference.simulate.simulate_experiment`,
3000 bins of 10 ms, 60 rows per detector) once with all of the power heating the drain (the
paper) and once with the Landauer share of an energy-independent transmission (P_R/P = 1/2).
Each dataset is fitted by the default posterior (:func:`inference.quadrature.fit_quadrature`)
four ways: heat input drain and landauer with h free, and heat input drain with h → 0 and
h → ∞. The script prints, per dataset, the posterior median and the 16–84 % half-width of η, Lc
and R0 for each fit, the shift of the median between the two heat inputs and between the two h
limits in units of that half-width, whether each fit's 95 % interval covers the truth, and the
ln Bayes factors (drain vs landauer; h → 0 vs h → ∞) with their numerical errors.

Usage (from the repository root; not part of the test suite)::

    PYTHONPATH=. python benchmarks/heat_input.py [--seed N]
"""

import argparse
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np

import jaxqpc
from inference.quadrature import fit_quadrature
from inference.simulate import EXAMPLE_TRUTH, simulate_experiment

TRUTHS = {
    "example (Lc/R0 = 1/8)": dict(EXAMPLE_TRUTH),
    "long cylinder (Lc/R0 = 0.4)": {"eta": 0.6, "Lc": 0.6, "R0": 1.5, "h": 3.0},
}
FITS = {"drain, h free": ("drain", None), "landauer, h free": ("landauer", None),
        "drain, h -> 0": ("drain", 0.0), "drain, h -> inf": ("drain", np.inf)}
NAMES = ("eta", "Lc", "R0")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    table = jaxqpc.YieldTable()
    start = time.perf_counter()
    for i, (label, truth) in enumerate(TRUTHS.items()):
        for j, simulated in enumerate(("drain", "landauer")):
            key = jax.random.fold_in(jax.random.PRNGKey(args.seed), 2 * i + j)
            _, data = simulate_experiment(key, truth, heat_input=simulated)
            fits = {}
            for name, (heat_input, h) in FITS.items():
                fits[name] = fit_quadrature(data.with_heat_input(heat_input), key=jax.random.PRNGKey(1),
                                            table=table, h=h, n_draws=20_000)
            print(f"\n== truth {label} {truth}, simulated with heat input {simulated}")
            print(f"{'fit':18s} " + " ".join(f"{n + ' median ± half-width':>26s}" for n in NAMES)
                  + "   covers (95 %)   ln Z")
            for name, f in fits.items():
                cells, covers = [], []
                for n in NAMES:
                    q = f.quantiles[n]  # 2.5, 16, 50, 84, 97.5 %
                    cells.append(f"{q[2]:12.4g} ± {(q[3] - q[1]) / 2:<11.3g}")
                    covers.append("y" if q[0] <= truth[n] <= q[4] else "n")
                print(f"{name:18s} " + " ".join(f"{c:>26s}" for c in cells)
                      + f"   {''.join(covers):>13s}   {f.log_evidence:.2f}")
            for a, b in (("drain, h free", "landauer, h free"), ("drain, h -> 0", "drain, h -> inf")):
                shifts = []
                for n in NAMES:
                    qa, qb = fits[a].quantiles[n], fits[b].quantiles[n]
                    width = 0.5 * ((qa[3] - qa[1]) + (qb[3] - qb[1])) / 2
                    shifts.append(f"{n} {(qb[2] - qa[2]) / width:+.2f}")
                bf = fits[a].log_evidence - fits[b].log_evidence
                err = fits[a].log_evidence_error + fits[b].log_evidence_error
                print(f"  [{b}] − [{a}]: median shift / half-width: {', '.join(shifts)}; "
                      f"ln BF ({a} vs {b}) = {bf:+.2f} ± {err:.2f}")
    print(f"\n{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
