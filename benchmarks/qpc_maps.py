"""Benchmark: the Fig. 3 power maps of Blaas-Anselmi et al. 2022 with jaxqpc vs. SciPy/NumPy.

Maps of P_R and P_A (units 2E1²/h) over bias v = eV/E1 ∈ (0, 1] and μ̄/E1 ∈ [1, 7]
for the abrupt QPC with ℓ = L/(2w) = 1, at k_BT = 0 and k_BT = 0.04 E1, computed by

(a) ``quad``:  a loop of ``scipy.integrate.quad`` calls (epsrel 1e-8), two per map
    point (P_R and P_A), on the plain-NumPy T(ε) below — the reference;
(b) ``numpy grid``: the best vectorised fixed-grid NumPy quadrature we could write:
    T(ε) tabulated once on a uniform grid (step h, every threshold n² a node; at
    k_BT > 0 the thermally smoothed densities are tabulated by one FFT convolution
    with the Fermi-window kernel), then every map point is an *exact* integral of the
    piecewise-cubic interpolant over its window: cumulative sums at whole cells plus
    closed-form partial cells, O(1) work per point, processed in cache-sized chunks;
(c) ``jaxqpc``: ``jaxqpc.transport`` (its jitted core, timed after compilation).

The same largest map is then timed with the exact transmission, ``jaxqpc.ModeMatchedQPC(ℓ, W = 3)``
(no baseline: its T costs a mode-matching solve per energy, so a quad loop is out of reach). Each
``transport`` call builds the model's table once (T at the table nodes that the map's energies reach, one
mode-matching solve each) and then costs the same per point as any table; the script reports the table
over the whole grid, one call, the map per point given the table, and the first call (compilation).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/qpc_maps.py           # full run (< 10 min on 2 cores)
    PYTHONPATH=. python benchmarks/qpc_maps.py --quick   # smoke test (< 30 s)

Errors are measured against (a) on a small map: "rel" is the max relative error over
points with |ref| > 1e-6·max|ref|, "abs" the max absolute error over the other points
(to be compared with 1e-6·max|ref|). The NumPy grid is also checked against jaxqpc on
the whole largest map, and the points where the two disagree most are recomputed with
quad to tell which one is off. All timings are wall-clock on this machine, in this run
(best of --repeats); the quad loop is timed on the small map only (per point; the
1000×1000 figure is extrapolated). NumPy grid timings include building its tables;
jaxqpc timings include its (jitted) table build too. Physics of T(ε): Eqs. 18–20 of the
paper with the overbars restored (see the package docs); energies in E1.
"""

import argparse
import math
import os
import platform
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp
import numpy as np
import scipy
import scipy.integrate
import scipy.signal

import jaxqpc
from jaxqpc import _landauer

LENGTH = 1.0  # ℓ = L/(2w)
LEAD_WIDTH = 3.0  # W = W_lead/(2w) of the mode-matched model
N_CHANNELS = 4  # exact for ε < 16 E1; the maps reach μ_L + 40 kT ≤ 9.1 E1
MU_RANGE = (1.0, 7.0)
BIAS_RANGE = (1e-3, 1.0)
THERMAL_WINDOW = 40.0  # kT; the baselines drop the Fermi tails beyond (weight ~e^-40)


# ---------------------------------------------------------------------------
# T(ε) in plain NumPy, straight from Eqs. 18-20 (vectorised complex arithmetic)
# ---------------------------------------------------------------------------


def _mean_wavevector(eps, n):
    """K̄_n = (1/2)∫_{n-1}^{n+1} √(ε − q²) dq (complex, +i branch for q > k = √ε); eps > 0."""
    k = np.sqrt(eps)

    def antiderivative(q):  # ∫_0^q √(ε − x²) dx
        below = q < k
        qb = np.where(below, q, 0.0)
        qa = np.where(below, k, q)
        # for q ≥ k the real part is exactly επ/4 (don't evaluate √(ε − k²) ≈ √ulp)
        re = 0.5 * np.where(below, qb * np.sqrt(np.maximum(eps - qb * qb, 0.0)) + eps * np.arcsin(qb / k),
                            0.5 * np.pi * eps)
        im = 0.5 * np.where(below, 0.0, qa * np.sqrt(np.maximum(qa * qa - eps, 0.0))
                            - eps * np.arccosh(np.maximum(qa / k, 1.0)))
        return re + 1j * im

    return 0.5 * (antiderivative(n + 1.0) - antiderivative(n - 1.0))


