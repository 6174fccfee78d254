"""Benchmark: the exact QPC transmission by mode matching (jaxqpc.ModeMatchedQPC) vs a tight-binding lattice.

Geometry: a hard-wall channel of length ℓ = L/(2w) = 1 between hard-wall leads of width
W = W_lead/(2w) = 2, the geometry of the lattice check in ``tests/test_mode_matching.py``.
Energies in E1, over ε ∈ [0.5, 10] E1.

(a) ``jaxqpc T``: ``jaxqpc.ModeMatchedQPC(length=1.0, lead_width=2.0)`` at its default truncation
    (48 channel and 96 lead modes), T(ε) at --energies energies (default 10⁴) in one jitted call
    (the model is built inside from a traced ℓ, as in the tests, so the same executable serves
    every ℓ). Timed after compilation (best of --repeats); "compile" is the first call minus
    the steady-state time.
(b) ``jaxqpc dT/dℓ``: ``jax.jacfwd`` of ℓ ↦ T(ε; ℓ) at the same energies, jitted: one
    forward-mode pass gives ∂T/∂ℓ at every energy. Checked against central differences
    (step 1e-5, from the jitted T of (a)) at 8 energies away from thresholds (max relative
    difference) and over the whole energy grid (max absolute difference / max |∂T/∂ℓ|).
(c) ``lattice``: the independent tight-binding solver of the test suite, imported from
    ``tests/test_mode_matching.py`` (``lattice_transmission``, recursive Green's functions in
    NumPy, all energies of a call batched; needs the test dependencies, e.g. pytest) at
    2w = n·a for n in --widths (default 20 40 80 160 320; --quick 20 40). The continuum estimate
    of a pair (n/2, n) is the Richardson extrapolation (4 T_n − T_{n/2})/3 of
    ``lattice_continuum_limit`` (checked to be identical for the first pair). The time per
    energy of one resolution is measured on a batch of energies (200 spread over [0.5, 10] E1
    for n ≤ 40, where batching matters; the five accuracy energies above, best of 3 up to 80a,
    the single run that gives T beyond); a pair costs the
    sum of its two resolutions. The lattice gives no derivative: a central difference in ℓ
    would need two more solves per energy (and ℓ·n integer columns).

Accuracy is measured at the five energies of ``test_lattice_agrees`` (0.9, 2.0, 4.3, 7.0,
9.7 E1) against a reference: ModeMatchedQPC with 128 channel and 256 lead modes (at these
energies it differs from 192/384 modes by about a tenth of the default's difference). The
error of the default mode matching is given there and on every 10th energy of the grid.

"At matching accuracy": the coarsest measured lattice pair whose max error at the five
energies is at most (1) the default mode matching's error at the same energies, (2) 1e-3, the
truncation bound stated in docs/qpc-exact.md; the ratio is its time per energy over the mode
matching's. If no measured pair gets there, the needed resolution is extrapolated with a
power law through the errors of the two finest pairs, and its cost from the finest measured
resolution with the RGF operation count, n⁴ (~n³ per column × n columns; the measured local
exponents are printed too); the script then says that the ratio is extrapolated.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/mode_matching.py           # full run (a few minutes on 2 cores)
    PYTHONPATH=. python benchmarks/mode_matching.py --quick   # smoke test (< 30 s)

--quick uses 2000 energies, a smaller truncation (16 channel modes, reference 32) and the
lattices 20a and 40a only: it checks that the script runs, its numbers are not the benchmark.
All timings are wall-clock on this machine, in this run; the load average is printed with
each measurement.
"""

import argparse
import math
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import numpy as np
import scipy

import jaxqpc
from benchmarks.qpc_maps import best_of, fmt_time
from tests.test_mode_matching import lattice_continuum_limit, lattice_transmission

LENGTH = 1.0  # ℓ = L/(2w)
LEAD_WIDTH = 2.0  # W = W_lead/(2w); the lattice's lead ratio
ENERGY_RANGE = (0.5, 10.0)  # E1
ACCURACY_ENERGIES = np.array([0.9, 2.0, 4.3, 7.0, 9.7])  # those of test_lattice_agrees
FD_ENERGIES = np.array([0.7, 1.3, 2.2, 3.3, 4.6, 6.2, 8.1, 9.5])  # away from every threshold
FD_STEP = 1e-5
LATTICE_TIMING_BATCH = 200  # energies per timed lattice call for 2w ≤ 40a


def build(length, n_modes=None):
    """ModeMatchedQPC(ℓ, W = 2) with a fixed static structure (grid_length 2 covers ℓ ± FD_STEP)."""
    return jaxqpc.ModeMatchedQPC(length, LEAD_WIDTH, n_modes=n_modes, grid_length=2.0,
                                 grid_lead_width=LEAD_WIDTH)