def transmission(eps, length=LENGTH, n_channels=N_CHANNELS):
    """Total transmission T(ε) = Σ_n τ_n² (Eqs. 18–20), T = 0 for ε ≤ 0."""
    eps = np.asarray(eps, dtype=float)
    n = np.arange(1, n_channels + 1, dtype=float)
    e = np.where(eps > 0, eps, 1.0)[..., None]
    e = np.where(e == n * n, e + 1e-12, e)  # K_n = 0 exactly: step off the 0/0
    K = np.sqrt(e - n * n + 0j)  # principal branch: +i√(n² − ε) below threshold
    Kb = _mean_wavevector(e, n)
    phase = np.exp(-1j * np.pi * length * K)
    D = (K + Kb) ** 2 * phase - (K - Kb) ** 2 / phase
    tau = 4.0 * np.abs(K) * Kb.real / np.abs(D)
    return np.where(eps > 0, np.sum(tau * tau, axis=-1), 0.0)


def _transmission_scalar(e):
    return float(transmission(np.array([e]))[0])


def fermi_window(eps, mu, bias, kT):
    """W = f(ε − μ_L) − f(ε − μ_R) = sinh(v/2kT) / (cosh((ε − μ̄)/kT) + cosh(v/2kT))."""
    u = 0.5 * bias / kT
    return math.sinh(u) / (np.cosh((eps - mu) / kT) + math.cosh(u))


# ---------------------------------------------------------------------------
# (a) scipy.integrate.quad loop
# ---------------------------------------------------------------------------


def quad_map(mu, bias, kT, epsrel=1e-8, epsabs=1e-14):
    """P_R, P_A by two adaptive quad calls per point. Returns (P_R, P_A, n_warnings)."""
    p_right = np.empty(mu.shape)
    p_asym = np.empty(mu.shape)
    squares = np.arange(1, N_CHANNELS + 1, dtype=float) ** 2
    n_warn = 0
    for idx in np.ndindex(mu.shape):
        m, v = float(mu[idx]), float(bias[idx])
        mu_r, mu_l = m - 0.5 * v, m + 0.5 * v
        if kT == 0:
            lo, hi = mu_r, mu_l

            def density(e):
                return _transmission_scalar(e)
            extra = []
        else:
            lo, hi = max(0.0, mu_r - THERMAL_WINDOW * kT), mu_l + THERMAL_WINDOW * kT

            def density(e, m=m, v=v):
                return _transmission_scalar(e) * fermi_window(e, m, v, kT)
            extra = [mu_r, m, mu_l]
        pts = sorted(p for p in [*squares, *extra] if lo < p < hi) or None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", scipy.integrate.IntegrationWarning)
            p_right[idx] = scipy.integrate.quad(lambda e: (e - mu_r) * density(e), lo, hi, points=pts,
                                                epsrel=epsrel, epsabs=epsabs, limit=200)[0]
            p_asym[idx] = 2.0 * scipy.integrate.quad(lambda e: (e - m) * density(e), lo, hi, points=pts,
                                                     epsrel=epsrel, epsabs=epsabs, limit=200)[0]
        n_warn += len(caught)
    return p_right, p_asym, n_warn


# ---------------------------------------------------------------------------
# (b) vectorised NumPy fixed grid
# ---------------------------------------------------------------------------


class GridMaps:
    """Tabulate once, then O(1) exact window integrals of a piecewise-cubic interpolant.

    Densities on the nodes ε_j = j·h (h = 1/K, so every threshold n² is a node):
    g = T at kT = 0; at kT > 0 the thermally smoothed g(μ) = ∫p(x) T(μ + x) dx and the
    moment correction u(μ) = ∫p(x) x T(μ + x) dx (p the logistic density of width kT),
    by one FFT convolution each on the same grid (trapezoid rule: spectrally accurate
    for the smooth kernel, the T kinks sit on nodes). Then for every window [a, b]

        ∫(ε − r) T W dε = ∫_a^b [(μ − r) g(μ) + u(μ)] dμ,  P_R: r = μ_R,  P_A = 2×(r = μ̄),

    evaluated exactly for the cubic Lagrange interpolants of g and u (nodes j−1…j+2 on
    cell j): per cell, the running integrals C0_j = ∫_0^{ε_j} g, C1_j = ∫_0^{ε_j} (εg + u)
    and the coefficients of the partial-cell polynomials, gathered at both window ends.

    Step: h = 2e-3 already gives ~1e-8 on the small quad maps, but the pointwise 1e-6
    criterion on a 1000×1000 map also tests points just above the floor next to the
    zero lines of P_A (|P_A| ~ 2e-7 needs ~2e-13 absolute): that takes h = 2.5e-4
    (h = 5e-4 gives 1.1e-6). A linear interpolant would need h ≈ 5e-5 even on the
    small maps. Per-point cost does not depend on h; the table build does (~10–30 ms).
    """

    # Lagrange cubic on s ∈ [0, 1] through s = -1, 0, 1, 2: power coefficients = _VINV @ values
    _VINV = np.linalg.inv(np.vander(np.array([-1.0, 0.0, 1.0, 2.0]), 4, increasing=True))

    def __init__(self, kT, step, e_max):
        self.kT, self.h = float(kT), float(step)
        h = self.h
        n_cells = int(math.ceil(e_max / h))
        idx = np.arange(-1, n_cells + 2)  # nodes j = -1 … n_cells + 1
        if self.kT == 0:
            g = transmission(h * idx)
            u = np.zeros_like(g)
        else:
            half = int(math.ceil(THERMAL_WINDOW * self.kT / h))
            x = h * np.arange(-half, half + 1)
            p = 1.0 / np.cosh(0.5 * x / self.kT) ** 2
            p /= p.sum()
            t = transmission(h * np.arange(idx[0] - half, idx[-1] + half + 1))  # 0 for ε ≤ 0
            # "valid" convolution with the reversed kernel: g_j = Σ_k p_k T(ε_j + x_k)
            g = scipy.signal.fftconvolve(t, p[::-1], mode="valid")
            u = scipy.signal.fftconvolve(t, (p * x)[::-1], mode="valid")
        stencil = np.lib.stride_tricks.sliding_window_view
        cg = stencil(g, 4) @ self._VINV.T  # (n_cells, 4): g(s) = Σ cg_k s^k on cell j
        cu = stencil(u, 4) @ self._VINV.T
        e = h * np.arange(n_cells)[:, None]
        k = np.arange(4)
        # integrands of A0 (g ε'(s) = h g) and A1 (h[(ε_j + h s) g + u]) as polynomials in s
        i0 = h * cg
        i1 = np.zeros((cg.shape[0], 5))
        i1[:, :4] = h * (e * cg + cu)
        i1[:, 1:] += h * h * cg
        a0 = i0 / (k + 1)  # coefficients of s^1 … s^4
        a1 = i1 / (np.arange(5) + 1)  # coefficients of s^1 … s^5
        # ∫ from 0 to each cell start, accumulated in extended precision (where the platform
        # has it): the small-bias P_A is a difference of these running sums
        ext = np.longdouble
        c0 = np.concatenate([[0.0], np.cumsum(a0.astype(ext).sum(1))[:-1].astype(float)])
        c1 = np.concatenate([[0.0], np.cumsum(a1.astype(ext).sum(1))[:-1].astype(float)])
        # one contiguous column per coefficient (separate gathers beat a row gather here)
        self.cols = [np.ascontiguousarray(c) for c in (c0, *a0.T, c1, *a1.T)]
        self.n_cells = n_cells

    def _antiderivatives(self, x):
        """A0(x) = ∫_0^x g and A1(x) = ∫_0^x (εg + u), Horner in place."""
        c = self.cols
        y = x * (1.0 / self.h)
        j = np.minimum(y.astype(np.intp), self.n_cells - 1)
        s = y - j
        a0 = c[4][j]
        for k in (3, 2, 1, 0):
            a0 *= s
            a0 += c[k][j]
        a1 = c[10][j]
        for k in (9, 8, 7, 6, 5):
            a1 *= s
            a1 += c[k][j]
        return a0, a1

    def __call__(self, mu, bias, chunk=1 << 13):
        mu, bias = np.broadcast_arrays(np.asarray(mu, float), np.asarray(bias, float))
        shape = mu.shape
        mu, bias = mu.ravel(), bias.ravel()
        p_right = np.empty(mu.size)
        p_asym = np.empty(mu.size)
        for start in range(0, mu.size, chunk):
            sl = slice(start, start + chunk)
            m, half = mu[sl], 0.5 * bias[sl]
            a, b = m - half, m + half
            a0a, a1a = self._antiderivatives(a)
            a0b, a1b = self._antiderivatives(b)
            a0b -= a0a  # ∫_a^b g
            a1b -= a1a  # ∫_a^b (εg + u)
            p_right[sl] = a1b - a * a0b
            p_asym[sl] = a1b - m * a0b
        p_asym *= 2.0
        return p_right.reshape(shape), p_asym.reshape(shape)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def make_map(n_bias, n_mu):
    """(MU, V) meshgrids: bias ∈ [1e-3, 1] along axis 0, μ̄ ∈ [1, 7] along axis 1."""
    v, m = np.meshgrid(np.linspace(*BIAS_RANGE, n_bias), np.linspace(*MU_RANGE, n_mu), indexing="ij")
    return m, v