def load():
    return os.getloadavg()[0]


def first_and_best(fn, repeats):
    """(first call, best of ``repeats`` later calls, result) of a jitted ``fn``."""
    t = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t
    return first, best_of(lambda: jax.block_until_ready(fn()), repeats), out


def transmission_functions(n_modes):
    """Jitted T(ℓ, ε) and ∂T/∂ℓ(ℓ, ε) (forward mode) of the W = 2 model with ``n_modes``."""
    def total(length, energy):
        return build(length, n_modes).transmission(energy)

    return jax.jit(total), jax.jit(jax.jacfwd(total, argnums=0))


def lattice_run(n, energies_e1):
    """T on the lattice 2w = n·a at energies in E1 (the conversion of lattice_continuum_limit)."""
    return lattice_transmission(energies_e1 * (math.pi / n) ** 2, n, int(LEAD_WIDTH), LENGTH)


def matching(label, target, widths, pair_err, pair_cost, per_energy, mm_per_energy, mm_grad_per_energy):
    """A note: the cost of the coarsest lattice pair with max error ≤ ``target`` at the five energies,
    over the mode matching's; measured when a pair gets there, else extrapolated (power laws
    through the two finest pairs' errors and the two finest resolutions' times)."""
    head = f"- **lattice at matching accuracy** (max error at the five energies ≤ {label}): "
    reached = [fine for fine in pair_err if pair_err[fine] <= target]
    if reached:
        fine = reached[0]
        return (head + f"the pair {fine // 2}a/{fine}a (error {pair_err[fine]:.1e}), {fmt_time(pair_cost[fine])} "
                f"per energy: **{pair_cost[fine] / mm_per_energy:.3g}×** the mode matching's T "
                f"({fmt_time(mm_per_energy)} per energy), {pair_cost[fine] / mm_grad_per_energy:.3g}× its ∂T/∂ℓ "
                "(which the lattice does not give); measured")
    if len(pair_err) < 2:
        return head + (f"the only pair measured ({widths[0]}a/{widths[1]}a, error {pair_err[widths[1]]:.1e}) does "
                       "not get there, and one pair gives no extrapolation (run with three or more --widths)")
    (f1, e1), (f2, e2) = list(pair_err.items())[-2:]
    n2 = widths[-1]
    order = math.log(e1 / e2) / math.log(f2 / f1)  # error of a pair (n/2, n) ∝ n^-order
    if not order > 0:
        return head + f"no pair gets there and the error does not fall from {f1}a to {f2}a ({e1:.1e} → {e2:.1e})"
    exponents = ", ".join(f"{math.log(per_energy[b] / per_energy[a]) / math.log(b / a):.2f} ({a}a → {b}a)"
                          for a, b in zip(widths, widths[1:]))
    needed = f2 * (e2 / target) ** (1.0 / order)  # the finer resolution of the pair
    cost = per_energy[n2] * (needed / n2) ** 4 * (1.0 + 2.0 ** -4)
    return head + (f"no measured pair gets there (finest {f2 // 2}a/{f2}a: {e2:.1e}). EXTRAPOLATED: pair error "
                   f"∝ n^-{order:.2f} (from the pairs ending at {f1}a and {f2}a) needs 2w ≈ {needed:.0f}a (with its "
                   f"half); time per energy ∝ n⁴ from {n2}a (measured local exponents: {exponents}) gives "
                   f"≈ {fmt_time(cost)} per energy, **≈ {cost / mm_per_energy:.2g}×** the mode matching's T "
                   f"({fmt_time(mm_per_energy)}); extrapolated, not measured")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test, < 30 s)")
    parser.add_argument("--energies", type=int, default=None, help="energies of the jaxqpc runs (default 10⁴)")
    parser.add_argument("--widths", type=int, nargs="+", default=None,
                        help="lattice resolutions 2w/a, each twice the previous (default 20 40 80 160 320)")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many timed runs")
    args = parser.parse_args()

    n_energies = args.energies or (2000 if args.quick else 10_000)
    widths = args.widths or ([20, 40] if args.quick else [20, 40, 80, 160, 320])
    if any(b != 2 * a for a, b in zip(widths, widths[1:])) or len(widths) < 2:
        parser.error("--widths: at least two, each twice the previous")
    n_modes, n_reference = (16, 32) if args.quick else (None, 128)

    model = build(LENGTH, n_modes)
    reference_model = build(LENGTH, n_reference)
    print(f"# jaxqpc {jaxqpc.__version__}, jax {jax.__version__} ({jax.devices()[0].platform}), "
          f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load():.2f}")
    print(f"# ModeMatchedQPC(ℓ = {LENGTH:g}, W = {LEAD_WIDTH:g}): {model.n_modes} channel and {model.n_lead_modes} "
          f"lead modes (reference: {reference_model.n_modes} and {reference_model.n_lead_modes}); "
          f"{n_energies} energies in [{ENERGY_RANGE[0]:g}, {ENERGY_RANGE[1]:g}] E1", flush=True)

    rows = []  # (method, resolution, n timed, time per energy, compile, error vs reference, |Δ| vs default MM, load)
    notes = []
    energies = np.linspace(*ENERGY_RANGE, n_energies)
    energies_j = jnp.asarray(energies)
    length_j = jnp.asarray(LENGTH)

    # --- (a) T(ε) by mode matching
    t_fn, dt_fn = transmission_functions(n_modes)
    t_first, t_run, t_all = first_and_best(lambda: t_fn(length_j, energies_j), args.repeats)
    t_all = np.asarray(t_all)
    lo = load()

    # the accuracy energies: through the same executable (in the first slots of the grid); the
    # reference at them and at every 10th grid energy in one call (its own compilation, not timed)
    probe = energies.copy()
    probe[:ACCURACY_ENERGIES.size] = ACCURACY_ENERGIES
    t_mm5 = np.asarray(t_fn(length_j, jnp.asarray(probe)))[:ACCURACY_ENERGIES.size]
    sub = energies[::10]
    ref = np.asarray(jax.jit(lambda e: reference_model.transmission(e))(np.concatenate([ACCURACY_ENERGIES, sub])))
    ref5, ref_sub = ref[:ACCURACY_ENERGIES.size], ref[ACCURACY_ENERGIES.size:]
    err_mm5 = float(np.max(np.abs(t_mm5 - ref5)))
    err_mm_dense = float(np.max(np.abs(t_all[::10] - ref_sub)))
    rows.append(("jaxqpc T(ε), mode matching", f"{model.n_modes}/{model.n_lead_modes} modes", n_energies,
                 t_run / n_energies, t_first - t_run, err_mm5, 0.0, lo))
    notes.append(f"- mode matching (default truncation) against the reference on every 10th energy "
                 f"({sub.size} energies in [{ENERGY_RANGE[0]:g}, {ENERGY_RANGE[1]:g}] E1): "
                 f"max |ΔT| = {err_mm_dense:.1e}; at the five energies {err_mm5:.1e}")
    notes.append(f"- jaxqpc T, {n_energies} energies in one call: {fmt_time(t_run)} (first call "
                 f"{fmt_time(t_first)})")
    print(f"# T: {fmt_time(t_run)} per call, first {fmt_time(t_first)} (load {lo:.2f})", flush=True)

    # --- (b) ∂T/∂ℓ by forward-mode differentiation, and a central-difference check
    g_first, g_run, grad_all = first_and_best(lambda: dt_fn(length_j, energies_j), args.repeats)
    grad_all = np.asarray(grad_all)
    lo = load()
    t_plus = np.asarray(t_fn(length_j + FD_STEP, energies_j))
    t_minus = np.asarray(t_fn(length_j - FD_STEP, energies_j))
    numeric = (t_plus - t_minus) / (2 * FD_STEP)
    idx = np.searchsorted(energies, FD_ENERGIES)  # grid points at (just above) the FD energies
    rel_fd = float(np.max(np.abs(grad_all[idx] - numeric[idx]) / np.abs(numeric[idx])))
    whole_fd = float(np.max(np.abs(grad_all - numeric)) / np.max(np.abs(grad_all)))
    rows.append(("jaxqpc ∂T/∂ℓ (jacfwd), mode matching", f"{model.n_modes}/{model.n_lead_modes} modes", n_energies,
                 g_run / n_energies, g_first - g_run, None, None, lo))
    notes.append(f"- ∂T/∂ℓ against central differences (step {FD_STEP:g}): max relative difference "
                 f"{rel_fd:.1e} at the {idx.size} energies {', '.join(f'{e:.3f}' for e in energies[idx])} "
                 f"(|∂T/∂ℓ| from {np.min(np.abs(numeric[idx])):.1e} to {np.max(np.abs(numeric[idx])):.1e}); "
                 f"over all {n_energies} energies max |difference| / max |∂T/∂ℓ| = {whole_fd:.1e} "
                 f"(max |∂T/∂ℓ| = {np.max(np.abs(grad_all)):.2f})")
    notes.append(f"- jaxqpc ∂T/∂ℓ, {n_energies} energies in one call: {fmt_time(g_run)} (first call "
                 f"{fmt_time(g_first)})")
    print(f"# dT/dℓ: {fmt_time(g_run)} per call, first {fmt_time(g_first)} (load {lo:.2f})", flush=True)

    # --- (c) the lattice: each resolution timed, and its T at the accuracy energies
    lattice5, per_energy = {}, {}
    for n in widths:
        if n <= 40:
            batch = np.linspace(*ENERGY_RANGE, LATTICE_TIMING_BATCH)
            per_energy[n] = best_of(lambda n=n, batch=batch: lattice_run(n, batch), min(args.repeats, 3)) / batch.size
            lattice5[n] = lattice_run(n, ACCURACY_ENERGIES)
            n_timed = batch.size
        else:  # the five accuracy energies themselves: best of 3 up to 80a, beyond the one run that gives T
            t = time.perf_counter()
            lattice5[n] = lattice_run(n, ACCURACY_ENERGIES)
            per_energy[n] = time.perf_counter() - t
            if n <= 80:
                per_energy[n] = min(per_energy[n], best_of(lambda n=n: lattice_run(n, ACCURACY_ENERGIES), 2))
            per_energy[n] /= ACCURACY_ENERGIES.size
            n_timed = ACCURACY_ENERGIES.size
        lo = load()
        print(f"# lattice 2w = {n}a: {fmt_time(per_energy[n])} per energy (load {lo:.2f})", flush=True)
        rows.append((f"lattice, one resolution ({n - 1}×{int(LENGTH * n) + 1} channel sites, leads "
                     f"{int(LEAD_WIDTH * n) - 1} across)", f"2w = {n}a", n_timed, per_energy[n], None,
                     float(np.max(np.abs(lattice5[n] - ref5))), float(np.max(np.abs(lattice5[n] - t_mm5))), lo))

    pairs = list(zip(widths, widths[1:]))
    check = lattice_continuum_limit(ACCURACY_ENERGIES, widths=pairs[0], lead_ratio=int(LEAD_WIDTH), length=LENGTH)
    pair_err, pair_cost = {}, {}
    for coarse, fine in pairs:
        extrapolated = (4.0 * lattice5[fine] - lattice5[coarse]) / 3.0
        if (coarse, fine) == pairs[0]:
            same = float(np.max(np.abs(extrapolated - check)))
            notes.append(f"- the pair extrapolation here vs tests' lattice_continuum_limit at {coarse}a/{fine}a: "
                         f"max difference {same:.1e}")
        pair_err[fine] = float(np.max(np.abs(extrapolated - ref5)))
        pair_cost[fine] = per_energy[coarse] + per_energy[fine]
        rows.append(("lattice, extrapolated pair", f"2w = {coarse}a and {fine}a", None, pair_cost[fine], None,
                     pair_err[fine], float(np.max(np.abs(extrapolated - t_mm5))), None))

    # --- matching accuracy
    mm_per_energy = t_run / n_energies
    finest = widths[-1]
    notes.append(f"- finest measured pair {finest // 2}a/{finest}a: {fmt_time(pair_cost[finest])} per energy, "
                 f"{pair_cost[finest] / mm_per_energy:.3g}× the mode matching's T, error {pair_err[finest]:.1e} "
                 f"against the mode matching's {err_mm5:.1e}")
    notes.append(matching(f"the default mode matching's error at the same five energies, {err_mm5:.1e}", err_mm5,
                          widths, pair_err, pair_cost, per_energy, mm_per_energy, g_run / n_energies))
    notes.append(matching("1e-3, the truncation bound of docs/qpc-exact.md", 1e-3,
                          widths, pair_err, pair_cost, per_energy, mm_per_energy, g_run / n_energies))

    print()
    print("| method | resolution | energies per timed call | time per energy | compile | max \\|T − T_ref\\| "
          "at the 5 energies | max \\|T − T_mode matching\\| at the 5 energies | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|")
    for method, res, n_timed, per, comp, err, diff, lo in rows:
        print(f"| {method} | {res} | {n_timed if n_timed else 'sum of the two'} | {fmt_time(per)} "
              f"| {fmt_time(comp) if comp is not None else '–'} | {f'{err:.1e}' if err is not None else '–'} "
              f"| {f'{diff:.1e}' if diff else '–'} | {f'{lo:.2f}' if lo is not None else '–'} |")
    print()
    print(f"T_ref: ModeMatchedQPC with {reference_model.n_modes}/{reference_model.n_lead_modes} modes; the five "
          f"energies {', '.join(f'{e:g}' for e in ACCURACY_ENERGIES)} E1. compile = first call − steady state. "
          "Lattice times: NumPy RGF of the test suite (OpenBLAS threads; slow when other processes load the "
          "cores).")
    print("\n".join(notes))
    print(f"# load average at the end {load():.2f}")


if __name__ == "__main__":
    main()