def errors(x, ref, floor=None):
    """(max rel err where |ref| > floor, max abs err elsewhere, floor); floor = 1e-6·max|ref|."""
    x, ref = np.asarray(x), np.asarray(ref)
    if floor is None:
        floor = 1e-6 * np.max(np.abs(ref))
    big = np.abs(ref) > floor
    diff = np.abs(x - ref)
    rel = float(np.max(diff[big] / np.abs(ref[big]))) if big.any() else 0.0
    ab = float(np.max(diff[~big])) if (~big).any() else 0.0
    return rel, ab, floor


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fmt_time(t):
    if t >= 100:
        return f"{t / 60:.1f} min"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    if t >= 1e-6:
        return f"{t * 1e6:.2f} µs"
    return f"{t * 1e9:.0f} ns"


def fmt_err(e):
    rel_r, abs_r, _, rel_a, abs_a, _ = e
    return f"P_R {rel_r:.1e} / {abs_r:.0e}, P_A {rel_a:.1e} / {abs_a:.0e}"


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def padded(x, shape):
    """x (small map) in the top-left of an array of ``shape`` (rest: x's first value), so
    that the jitted core is reused without compiling for another shape."""
    out = np.full(shape, x.flat[0])
    out.flat[: x.size] = x.ravel()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test, < 30 s)")
    parser.add_argument("--step", type=float, default=2.5e-4,
                        help="NumPy grid step h in E1 (rounded so that 1/h is an integer)")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many timed runs")
    args = parser.parse_args()

    if args.quick:
        small = {0.0: (4, 4), 0.04: (3, 3)}
        sizes = [30]
        n_adjudicate = 2
    else:
        small = {0.0: (20, 20), 0.04: (12, 12)}
        sizes = [100, 1000]
        n_adjudicate = 10
    temperatures = [0.0, 0.04]
    step = 1.0 / round(1.0 / args.step)
    e_max = MU_RANGE[1] + 0.5 * BIAS_RANGE[1] + 0.5  # top of the NumPy tables (≥ max μ_L)
    big = sizes[-1] ** 2
    big_label = f"{sizes[-1]}×{sizes[-1]}"

    print(f"# jaxqpc {jaxqpc.__version__}, jax {jax.__version__} ({jax.devices()[0].platform}), "
          f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"# AbruptQPC ℓ = {LENGTH}, {N_CHANNELS} channels, bias ∈ [{BIAS_RANGE[0]:g}, {BIAS_RANGE[1]:g}], "
          f"μ̄ ∈ [{MU_RANGE[0]:g}, {MU_RANGE[1]:g}] (E1); NumPy grid step h = {step:g} E1", flush=True)

    model = jaxqpc.AbruptQPC(LENGTH, n_channels=N_CHANNELS)
    core = _landauer._transport_scalar_kT  # the jitted core of jaxqpc.transport (scalar kT)

    rows = []  # (method, map label, kT, total time, time per point, error text, n points)
    jax_pp = {}  # (kT, n points) -> jaxqpc time per point
    first_call = {}  # (kT, label) -> (first call, steady)
    notes = []
    for kT in temperatures:
        # --- (a) quad loop on the small map: the reference, and its timing
        mu_s, v_s = make_map(*small[kT])
        n_s = mu_s.size
        t = time.perf_counter()
        ref_r, ref_a, n_warn = quad_map(mu_s, v_s, kT)
        t_quad = time.perf_counter() - t
        small_label = f"{small[kT][0]}×{small[kT][1]}"
        print(f"# quad kT={kT:g}: {n_s} points in {t_quad:.1f} s, {n_warn} IntegrationWarnings", flush=True)
        rows.append(("scipy quad loop", small_label, kT, t_quad, t_quad / n_s,
                     "reference" + (f" ({n_warn} quad warnings)" if n_warn else ""), n_s))
        rows.append(("scipy quad loop (extrapolated)", big_label, kT, t_quad / n_s * big, t_quad / n_s, "", big))
        floors = (errors(ref_r, ref_r)[2], errors(ref_a, ref_a)[2])

        # --- (b) NumPy grid: accuracy on the small map
        np_r, np_a = GridMaps(kT, step, e_max)(mu_s, v_s)
        err_np = fmt_err((*errors(np_r, ref_r), *errors(np_a, ref_a)))
        t_tab = best_of(lambda: GridMaps(kT, step, e_max), 3)

        for n in sizes:
            mu, v = make_map(n, n)
            npts, label = mu.size, f"{n}×{n}"

            def run_numpy(mu=mu, v=v):
                return GridMaps(kT, step, e_max)(mu, v)

            t_np = best_of(run_numpy, args.repeats)
            rows.append(("numpy grid", label, kT, t_np, t_np / npts,
                         err_np + (f"; table alone {fmt_time(t_tab)}" if n == sizes[0] else ""), npts))

            mu_j, v_j, kT_j = jnp.asarray(mu), jnp.asarray(v), jnp.asarray(kT)
            t = time.perf_counter()
            jax.block_until_ready(core(model, mu_j, v_j, kT_j))
            t_first = time.perf_counter() - t
            t_jax = best_of(lambda: jax.block_until_ready(core(model, mu_j, v_j, kT_j)), args.repeats)
            first_call[(kT, label)] = (t_first, t_jax)
            jax_pp[(kT, npts)] = t_jax / npts

            if n == sizes[0]:
                # jaxqpc on the small map, through the public API (padded to this shape: no recompile)
                res = jaxqpc.transport(model, padded(mu_s, mu.shape), padded(v_s, mu.shape), kT)
                jr = np.asarray(res.power_right).ravel()[:n_s].reshape(mu_s.shape)
                ja = np.asarray(res.power_asymmetry).ravel()[:n_s].reshape(mu_s.shape)
                err_jax = fmt_err((*errors(jr, ref_r), *errors(ja, ref_a)))
            compiled = "compile + run" if kT == temperatures[0] else f"same executable as kT = {temperatures[0]:g}"
            rows.append(("jaxqpc", label, kT, t_jax, t_jax / npts,
                         err_jax + f"; 1st call {fmt_time(t_first)} ({compiled})", npts))

        # --- full-map cross-check NumPy grid vs jaxqpc; the worst disagreements adjudicated by quad
        res = core(model, mu_j, v_j, kT_j)
        jr, ja = np.asarray(res.power_right), np.asarray(res.power_asymmetry)
        np_r, np_a = run_numpy()
        e_r, e_a = errors(np_r, jr), errors(np_a, ja)
        notes.append(f"- kT = {kT:g}, {label} map, NumPy grid vs jaxqpc: P_R rel {e_r[0]:.1e} / abs {e_r[1]:.0e}, "
                     f"P_A rel {e_a[0]:.1e} / abs {e_a[1]:.0e} (floors {e_r[2]:.1e}, {e_a[2]:.1e})")
        score = np.maximum(np.abs(np_r - jr) / np.maximum(np.abs(jr), e_r[2]),
                           np.abs(np_a - ja) / np.maximum(np.abs(ja), e_a[2]))
        worst = np.unravel_index(np.argsort(score.ravel())[-n_adjudicate:], score.shape)
        q_r, q_a, _ = quad_map(mu[worst], v[worst], kT)
        fl_r, fl_a = e_r[2], e_a[2]  # the map's floors
        e_np = fmt_err((*errors(np_r[worst], q_r, fl_r), *errors(np_a[worst], q_a, fl_a)))
        e_jax = fmt_err((*errors(jr[worst], q_r, fl_r), *errors(ja[worst], q_a, fl_a)))
        notes.append(f"  its {n_adjudicate} worst points, against quad: NumPy grid {e_np}; jaxqpc {e_jax}")
        notes.append(f"- kT = {kT:g} small-map error floors 1e-6·max|ref|: "
                     f"P_R {floors[0]:.1e}, P_A {floors[1]:.1e}")

    print()
    print(f"| method | map | kT/E1 | time | time/point | ratio vs jaxqpc (same map) | ratio vs jaxqpc {big_label} "
          "| max error vs quad on the small map, rel / abs; notes |")
    print("|---|---|---|---|---|---|---|---|")
    for method, label, kT, total, pp, err, npts in rows:
        same = jax_pp.get((kT, npts))
        r_same = f"{pp / same:.3g}" if same and method != "jaxqpc" else ("1" if same else "–")
        print(f"| {method} | {label} | {kT:g} | {fmt_time(total)} | {fmt_time(pp)} | {r_same} "
              f"| {pp / jax_pp[(kT, big)]:.3g} | {err} |")
    print()
    print("rel: max relative error where |ref| > 1e-6·max|ref|; abs: max absolute error elsewhere "
          "(2E1²/h); ratio > 1: slower than jaxqpc. NumPy grid times include building its tables.")
    print("\n".join(notes))
    for kT in temperatures:
        t_first, t_jax = first_call[(kT, big_label)]
        tail = (f", i.e. compilation ≈ {fmt_time(t_first - t_jax)} (target < 5 s)"
                if kT == temperatures[0] else " (already compiled)")
        print(f"- jaxqpc {big_label}, kT = {kT:g}: {fmt_time(t_jax)} after compilation (target ≤ 0.25 s); "
              f"first call {fmt_time(t_first)}{tail}")
    if args.quick:  # a smaller truncation: the same code, a quicker table
        mode_matched_map(sizes[-1], temperatures, 1, n_modes=12)
    else:
        mode_matched_map(sizes[-1], temperatures, min(args.repeats, 3))


def mode_matched_map(n, temperatures, repeats, n_modes=None):
    """Time the n×n map with the exact transmission (ModeMatchedQPC): its table of T over the whole
    grid, one transport call, the map per point given the (thermally smoothed) table, the first call."""
    model = jaxqpc.ModeMatchedQPC(LENGTH, LEAD_WIDTH, n_modes=n_modes)
    grid = model._grid
    core = _landauer._transport_scalar_kT
    table_of_t = jax.jit(_landauer.transmission_table)
    thermal = jax.jit(_landauer.thermal_table)

    @jax.jit
    def map_given_table(table, mu, bias):  # the part of core after the table
        return _landauer._assemble(mu, bias, *_landauer._blockwise(
            lambda m, b: table.window(grid, m - 0.5 * b, m + 0.5 * b, m), _landauer._BLOCK, mu, bias))

    t = time.perf_counter()
    jax.block_until_ready(table_of_t(model))
    t_table_first = time.perf_counter() - t
    t_table = best_of(lambda: jax.block_until_ready(table_of_t(model)), repeats)
    mu, v = (jnp.asarray(x) for x in make_map(n, n))
    print(f"\nModeMatchedQPC(ℓ = {LENGTH:g}, W = {LEAD_WIDTH:g}): {model.n_modes} channel and {model.n_lead_modes} "
          f"lead modes, {grid.n_pieces} table pieces ({grid.n_pieces * 8} mode-matching solves per table of T): "
          f"the table of T over the whole grid {fmt_time(t_table)} (first call, compile + run: "
          f"{fmt_time(t_table_first)})")
    print("| map | kT/E1 | one transport call (table where the map reaches + map) | map per point, given the table "
          "| first transport call |")
    print("|---|---|---|---|---|")
    for kT in temperatures:
        kT_j = jnp.asarray(kT)
        t = time.perf_counter()
        jax.block_until_ready(core(model, mu, v, kT_j))
        t_first = time.perf_counter() - t
        t_call = best_of(lambda: jax.block_until_ready(core(model, mu, v, kT_j)), repeats)
        table = thermal(model, kT_j, jnp.min(mu - 0.5 * v), jnp.max(mu + 0.5 * v))
        jax.block_until_ready(map_given_table(table, mu, v))
        t_map = best_of(lambda: jax.block_until_ready(map_given_table(table, mu, v)), repeats)
        first = fmt_time(t_first) + (" (compile + run)" if kT == temperatures[0] else " (compiled)")
        print(f"| {n}×{n} | {kT:g} | {fmt_time(t_call)} | {fmt_time(t_map / mu.size)} | {first} |")
    print("(at kT > 0 the call also smooths the table thermally: T at every node times every point of "
          "the thermal rule)")

if __name__ == "__main__":
    main()
