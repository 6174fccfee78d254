"""The default posterior: η integrated out exactly per θ, deterministic quadrature over θ.

The expected counts are linear in the efficiency: μ_i = η s_i(θ) + d_i with
θ = (Lc, R0, h), s_i the signal of row i at η = 1 and d_i its dark counts
(Buret et al. 2020, Eqs. 2–5 and 14–20, through :func:`jaxqpc.photon_counts`).
For fixed θ the Poisson log-likelihood ℓ(η) = Σ_i k_i log(η s_i + d_i) − η Σ_i s_i
+ const is concave in η, so with the uniform prior on η ∈ (0, 1]

    p(k | θ) = ∫_0^1 e^{ℓ(η)} dη

is a smooth one-dimensional integral: the mode η* by projected Newton, the
points where ℓ has dropped by :data:`ETA_DROP` nats on each side by Newton
(monotone for a concave ℓ), and :data:`ETA_NODES`-node Gauss–Legendre on that
bracket. One physics evaluation (the s_i) per θ.

What is left, θ, is three-dimensional (two-dimensional for a fixed h), in the
coordinates

    a = ln R0,   b = ln(Lc / (1.5 R0)) ≤ 0,   c = log₁₀ h ∈ [−3, 3],

in which the domain edges R0 = R0_min and Lc = 1.5 R0 are grid edges and the
log-normal priors of R0 and Lc are normal densities:

    log p(a, b, c | k) = log p(k | θ) + log N(a; ln 1 nm, ln 2)
                         + log N(a + b + ln 1.5; ln 0.3 nm, ln 3) − ln 6 − log C + const,

with C the prior mass left by the truncation to the domain (computed, so the
evidence is properly normalised).

The integral is nested: log₁₀ h is cut into intervals with one *slice* at each
midpoint, and every slice gets its own box in (a, b), because the Lc–R0 ridge
moves with h. A slice's box starts at the prior's support and is zoomed on
:data:`COARSE_CELLS` grids onto the nodes within :data:`ZOOM_NATS` nats of the
slice's best, sheared along the ridge, with one and a half cells of margin; a
side whose outer cell layer still holds such a node (the mass may go on beyond
it) moves out, until no box has to grow. The intervals of h start as
:data:`C_SLICES` equal ones and are halved where the mass of h changes: both
intervals beside a boundary across which the slice evidence changes, weighted
by their combined share of the mass (:data:`SPLIT_TOLERANCE`). The final grid (midpoint rule, :data:`FINE_CELLS`
per slice) gives the cell masses, the evidence, the marginal quantiles of Lc,
R0 and h, the mass at each domain edge, and draws: a cell by its mass, a point
uniformly inside it, η from its exact conditional p(η | θ, k) ∝ e^{ℓ(η)}
(inverse CDF on :data:`ETA_DRAW_NODES` points of the bracket). A second,
coarser grid (:data:`CHECK_CELLS`, on the partition of h before its last
refinement) is the accuracy check that replaces R-hat: the marginal quantiles
of the two grids are compared in probability.

Every compiled function has fixed shapes (slices padded to :data:`MAX_SLICES`,
the physics in chunks of :data:`CHUNK` points, rows padded to a power of two
with a mask), so any dataset of the same row bucket reuses the compilation.
Each step that needs the physics is a generator that yields its points to a
driver (:func:`_run`); the driver evaluates the points of many datasets in one
call, vmapped over the datasets and sharded over devices
(:func:`fit_quadrature_batch`), while the adaptive bookkeeping stays per
dataset on the host. Only the Poisson observation model is
supported here; the MCMC kernels of :mod:`inference.sample` cover the negative
binomial. Method, accuracy and calibration: docs/fitting.md.
"""

import concurrent.futures
import functools
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, ndtr, xlogy

import jaxqpc

from .likelihood import LOG10_H_RANGE, PRIOR, signal_counts
from .optimize import _as_arrays
from .params import MAX_LENGTH_RATIO, PARAM_NAMES, min_radius_nm

__all__ = [
    "QuadraturePosterior",
    "fit_quadrature",
    "fit_quadrature_batch",
    "default_batch_size",
    "log_marginal_eta",
    "merge_rows",
    "as_posterior",
    "diagnostics",
    "evidence_table",
    "ETA_NODES",
    "ETA_DROP",
    "FINE_CELLS",
    "CHECK_CELLS",
    "EVIDENCE_CELLS",
]

ETA_NODES = 24
"""Gauss–Legendre nodes of the η integral per θ."""
ETA_DROP = 30.0
"""The η bracket ends where ℓ(η) has dropped this many nats below its maximum (or at 0, 1)."""
MODE_STEPS = 20
END_STEPS = 10
"""Newton steps to the mode of ℓ(η) and to each end of the bracket (fixed: one compiled loop;
enough for the η integral's accuracy, tests/test_quadrature.py)."""
ETA_DRAW_NODES = 96
"""Points of the inverse-CDF table from which η is drawn for each drawn θ."""
COARSE_CELLS = (16, 16)
"""Cells per axis (a, b) of the zoom levels of every slice."""
C_SLICES = 8
"""Equal intervals of log₁₀ h (one slice each) before they are refined."""
MAX_SLICES = 24
SPLIT_TOLERANCE = 5e-3
"""Both intervals of log₁₀ h beside a boundary are halved while their combined share of the mass
times the change (nats, at most 1) of the slice evidence across it exceeds this."""
ZOOM_LEVELS = 4
"""Zoom levels at least; more while the box still has to grow, up to :data:`MAX_ZOOM_LEVELS`."""
MAX_ZOOM_LEVELS = 16
ZOOM_NATS = 25.0
"""A zoom level keeps the nodes within this many nats of the best one."""
GROW_FRACTION = 0.5
"""A side of the box whose outer layer holds a kept node moves out by this fraction of the kept span."""
FINE_CELLS = (48, 64)
"""Cells per axis (a, b) of the final grid in every slice."""
CHECK_CELLS = (32, 48)
"""Cells per axis (a, b) of the second final grid, the accuracy check (on the partition of h
before the last refinement)."""
EVIDENCE_CELLS = (CHECK_CELLS, (24, 32))
"""(final, check) cells per axis of a fit whose evidence is all that is wanted (``evidence_only``,
e.g. the other heat input of ``jaxqpc fit``): about half the physics of the final grids; the two
grids' difference remains the evidence's error estimate."""
CHUNK = 512
"""θ points per dataset per call of the compiled physics."""
MIN_ROWS = 16
"""Smallest row bucket: merged rows are padded to the next power of two, at least this."""
PRIOR_SIGMAS = 7.0
"""Half-width of the starting box in prior standard deviations of ln R0 and ln Lc."""
QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)
QUANTILE_TOLERANCE = 0.01
"""Largest acceptable difference in probability between the two grids' quantiles."""
EDGE_MASS_WARNING = 1e-5
"""Mass in the outer cell layer of the box (not at a domain edge) above which the box may cut the posterior."""

DECISIVE_LOG_BF = 3.0
"""ln Bayes factor (≈ 20 : 1) above which a side-wall model counts as rejected by the evidence."""

_GL_X, _GL_W = np.polynomial.legendre.leggauss(ETA_NODES)
_LN15 = math.log(MAX_LENGTH_RATIO)
BOOKKEEPING_XLA = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
"""XLA options of small programs that run in milliseconds (the grids' cell centres, zooms, masses and
draws; the prior draws of the InferenceData): their compilation is most of their cost, so the backend's
optimisation passes are skipped (the physics keeps XLA's defaults)."""

_TINY = 1e-300


# ---------------------------------------------------------------------------
# η integrated out
# ---------------------------------------------------------------------------
def _ell(eta, s, d, k):
    """ℓ(η) without its η-independent constant; ``eta`` (...,) against rows (..., n)."""
    return jnp.sum(xlogy(k, eta[..., None] * s + d) - eta[..., None] * s, axis=-1)


def _ell_derivatives(eta, s, d, k):
    mu = jnp.maximum(eta * s + d, _TINY)
    r = k * s / mu
    return jnp.sum(r) - jnp.sum(s), -jnp.sum(r * s / mu)


def _newton_root(g_and_slope, x0, lo, hi, steps):
    def body(_, x):
        g, slope = g_and_slope(x)
        step = jnp.where(slope != 0, g / slope, 0.0)
        return jnp.clip(x - jnp.where(jnp.isfinite(step), step, 0.0), lo, hi)

    return jax.lax.fori_loop(0, steps, body, x0)


def _eta_bracket(s, d, k):
    """(η*, ℓ(η*), lower end, upper end) of the η integral for one θ (rows in the last axis)."""
    total_s = jnp.sum(s)
    floor = 1e-12
    start = jnp.clip((jnp.sum(k) - jnp.sum(d)) / jnp.maximum(total_s, _TINY), floor, 1.0)
    mode = _newton_root(lambda x: _ell_derivatives(x, s, d, k), start, floor, 1.0, MODE_STEPS)
    top = _ell(mode, s, d, k)
    _, curv = _ell_derivatives(mode, s, d, k)
    sigma = 1.0 / jnp.sqrt(jnp.maximum(-curv, _TINY))

    def drop(x):  # ℓ(x) − ℓ* + DROP and its slope
        g1, _ = _ell_derivatives(x, s, d, k)
        return _ell(x, s, d, k) - top + ETA_DROP, g1

    # right end: Newton from the right of the root converges monotonically (ℓ concave)
    r0 = jnp.minimum(mode + 12.0 * sigma, 1.0)
    r0 = jnp.where(drop(r0)[0] < 0, r0, 1.0)
    right = jnp.where(drop(jnp.asarray(1.0))[0] >= 0, 1.0,
                      _newton_root(drop, r0, mode, 1.0, END_STEPS))
    # left end: from the left of the root, likewise
    l0 = jnp.maximum(mode - 12.0 * sigma, mode * 1e-8)
    l0 = jnp.where(drop(l0)[0] < 0, l0, mode * 1e-8)
    left = jnp.where(drop(mode * 1e-8)[0] >= 0, 0.0, _newton_root(drop, l0, mode * 1e-8, mode, END_STEPS))
    return mode, top, left, right


def log_marginal_eta(s, d, k):
    """log ∫_0^1 Π_i Poisson(k_i | η s_i + d_i) dη for one θ (rows in the last axis).

    Args:
        s: signal counts of each row at η = 1. d: dark counts of each row. k: observed counts.
    Returns:
        (log integral, η*, bracket lower end, bracket upper end).
    """
    mode, top, left, right = _eta_bracket(s, d, k)
    half = 0.5 * (right - left)
    nodes = left + half * (jnp.asarray(_GL_X) + 1.0)
    values = _ell(nodes, s, d, k) - top
    log_int = top + jnp.log(jnp.sum(jnp.asarray(_GL_W) * half * jnp.exp(values)))
    const = -jnp.sum(d) - jnp.sum(gammaln(k + 1.0))
    return log_int + const, mode, left, right


# ---------------------------------------------------------------------------
# θ on grids
# ---------------------------------------------------------------------------
def _prior_hyper():
    (_, lc_med, lc_sig), (_, r0_med, r0_sig) = PRIOR["Lc"][:3], PRIOR["R0"][:3]
    return math.log(r0_med), r0_sig, math.log(lc_med), lc_sig


def _log_normal_density(x, mean, sigma):
    z = (x - mean) / sigma
    return -0.5 * z * z - math.log(sigma * math.sqrt(2.0 * math.pi))


@jax.jit
def _log_truncation_mass(a_min):
    """log C: prior mass of R0 ≥ R0_min and Lc ≤ 1.5 R0 under the untruncated log-normals."""
    ma, sa, mb, sb = _prior_hyper()
    x, w = np.polynomial.legendre.leggauss(200)
    hi = ma + 12.0 * sa
    lo = jnp.minimum(a_min, hi)
    a = lo + 0.5 * (hi - lo) * (jnp.asarray(x) + 1.0)
    dens = jnp.exp(_log_normal_density(a, ma, sa)) * ndtr((a + _LN15 - mb) / sb)
    return jnp.log(0.5 * (hi - lo) * jnp.sum(jnp.asarray(w) * dens))


def _theta(a, b, c, xp=jnp):
    """(R0, Lc, h) at (a, b, c); ``xp=np`` for host arrays (no compilation)."""
    r0 = xp.exp(a)
    return {"R0": r0, "Lc": MAX_LENGTH_RATIO * r0 * xp.exp(b), "h": 10.0 ** c}


def _evaluate(points, data, table):
    """log p(a, b, c | k) up to the evidence, and the signal s (η = 1) of every row, at ``points`` (n, 3).

    The only place the physics is compiled: every grid, every model (a fixed h is c = log₁₀ h,
    ±∞ allowed, with ``h_free`` false) and the draws go through it. ``data`` is one dataset's
    :class:`_Rows` (padded rows carry s = d = k = 0 and add exactly 0 to every log-likelihood).
    """
    ma, sa, mb, sb = _prior_hyper()
    rows = data.rows
    dark = rows.bin_time * rows.dark_rate_per_row * data.mask

    def one(p):
        a, b, c = p[0], p[1], p[2]
        theta = _theta(a, b, c)
        s = signal_counts(theta, rows, table, data.n_det) * data.mask
        lp = (log_marginal_eta(s, dark, rows.counts)[0] + _log_normal_density(a, ma, sa)
              + _log_normal_density(a + b + _LN15, mb, sb) - data.log_c
              - jnp.where(data.h_free, math.log(LOG10_H_RANGE[1] - LOG10_H_RANGE[0]), 0.0))
        inside = (a >= data.a_min) & (b <= 0.0)
        return jnp.where(inside & jnp.isfinite(lp), lp, -jnp.inf), s

    return jax.vmap(one)(points)


@jax.jit
def _log_post_batch(points, data, table):
    """:func:`_evaluate` vmapped over datasets: points (B, n, 3), every leaf of ``data`` (B, ...);
    returns (lp (B, n), s (B, n, rows)). One program for every use (the signals cost nothing more)."""
    return jax.vmap(lambda p, d: _evaluate(p, d, table))(points, data)


class _Rows(eqx.Module):
    """One dataset as the compiled physics sees it: rows padded to a bucket size, with a mask.

    ``rows``: the merged rows as arrays (metadata too, so one compilation serves any dataset with
    the same padded shape), the padded ones copies of the first row; ``mask`` 1 for real rows, 0
    for padding; ``n_det`` the number of detectors (η/n_det per detector; ``dark_rate`` may be
    padded with zeros); the model: ``h_free``, ``a_min`` = ln R0_min, ``log_c`` (log C).
    """

    rows: eqx.Module
    mask: jax.Array
    n_det: jax.Array
    h_free: jax.Array
    a_min: jax.Array
    log_c: jax.Array


def _row_bucket(n):
    """Rows after padding: the next power of two, at least :data:`MIN_ROWS` (few compiled shapes)."""
    return max(MIN_ROWS, 1 << (int(n) - 1).bit_length())


def _prepare(dataset, h, n_rows, n_det):
    """(:class:`_Rows` of the merged dataset padded to ``n_rows`` rows and ``n_det`` detectors,
    a_min, the log-likelihood offset of the merge)."""
    merged, offset = merge_rows(dataset)
    arrays = _as_arrays(merged, np)  # host arrays: stacked into a batch, placed once by _run
    a_min = float(np.log(min_radius_nm(merged)))
    n = merged.n_rows
    pad = lambda x, fill: np.concatenate([np.asarray(x), np.broadcast_to(fill, (n_rows - n,))])
    rows = eqx.tree_at(
        lambda r: (r.power, r.counts, r.bin_time, r.detector, r.heat_fraction, r.dark_rate), arrays,
        (pad(arrays.power, arrays.power[0]), pad(arrays.counts, 0.0), pad(arrays.bin_time, arrays.bin_time[0]),
         pad(arrays.detector, 0), pad(arrays.heat_fraction, arrays.heat_fraction[0]),
         np.concatenate([np.asarray(arrays.dark_rate), np.zeros(n_det - len(merged.dark_rate))])))
    data = _Rows(rows=rows, mask=pad(np.ones(n), 0.0), n_det=np.asarray(float(len(merged.dark_rate))),
                 h_free=np.asarray(h is None), a_min=np.asarray(a_min),
                 log_c=np.asarray(_log_truncation_mass(a_min)))
    return data, a_min, offset


def _run(programs, data, table, devices=None):
    """Run the quadrature ``programs`` (generators, one per dataset) in lockstep.

    A program yields ``(points (n, 3), want_signal)`` whenever it needs the log posterior (and the
    signals s) at points and receives ``lp`` (or ``(lp, s)``); its return value is collected. Each
    round evaluates every waiting program's points in one compiled call, vmapped over the datasets
    (``data``: the stacked :class:`_Rows`, leading axis B), in chunks of :data:`CHUNK` points per
    dataset, so the physics of all datasets runs together (and on several ``devices``, sharded
    along the datasets). Host-side bookkeeping stays per dataset, in NumPy.
    """
    n_batch = jax.tree.leaves(data)[0].shape[0]  # ≥ len(programs): padded for the devices
    results, waiting = [None] * len(programs), {}

    def advance(i, value):
        try:
            waiting[i] = programs[i].send(value)
        except StopIteration as stop:
            results[i] = stop.value
            waiting.pop(i, None)

    for i in range(len(programs)):
        advance(i, None)
    place = _placement([jax.local_devices()[0]] if devices is None else devices)
    data = place(data)
    while waiting:
        n = max(p.shape[0] for p, _ in waiting.values())
        n += (-n) % CHUNK
        points = np.zeros((n_batch, n, 3))  # the idle datasets' stand-ins: R0 = 1 nm, Lc = 0.55 nm, h = 1
        points[:, :, 1] = -1.0
        for i, (p, _) in waiting.items():
            p = np.asarray(p)
            points[i] = np.concatenate([p, np.broadcast_to(p[:1], (n - p.shape[0], 3))])
        chunks = [_log_post_batch(place(points[:, j:j + CHUNK]), data, table)
                  for j in range(0, n, CHUNK)]
        lp = np.concatenate([np.asarray(c[0]) for c in chunks], axis=1)
        want_signal = any(w for _, w in waiting.values())
        sig = np.concatenate([np.asarray(c[1]) for c in chunks], axis=1) if want_signal else None
        for i, (p, w) in list(waiting.items()):
            m = p.shape[0]
            advance(i, (lp[i, :m], sig[i, :m]) if w else lp[i, :m])
    return results


class _Slices(eqx.Module):
    """The integration regions of the h slices (leading axis S, one slice per value of c).

    In slice s: c = c_s; a ∈ [a_s0, a_s1]; b = κ_s (a − a_ref,s) + r with r ∈ [r_s0, r_s1], capped
    at b ≤ 0 (Lc ≤ 1.5 R0, an exact edge of every column). The shear κ_s follows the slice's
    Lc–R0 ridge, so the cells across it stay fine; each slice has its own box because the ridge
    moves with h.
    """

    a: jax.Array      # (S, 2)
    r: jax.Array      # (S, 2)
    kappa: jax.Array  # (S,)
    a_ref: jax.Array  # (S,)
    c: jax.Array      # (S,)


def _column(sl, a):
    """Lower and upper b of the columns at ``a`` in one slice (the upper end capped at b = 0)."""
    shift = sl.kappa * (a - sl.a_ref)
    return jnp.minimum(shift + sl.r[0], -1e-9), jnp.minimum(shift + sl.r[1], 0.0)


def _slice_grid(sl, na, nb):
    da = (sl.a[1] - sl.a[0]) / na
    a = sl.a[0] + da * (jnp.arange(na) + 0.5)
    lo, hi = _column(sl, a)
    b = lo[:, None] + (hi - lo)[:, None] * ((jnp.arange(nb) + 0.5) / nb)[None, :]     # (na, nb)
    shape = (na, nb)
    points = jnp.stack([jnp.broadcast_to(a[:, None], shape), b, jnp.full(shape, sl.c)], axis=-1)
    log_vol = jnp.broadcast_to((jnp.log(da / nb) + jnp.log(hi - lo))[:, None], shape)
    return points.reshape(-1, 3), log_vol.reshape(-1)


@functools.partial(jax.jit, static_argnames=("cells",), compiler_options=BOOKKEEPING_XLA)
def _grid(slices, cells):
    """Cell centres (S, n, 3) and log cell areas in (a, b) (S, n) of every slice, ``cells`` = (n_a, n_b)."""
    return jax.vmap(lambda sl: _slice_grid(sl, *cells))(slices)


def _pad(tree, fill=None):
    """Every leaf's leading (slice) axis padded to :data:`MAX_SLICES` with copies of its first
    entry (or ``fill``): one compiled shape serves any number of slices."""
    def one(x):
        x = np.asarray(x)
        extra = (MAX_SLICES - x.shape[0],) + x.shape[1:]
        return np.concatenate([x, np.broadcast_to(x[:1] if fill is None else np.asarray(fill, x.dtype), extra)])

    return jax.tree.map(one, tree)


def _unpad(tree, n):
    return jax.tree.map(lambda x: np.asarray(x)[:n], tree)


def _log_post_grid(slices, cells):
    """Cell centres, log areas and log posterior of every slice's grid (only the real slices are
    evaluated). A generator, like every step of a fit below: it yields the points at which it needs
    the log posterior to the driver (:func:`_run`)."""
    n = slices.c.shape[0]
    points, log_vol = _unpad(_grid(_pad(slices), cells), n)
    lp = yield points.reshape(-1, 3), False
    return points, log_vol, lp.reshape(log_vol.shape)


def _start_slices(a_min, c):
    """Boxes of :data:`PRIOR_SIGMAS` prior standard deviations at the values ``c`` of log₁₀ h."""
    ma, sa, mb, sb = _prior_hyper()
    a_hi = max(a_min, ma) + PRIOR_SIGMAS * sa
    b_lo = mb - PRIOR_SIGMAS * sb - _LN15 - a_hi
    ones = np.ones_like(np.asarray(c, dtype=float))
    return _Slices(a=np.stack([a_min * ones, a_hi * ones], -1), r=np.stack([b_lo * ones, 0.0 * ones], -1),
                   kappa=0.0 * ones, a_ref=a_min * ones, c=ones * c)


def _reslice(slices, c):
    """Slices at the values ``c``, each starting from the box of the nearest slice of ``slices``."""
    nearest = np.argmin(np.abs(c[:, None] - slices.c[None, :]), axis=1)
    return _Slices(a=slices.a[nearest], r=slices.r[nearest], kappa=slices.kappa[nearest],
                   a_ref=slices.a_ref[nearest], c=c)


def _slice_zoom(sl, points, lp, log_vol, na, nb, a_min):
    """One slice's next box, whether it had to grow, and its log evidence on this grid."""
    top = jnp.max(lp)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    keep = lp >= top - ZOOM_NATS
    w = jnp.exp(lp - top)
    w = w / jnp.maximum(jnp.sum(w), _TINY)
    mean = jnp.sum(w[:, None] * points[:, :2], axis=0)
    d = points[:, :2] - mean
    cov = (w[:, None] * d).T @ d
    kappa = jnp.where(cov[0, 0] > 0, cov[0, 1] / jnp.maximum(cov[0, 0], _TINY), 0.0)
    a, b = points[:, 0], points[:, 1]
    r = b - kappa * (a - mean[0])
    ia, ib = jnp.arange(a.shape[0]) // nb, jnp.arange(a.shape[0]) % nb
    da = (sl.a[1] - sl.a[0]) / na
    lo_b, hi_b = _column(sl, a)
    db = jnp.max(jnp.where(keep, (hi_b - lo_b) / nb, 0.0))

    def span(x, step, lo_limit, grow_lo, grow_hi):
        lo = jnp.min(jnp.where(keep, x, jnp.inf)) - 1.5 * step
        hi = jnp.max(jnp.where(keep, x, -jnp.inf)) + 1.5 * step
        extra = GROW_FRACTION * (hi - lo)
        return jnp.stack([jnp.maximum(lo - jnp.where(grow_lo, extra, 0.0), lo_limit),
                          hi + jnp.where(grow_hi, extra, 0.0)])

    grow = jnp.stack([(sl.a[0] > a_min) & jnp.any(keep & (ia == 0)), jnp.any(keep & (ia == na - 1)),
                      jnp.any(keep & (ib == 0)), jnp.any(keep & (ib == nb - 1) & (hi_b < 0.0))])
    new = _Slices(a=span(a, da, a_min, grow[0], grow[1]),
                  r=span(r, db + jnp.abs(kappa) * da, -jnp.inf, grow[2], grow[3]),
                  kappa=kappa, a_ref=mean[0], c=sl.c)
    log_z = jax.scipy.special.logsumexp(lp + log_vol)
    return new, jnp.any(grow), log_z


@functools.partial(jax.jit, static_argnames=("cells",), compiler_options=BOOKKEEPING_XLA)
def _zoom(slices, points, lp, log_vol, cells, a_min):
    """:func:`_slice_zoom` of every slice: the nodes within :data:`ZOOM_NATS` of the slice's best
    are kept; the new box is sheared along the (a, b) ridge of their mass and spans them with one
    and a half cells of margin; a side whose outer cell layer holds a kept node (the mass may
    continue beyond it; never a domain edge) moves out further, by :data:`GROW_FRACTION` of the span."""
    return jax.vmap(lambda *x: _slice_zoom(*x, *cells, a_min))(slices, points, lp, log_vol)


def _zoom_slices(slices, a_min, min_levels):
    """Zoom every slice on :data:`COARSE_CELLS` grids: at least ``min_levels`` levels, then until no
    box has to grow (at most :data:`MAX_ZOOM_LEVELS`). Returns the boxes and each slice's log evidence
    on its last grid."""
    for level in range(MAX_ZOOM_LEVELS):
        points, log_vol, lp = yield from _log_post_grid(slices, COARSE_CELLS)
        n = slices.c.shape[0]
        slices, grew, log_z = _unpad(_zoom(*_pad((slices, points, lp, log_vol)), COARSE_CELLS, a_min), n)
        if level + 1 >= min_levels and not np.any(grew):
            break
    return slices, log_z


def _select(slices, index):
    return jax.tree.map(lambda x: x[index], slices)


def _concat(*parts):
    return jax.tree.map(lambda *x: np.concatenate(x), *parts)


def _h_partition(a_min):
    """Intervals of log₁₀ h (one slice at each midpoint), refined where the mass of h changes.

    :data:`C_SLICES` equal intervals over the prior's range, each slice zoomed in (a, b); then, in
    rounds, both intervals beside a boundary are halved when their combined share of the mass times
    the change of the slice evidence across it (nats, up to 1) exceeds :data:`SPLIT_TOLERANCE`, and
    the new slices zoomed from their parent's box, until no boundary does, or :data:`MAX_SLICES`
    slices are reached (the highest scores split first). Scoring boundaries, not intervals, matters
    when a narrow posterior peaks at a boundary: the interval on its far side, judged at its
    midpoint only, looks empty, yet holds up to half the mass.
    Returns (slices, lower ends, upper ends) of the final partition and of the one before the
    last round of splits (the accuracy check's; the same partition when nothing was split).
    """
    lo_h, hi_h = LOG10_H_RANGE
    edges = np.linspace(lo_h, hi_h, C_SLICES + 1)
    lo, hi = edges[:-1], edges[1:]
    slices, log_z = yield from _zoom_slices(_start_slices(a_min, 0.5 * (lo + hi)), a_min, ZOOM_LEVELS)
    log_z = np.asarray(log_z)
    previous = (slices, lo, hi)
    while True:
        log_m = log_z + np.log(hi - lo)
        share = np.exp(log_m - np.logaddexp.reduce(log_m))
        # each boundary: the two neighbours' share times the change across it; both neighbours halved
        pair = (share[:-1] + share[1:]) * np.minimum(np.abs(np.diff(log_z)), 1.0)
        score = np.maximum(np.append(pair, 0.0), np.insert(pair, 0, 0.0))
        split = np.argsort(-score)[:MAX_SLICES - len(lo)]
        split = np.sort(split[score[split] > SPLIT_TOLERANCE])
        if split.size == 0:
            return (slices, lo, hi), previous
        previous = (slices, lo, hi)
        mid = 0.5 * (lo[split] + hi[split])
        child_lo, child_hi = np.concatenate([lo[split], mid]), np.concatenate([mid, hi[split]])
        parent = np.concatenate([split, split])
        children = _Slices(a=slices.a[parent], r=slices.r[parent], kappa=slices.kappa[parent],
                           a_ref=slices.a_ref[parent], c=0.5 * (child_lo + child_hi))
        children, child_z = yield from _zoom_slices(children, a_min, 1)
        keep = np.setdiff1d(np.arange(len(lo)), split)
        lo, hi = np.concatenate([lo[keep], child_lo]), np.concatenate([hi[keep], child_hi])
        slices = _concat(_select(slices, keep), children)
        log_z = np.concatenate([log_z[keep], np.asarray(child_z)])
        order = np.argsort(lo)
        lo, hi, log_z, slices = lo[order], hi[order], log_z[order], _select(slices, order)


@functools.partial(jax.jit, static_argnames=("cells",), compiler_options=BOOKKEEPING_XLA)
def _masses(slices, points, lp, log_vol, log_dc, dc, cells):
    """Cell masses, log evidence, each cell's extent in (ln R0, ln Lc, log₁₀ h) and the masses in
    the outer cell layers of the boxes: the largest one that is not a domain edge, and those at the
    domain edges R0 = R0_min, Lc = 1.5 R0 (h's ends are handled by the caller). ``log_dc``, ``dc``:
    (S, 1) and (S,) widths of the slices in log₁₀ h (zeros for a fixed h)."""
    na, nb = cells
    mass = lp + log_vol + log_dc
    log_z = jax.scipy.special.logsumexp(mass)
    w = jnp.exp(mass - log_z)
    da = (slices.a[:, 1] - slices.a[:, 0]) / na                                     # (S,)
    lo_b, hi_b = jax.vmap(_column)(slices, points[..., 0])                          # (S, n)
    db = (hi_b - lo_b) / nb
    centre = jnp.stack([points[..., 0], points[..., 0] + points[..., 1] + _LN15, points[..., 2]], axis=-1)
    half = 0.5 * jnp.stack([jnp.broadcast_to(da[:, None], db.shape),
                            jnp.abs(1.0 + slices.kappa)[:, None] * da[:, None] + db,
                            jnp.broadcast_to(dc[:, None], db.shape)], axis=-1)
    layers = w.reshape(-1, na, nb)
    top = layers[:, :, -1]
    top_edge = (hi_b >= 0.0).reshape(-1, na, nb)[:, :, -1]
    a_low = jnp.sum(layers[:, 0, :], axis=-1)
    return {"log_mass": mass, "log_z": log_z, "w": w, "lo": centre - half, "hi": centre + half,
            "a_low": a_low, "a_high": jnp.sum(layers[:, -1, :], axis=-1),
            "b_low": jnp.sum(layers[:, :, 0], axis=-1),
            "b_high_free": jnp.sum(jnp.where(top_edge, 0.0, top), axis=-1),
            "b_high_edge": jnp.sum(jnp.where(top_edge, top, 0.0), axis=-1),
            "slice": jnp.sum(layers, axis=(1, 2))}


def _cdf_table(lo, hi, w):
    """The CDF of a mixture of uniform densities on [lo_i, hi_i] with weights w_i (cell masses),
    exactly: it is piecewise linear between the sorted ends, where its slope changes by ±w_i/width_i.
    Returns (ends, CDF at the ends); O(n log n) time and O(n) memory (NumPy: per dataset, on the host)."""
    lo, hi, w = (np.asarray(x, dtype=float) for x in (lo, hi, w))
    width = np.maximum(hi - lo, 1e-12)
    x = np.concatenate([lo, hi])
    dslope = np.concatenate([w / width, -w / width])
    order = np.argsort(x, kind="stable")
    x, slope = x[order], np.cumsum(dslope[order])
    cdf = np.concatenate([np.zeros(1), np.cumsum(slope[:-1] * np.diff(x))])
    return x, cdf / cdf[-1]


def _soft_cdf(q, lo, hi, w):
    """CDF at ``q`` of the mixture of uniforms (:func:`_cdf_table`)."""
    x, cdf = _cdf_table(lo, hi, w)
    return np.interp(q, x, cdf)


def _soft_quantiles(lo, hi, w, probs):
    x, cdf = _cdf_table(lo, hi, w)
    return np.interp(np.asarray(probs), cdf, x)


def _marginals(fine, check, n_axes):
    """The fine grid's quantiles of ln R0, ln Lc[, log₁₀ h] (the first ``n_axes``) and, per axis, the
    check grid's quantiles located in the fine grid's CDF: max |F_fine(q_check) − p| (the accuracy check)."""
    probs = np.asarray(QUANTILES)
    quantiles, shifts = [], []
    for i in range(n_axes):
        f, c = ((g["lo"][:, i], g["hi"][:, i], g["w"]) for g in (fine, check))
        quantiles.append(_soft_quantiles(*f, probs))
        shifts.append(np.max(np.abs(_soft_cdf(_soft_quantiles(*c, probs), *f) - probs)))
    return np.stack(quantiles), np.stack(shifts)


def _final_grid(partition, cells):
    """Cell masses of a final grid: ``partition`` = (slices, lower ends, upper ends in log₁₀ h,
    or None for a fixed h), the slices already zoomed, then ``cells`` in (a, b) per slice."""
    slices, lo, hi = partition
    points, log_vol, lp = yield from _log_post_grid(slices, cells)
    n = slices.c.shape[0]
    dc = np.zeros(1) if lo is None else hi - lo
    log_dc = np.zeros((1, 1)) if lo is None else np.log(dc)[:, None]
    padded = _masses(_pad(slices), _pad(points), _pad(lp, -np.inf), _pad(log_vol), _pad(log_dc), _pad(dc),
                     cells)
    out = {k: np.asarray(v) for k, v in padded.items()}
    flat = {k: out[k][:n].reshape((-1,) + out[k].shape[2:]) for k in ("log_mass", "w", "lo", "hi")}
    per_slice = {k: v[:n] for k, v in out.items() if k not in flat and k != "log_z"}
    return flat | per_slice | {"log_z": float(out["log_z"]), "slices": slices, "dc": dc, "cells": cells}


def _posterior_grid(a_min, h, cells=None):
    """Zoomed slices, final and check grids of one dataset (a generator, see :func:`_run`): a dict
    (see :func:`fit_quadrature`). ``a_min`` = ln R0_min; ``h`` None (free) or fixed; ``cells`` the
    (final, check) cells per axis (default :data:`FINE_CELLS`, :data:`CHECK_CELLS`)."""
    cells = (FINE_CELLS, CHECK_CELLS) if cells is None else cells
    h_free = h is None
    if h_free:
        fine_partition, check_partition = yield from _h_partition(a_min)
        c_lo, c_hi = fine_partition[1][0], fine_partition[2][-1]
    else:
        with np.errstate(divide="ignore"):
            c = float(np.log10(h))
        stage, _ = yield from _zoom_slices(_start_slices(a_min, np.asarray([c])), a_min, ZOOM_LEVELS)
        fine_partition = check_partition = (stage, None, None)
    # each partition's slices zoomed once more; the check shares the fine grid's when nothing was split
    fine_slices, _ = yield from _zoom_slices(fine_partition[0], a_min, 1)
    if check_partition[0] is fine_partition[0]:
        check_slices = fine_slices
    else:
        check_slices, _ = yield from _zoom_slices(check_partition[0], a_min, 1)
    fine = yield from _final_grid((fine_slices, *fine_partition[1:]), cells[0])
    check = yield from _final_grid((check_slices, *check_partition[1:]), cells[1])
    quantiles, shifts = _marginals(fine, check, 3 if h_free else 2)
    at_min = np.asarray(fine["slices"].a[:, 0]) <= float(a_min)
    free = [np.sum(np.where(at_min, 0.0, fine["a_low"])), np.sum(fine["a_high"]), np.sum(fine["b_low"]),
            np.sum(fine["b_high_free"])]
    edges = [np.sum(np.where(at_min, fine["a_low"], 0.0)), np.sum(fine["b_high_edge"])]
    if h_free:
        lo_h, hi_h = LOG10_H_RANGE
        first, last = fine["slice"][0], fine["slice"][-1]
        free += [0.0 if c_lo <= lo_h else first, 0.0 if c_hi >= hi_h else last]
        edges += [first if c_lo <= lo_h else 0.0, last if c_hi >= hi_h else 0.0]
    return {"log_z": float(fine["log_z"]), "check_log_z": float(check["log_z"]),
            "quantile_shift": np.asarray(shifts), "quantiles": np.asarray(quantiles),
            "outer_mass": float(max(free)), "edge_mass": np.asarray(edges), "fine": fine}


def _draw_table(log_mass, cells):
    """A final grid's cell log masses (slices · cells, flat) as :func:`_draw_points` takes them:
    (:data:`MAX_SLICES`, at least the cells of :data:`FINE_CELLS`), −∞ in the padding, so that one
    compiled program draws from the grids of every resolution."""
    na, nb = cells
    per_slice = np.asarray(log_mass).reshape(-1, na * nb)
    out = np.full((MAX_SLICES, _draw_width(cells)), -np.inf)
    out[:per_slice.shape[0], :na * nb] = per_slice
    return out


def _draw_width(cells):
    """Cells per slice of :func:`_draw_table` for a grid of ``cells``: those of :data:`FINE_CELLS`
    (or more, for a finer grid)."""
    return max(FINE_CELLS[0] * FINE_CELLS[1], cells[0] * cells[1])


@functools.partial(jax.jit, static_argnames="n", compiler_options=BOOKKEEPING_XLA)
def _draw_points(key, slices, log_mass, dc, cells, n):
    """``n`` points (a, b, c): a cell by its mass, then uniformly in its coordinates (slice, column).

    ``slices`` and ``dc`` padded to :data:`MAX_SLICES`; ``log_mass`` from :func:`_draw_table`;
    ``cells`` = (n_a, n_b) of the grid (an array: any resolution, one program)."""
    na, nb = cells[0], cells[1]
    stride = log_mass.shape[1]
    k_cell, k_jit = jax.random.split(key)
    log_mass = log_mass.reshape(-1)
    cdf = jnp.cumsum(jnp.exp(log_mass - jnp.max(log_mass)))
    cell = jnp.searchsorted(cdf, jax.random.uniform(k_cell, (n,)) * cdf[-1], side="right")
    cell = jnp.minimum(cell, log_mass.shape[0] - 1)  # inverse CDF of the cell masses
    s, j = cell // stride, cell % stride
    u = jax.random.uniform(k_jit, (n, 3))
    sl = jax.tree.map(lambda x: x[s], slices)
    a = sl.a[:, 0] + (j // nb + u[:, 0]) * (sl.a[:, 1] - sl.a[:, 0]) / na
    lo, hi = jax.vmap(_column)(sl, a)
    b = lo + (j % nb + u[:, 1]) / nb * (hi - lo)
    return jnp.stack([a, b, sl.c + (u[:, 2] - 0.5) * dc[s]], axis=-1)


@functools.partial(jax.jit, compiler_options=BOOKKEEPING_XLA)
def _draw_eta(u, s, dark, counts):
    """η from its exact conditional p(η | θ, k) ∝ e^{ℓ(η)} by inverse CDF (one per row of ``s``)."""
    def one(ui, si):
        _, _, left, right = _eta_bracket(si, dark, counts)
        x = jnp.linspace(left, right, ETA_DRAW_NODES)
        ell = _ell(x, si, dark, counts)
        dens = jnp.exp(ell - jnp.max(ell))
        cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * (dens[1:] + dens[:-1]) * jnp.diff(x))])
        return jnp.interp(ui * cdf[-1], cdf, x)

    return jax.vmap(one)(u, s)


def _draws(key, grid, n, data):
    """``n`` draws of (η, Lc, R0, h) from the fine grid (a generator, see :func:`_run`), and the
    merged rows' signals s at them."""
    fine = grid["fine"]
    k_points, k_eta = jax.random.split(key)
    points = np.asarray(_draw_points(k_points, _pad(fine["slices"]), _draw_table(fine["log_mass"], fine["cells"]),
                                     _pad(fine["dc"]), np.asarray(fine["cells"]), n))
    _, s = yield points, True
    rows = data.rows
    eta = _draw_eta(jax.random.uniform(k_eta, (n,)), s, rows.bin_time * rows.dark_rate_per_row * data.mask,
                    rows.counts)
    return {"eta": np.asarray(eta), **_theta(points[:, 0], points[:, 1], points[:, 2], xp=np)}, np.asarray(s)


def _expected_counts(eta, s, dataset):
    """Expected counts μ_i (n, rows) of the dataset's own rows at draws with efficiency ``eta`` (n,)
    and merged-row signals ``s`` (n, ≥ merged rows; η = 1, counting time m t): row i of merged row g
    has μ_i = η s_g / m_g + t_i dark_i, exactly what :func:`inference.sample.expected_counts_draws`
    computes again from the physics."""
    _, _, (group, m) = _merge(dataset)
    dark = np.asarray(dataset.bin_time, dtype=float) * np.asarray(dataset.dark_rate, dtype=float)[
        np.asarray(dataset.detector)]
    return eta[:, None] * (s[:, group] / m[group]) + dark


def _fit_program(key, data, a_min, offset, h, n_draws, t0, dataset, cells):
    """One dataset's whole fit (a generator, see :func:`_run`): grids, draws, summary."""
    grid = yield from _posterior_grid(a_min, h, cells)
    grid["log_z"] = grid["log_z"] + offset
    grid["check_log_z"] = grid["check_log_z"] + offset
    draws, s = yield from _draws(key, grid, n_draws, data)
    params = {k: np.asarray(draws[k]) for k in PARAM_NAMES}
    return _summarise(grid, params, h, time.perf_counter() - t0,
                      expected=_expected_counts(params["eta"], s, dataset))


class QuadraturePosterior(eqx.Module):
    """Result of :func:`fit_quadrature` (NumPy arrays and floats).

    Attributes:
        params: dict name → draws (n,) of η, Lc (nm), R0 (nm), h.
        h_model: ``"free"`` or the fixed value of h.
        log_evidence: log p(k | model), the marginal likelihood (properly normalised prior).
        log_evidence_error: |log Z(fine grid) − log Z(check grid)|, the numerical error estimate.
        quantiles: dict name → the :data:`QUANTILES` of Lc, R0 (nm) and h from the grid's
            marginals (exact to the grid's resolution); η's from the draws.
        quantile_shift: largest |F_fine(q_check) − p| over the quantiles, for ln R0,
            ln Lc[, log₁₀ h]: the accuracy check (≤ :data:`QUANTILE_TOLERANCE`).
        edge_mass: dict edge → posterior mass in the outer cell layer at that domain edge.
        outer_mass: largest mass in an outer cell layer of the box that is not a domain edge.
        warnings: list of strings.
        wall_s: wall time of the call (compilation included on the first call).
        expected: (n, rows) expected counts μ_i of the dataset's rows at each draw (dark counts
            included), from the signals the fit computed; None for :mod:`inference.hierarchical`'s.
    """

    params: dict
    h_model: object = eqx.field(static=True)
    log_evidence: float = eqx.field(static=True)
    log_evidence_error: float = eqx.field(static=True)
    quantiles: dict = eqx.field(static=True)
    quantile_shift: tuple = eqx.field(static=True)
    edge_mass: dict = eqx.field(static=True)
    outer_mass: float = eqx.field(static=True)
    warnings: tuple = eqx.field(static=True)
    wall_s: float = eqx.field(static=True)
    expected: object = None

    def flat(self):
        """The draws: dict name → (n,)."""
        return self.params


EDGES = ("R0 = R0_min", "Lc = 1.5 R0", "h = 1e-3", "h = 1e3")


def fit_quadrature(dataset, *, key, table=None, h=None, n_draws=4000, evidence_only=False):
    """Posterior of (η, Lc, R0, h) by η integrated out and deterministic quadrature over θ.

    Args:
        dataset: :class:`~inference.dataset.Dataset` (Poisson counts).
        key: ``jax.random`` key for the draws (the grid itself is deterministic).
        table: prebuilt :class:`jaxqpc.YieldTable` (default: built here).
        h: ``None`` (h free, log-uniform prior on [10⁻³, 10³]) or a fixed value
            0 ≤ h ≤ ∞ (e.g. ``0.0`` for the corrected Eq. 5, ``jnp.inf`` for Eq. 4).
        n_draws: number of posterior draws returned (summaries, ArviZ, plots).
        evidence_only: the fit serves a model comparison only: coarser final grids
            (:data:`EVIDENCE_CELLS`, about half the physics evaluations of the final grids), whose
            ``log_evidence_error`` still bounds the evidence's error; quantiles and draws are those
            of the coarser grid.
    Returns:
        :class:`QuadraturePosterior`.
    """
    return _fit_many([dataset], [key], table, h, n_draws, evidence_only)[0]


def fit_quadrature_batch(datasets, *, key, table=None, h=None, n_draws=4000, evidence_only=False, batch_size=None,
                         devices=None, progress=False):
    """:func:`fit_quadrature` of many datasets, their physics evaluated together.

    The datasets may differ in everything: rows, detectors, circuit, heat input. Each is merged
    (:func:`merge_rows`) and padded to a bucket of rows (the next power of two, at least
    :data:`MIN_ROWS`) with a mask, so a few compiled shapes serve any fleet; padding changes no
    result. Datasets of the same bucket and number of detectors are batched together, up to
    ``batch_size``; a batch runs in lockstep (:func:`_run`): every round of the grids
    evaluates all of their points in one compiled call, vmapped over the datasets and, with several
    ``devices`` (default: all of this process's), sharded along them (the batch is padded to a multiple of
    their number). Dataset i uses the key ``jax.random.split(key, len(datasets))[i]``, so its
    result does not depend on the batch it ran in.

    Args:
        datasets: a sequence of :class:`~inference.dataset.Dataset`.
        key, table, h, n_draws, evidence_only: as :func:`fit_quadrature` (one model for all).
        batch_size: datasets per lockstep batch (memory: ~ batch_size × 512 × rows floats); default
            :func:`default_batch_size` (1 on a CPU, where a batch saves nothing and idle slots
            cost, 64 on an accelerator).
        devices: the devices to shard over (default ``jax.local_devices()``).
        progress: a progress bar over datasets (tqdm, on stderr).
    Returns:
        a list of :class:`QuadraturePosterior`, in the order of ``datasets``.

    Docs: docs/batch-gpu.md.
    """
    datasets = list(datasets)
    batch_size = _check_batch_size(batch_size)
    keys = jax.random.split(key, len(datasets))
    # batches of datasets with the same row bucket (and detectors): padding costs little
    shape = [(_row_bucket(merge_rows(d)[0].n_rows), len(d.dark_rate)) for d in datasets]
    order = sorted(range(len(datasets)), key=lambda i: shape[i])
    out = [None] * len(datasets)
    bar = _progress_bar(len(datasets), progress)
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and stop - start < batch_size and shape[order[stop]] == shape[order[start]]:
            stop += 1
        part = order[start:stop]
        fits = _fit_many([datasets[i] for i in part], [keys[i] for i in part], table, h, n_draws, evidence_only,
                         devices)
        for i, f in zip(part, fits):
            out[i] = f
        bar.update(len(part))
        start = stop
    bar.close()
    return out


def default_batch_size():
    """Datasets per lockstep batch when none is given: 1 on a CPU backend, 64 otherwise.

    In lockstep every round evaluates a point set for every dataset of the batch, also for those
    that wait (stand-in points), so a batch costs its slowest member times its size: on a CPU,
    where the physics is compute-bound anyway, one dataset at a time is fastest; an accelerator
    needs the parallel work."""
    return 1 if jax.default_backend() == "cpu" else 64


def _check_batch_size(batch_size):
    if batch_size is None:
        return default_batch_size()
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size}")
    return int(batch_size)


def _run_batches(programs, rows, table, devices, batch_size):
    """:func:`_run` of ``programs[i]`` on ``rows[i]`` (:class:`_Rows` of one shape) in consecutive
    lockstep batches of ``batch_size``, each padded to a multiple of the number of devices."""
    devices = jax.local_devices() if devices is None else list(devices)
    out = []
    for start in range(0, len(programs), batch_size):
        part = rows[start:start + batch_size]
        part = part + [part[0]] * ((-len(part)) % len(devices))
        stack = jax.tree.map(lambda *x: np.stack(x), *part)
        out += _run(programs[start:start + batch_size], stack, table, devices)
    return out


def _progress_bar(total, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="dataset", desc="quadrature", disable=not enabled)


def _fit_many(datasets, keys, table, h, n_draws, evidence_only, devices=None):
    """Fit ``datasets`` (one key each) in one lockstep batch."""
    if table is None:
        table = jaxqpc.YieldTable()
    if h is not None:
        h = float(h)
        if not h >= 0:
            raise ValueError(f"`h` must be None (free) or >= 0 (inf allowed), got {h}")
    if int(n_draws) != n_draws or n_draws < 1:
        raise ValueError(f"`n_draws` must be a positive integer, got {n_draws}")
    if not datasets:
        return []
    for d in datasets:  # eagerly, with its own error message: P within the circuit's reach
        jaxqpc.conductance_from_power(d.power, d.source_voltage, d.series_resistance)
    t0 = time.perf_counter()
    merged_rows = [merge_rows(d)[0].n_rows for d in datasets]
    n_rows = _row_bucket(max(merged_rows))
    n_det = max(len(d.dark_rate) for d in datasets)
    draw_key = jax.eval_shape(lambda k: jax.random.split(k)[0], keys[0])
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jaxqpc-compile-ahead") as pool:
        # the first fit of a shape compiles the grids' programs beside its physics (XLA compiles
        # outside Python's lock), instead of one after the other as the fit reaches them
        ahead = (pool.submit(_compile_ahead, n_rows, int(n_draws), draw_key)
                 if _first_of_shape(n_rows, int(n_draws), draw_key) else None)
        prepared = [_prepare(d, h, n_rows, n_det) for d in datasets]
        cells = EVIDENCE_CELLS if evidence_only else None
        programs = [_fit_program(k, d, a_min, offset, h, int(n_draws), t0, ds, cells)
                    for k, (d, a_min, offset), ds in zip(keys, prepared, datasets)]
        fits = _run_batches(programs, [p[0] for p in prepared], table, devices, len(programs))
    if ahead is not None:
        ahead.result()  # long done; raises what went wrong there, if anything
    return fits


_SHAPES_SEEN = set()


def _first_of_shape(n_rows, n_draws, key):
    """Whether no fit of this process had these shapes (rows, draws, key, cells) before; records them."""
    shape = (n_rows, n_draws, key, COARSE_CELLS, FINE_CELLS, CHECK_CELLS, EVIDENCE_CELLS, MAX_SLICES)
    first = shape not in _SHAPES_SEEN
    _SHAPES_SEEN.add(shape)
    return first


def _compile_ahead(n_rows, n_draws, key):
    """Compile, without running them, the grids' programs for every cell shape (zooms, cell centres,
    masses) and the draws' for ``n_draws`` draws of ``n_rows`` (padded) rows; ``key``: the shape of
    a draw key. Ahead-of-time lowering with the arguments' exact shapes and types fills JAX's
    compilation cache, so the fit's first calls compile nothing
    (``tests/test_quadrature.py::test_compiled_ahead_programs_are_not_compiled_again``)."""
    f64 = jax.dtypes.canonicalize_dtype(np.float64)
    arr = lambda *shape: jax.ShapeDtypeStruct(shape, f64)
    S = MAX_SLICES
    slices = _Slices(a=arr(S, 2), r=arr(S, 2), kappa=arr(S), a_ref=arr(S), c=arr(S))
    n = COARSE_CELLS[0] * COARSE_CELLS[1]
    a_min = jax.ShapeDtypeStruct((), f64, weak_type=True)  # a Python float
    _zoom.lower(slices, arr(S, n, 3), arr(S, n), arr(S, n), COARSE_CELLS, a_min).compile()
    for cells in (FINE_CELLS, CHECK_CELLS, *EVIDENCE_CELLS):
        n = cells[0] * cells[1]
        _grid.lower(slices, cells).compile()
        _masses.lower(slices, arr(S, n, 3), arr(S, n), arr(S, n), arr(S, 1), arr(S), cells).compile()
    cells = jax.ShapeDtypeStruct((2,), jax.dtypes.canonicalize_dtype(np.int64))
    _draw_points.lower(key, slices, arr(S, _draw_width(FINE_CELLS)), arr(S), cells, n_draws).compile()
    _draw_eta.lower(arr(n_draws), arr(n_draws, n_rows), arr(n_rows), arr(n_rows)).compile()
    _grid.lower(slices, COARSE_CELLS).compile()  # last: the fit's very first program (compiled by then)


def _placement(devices):
    """A function placing arrays with a leading dataset axis on ``devices`` (sharded along that
    axis when there are several; the caller pads the axis to a multiple of their number)."""
    if len(devices) < 2:
        return lambda tree: jax.device_put(tree, devices[0])
    mesh = jax.sharding.Mesh(np.array(devices), ("datasets",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("datasets"))
    return lambda tree: jax.device_put(tree, sharding)


def as_posterior(post, dataset):
    """The draws of a :class:`QuadraturePosterior` as a one-chain :class:`inference.sample.Posterior`
    (independent draws), for the ArviZ conversion, the predictive checks and PSIS-LOO."""
    from .params import to_unconstrained
    from .sample import H_MODELS, Posterior

    name = post.h_model if post.h_model == "free" else next(
        k for k, v in H_MODELS.items() if v is not None and v == post.h_model)
    h = H_MODELS[name]
    u = np.asarray(to_unconstrained(post.params, dataset, h))
    n = u.shape[0]
    return Posterior(sampler="quadrature", h_model=name, u=u[None], params={k: v[None] for k, v in post.params.items()},
                     diverging=np.zeros((1, n), bool), num_steps=np.ones((1, n), int), num_warmup=0,
                     wall_s=post.wall_s, expected=None if post.expected is None else post.expected[None])


def diagnostics(post):
    """The accuracy checks of a quadrature fit (a JSON-ready dict; replaces R-hat and ESS)."""
    return {
        "method": "quadrature (eta integrated out per theta, grids in ln R0, ln(Lc/1.5R0), log10 h)",
        "log_evidence": post.log_evidence,
        "log_evidence_error": post.log_evidence_error,
        "quantile_shift": dict(zip(("R0", "Lc", "h"), post.quantile_shift)),
        "quantile_tolerance": QUANTILE_TOLERANCE,
        "edge_mass": post.edge_mass,
        "outer_mass": post.outer_mass,
        "draws": int(post.params["eta"].shape[0]),
        "wall_s": post.wall_s,
        "warnings": list(post.warnings),
        "converged": not post.warnings,
    }


def evidence_table(fits, *, kind="h model"):
    """Log evidences of competing models and ln Bayes factors against the best (JSON-ready).

    ``fits``: dict model name → :class:`QuadraturePosterior` of the same data, e.g. the
    side-wall limits (``kind="h model"``) or the heat inputs (``kind="heat input"``). The
    error of a difference is the sum of the two numerical errors. A model is called rejected
    when the best beats it by more than :data:`DECISIVE_LOG_BF` nats plus that error.
    """
    best = max(fits, key=lambda k: fits[k].log_evidence)
    rows = []
    for name, f in sorted(fits.items(), key=lambda kv: -kv[1].log_evidence):
        rows.append({"model": name, "log_evidence": f.log_evidence, "error": f.log_evidence_error,
                     "ln_bayes_factor_best_vs_this": fits[best].log_evidence - f.log_evidence,
                     "error_of_ln_bayes_factor": fits[best].log_evidence_error + f.log_evidence_error})
    rejected = [r["model"] for r in rows[1:]
                if r["ln_bayes_factor_best_vs_this"] > DECISIVE_LOG_BF + r["error_of_ln_bayes_factor"]]
    if rejected:
        conclusion = f"the evidence prefers {kind} '{best}' over {', '.join(repr(m) for m in rejected)}"
    else:
        conclusion = (f"the evidence does not distinguish the {kind}s (ln Bayes factors <= {DECISIVE_LOG_BF:g})"
                      + (": h is not measurable here" if kind == "h model" else ""))
    return {"method": "marginal likelihood by quadrature", "models": rows, "conclusion": conclusion}


def merge_rows(dataset):
    """Rows with the same power, counting time, dark rate (and heat fraction) merged into one (exact).

    Such rows share their expected count μ, so their log-likelihood depends on
    the data only through the summed counts K: Σ_j log Poisson(k_j | μ) =
    log Poisson(K | m μ) + log K! − Σ_j log k_j! − K log m for m rows. The
    merged row has counting time m t (so its mean is m μ) and counts K; the
    returned offset (the last three terms summed over the groups) restores the
    exact log-likelihood. Two detectors with equal dark rates halve the physics.

    Returns:
        (merged :class:`~inference.dataset.Dataset`, offset in nats).
    """
    merged, offset, _ = _merge(dataset)
    return merged, offset


def _merge(dataset):
    """:func:`merge_rows`, and the map back to the rows: (merged, offset, (group, m)), ``group[i]``
    the merged row of row i and ``m[g]`` the number of rows merged into row g."""
    power, counts, bin_time = (np.asarray(x, dtype=float) for x in (dataset.power, dataset.counts,
                                                                     dataset.bin_time))
    detector = np.asarray(dataset.detector)
    dark = np.asarray(dataset.dark_rate, dtype=float)[detector]
    fraction = None if dataset.heat_fraction is None else np.asarray(dataset.heat_fraction, dtype=float)
    keys = np.stack([power, bin_time, dark] + ([] if fraction is None else [fraction]), axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    m = np.bincount(group).astype(float)
    total = np.bincount(group, weights=counts)
    log_factorial = np.vectorize(math.lgamma, otypes=[float])
    offset = float(np.sum(log_factorial(total + 1.0)) - np.sum(log_factorial(counts + 1.0)) - np.sum(total * np.log(m)))
    merged = dataset.__class__(
        power=power[first], counts=total, bin_time=bin_time[first] * m, detector=detector[first],
        source_voltage=dataset.source_voltage, series_resistance=dataset.series_resistance,
        dark_rate=dataset.dark_rate, lattice_temperature=dataset.lattice_temperature,
        heat_fraction=None if fraction is None else fraction[first])
    return merged, offset, (group, m)


def _summarise(grid, params, h, wall, expected=None):
    quantiles = {"eta": tuple(float(x) for x in np.quantile(params["eta"], QUANTILES))}
    q = grid["quantiles"]
    quantiles["Lc"] = tuple(float(x) for x in np.exp(q[1]))
    quantiles["R0"] = tuple(float(x) for x in np.exp(q[0]))
    quantiles["h"] = tuple(float(x) for x in 10.0 ** q[2]) if h is None else (h,) * len(QUANTILES)
    shift = tuple(float(x) for x in grid["quantile_shift"])
    edge = {name: float(m) for name, m in zip(EDGES, grid["edge_mass"])}
    if h is not None:
        edge = {k: v for k, v in edge.items() if not k.startswith("h")}
    outer = float(grid["outer_mass"])
    warnings = []
    if max(shift) > QUANTILE_TOLERANCE:
        warnings.append(f"quadrature: quantiles of the two grids differ by {max(shift):.3f} in probability "
                        f"(> {QUANTILE_TOLERANCE}): the grid does not resolve this posterior")
    if outer > EDGE_MASS_WARNING:
        warnings.append(f"quadrature: {outer:.1e} of the mass lies in the outer layer of the integration "
                        "box: the box may cut the posterior")
    return QuadraturePosterior(
        params=params, h_model="free" if h is None else h, log_evidence=float(grid["log_z"]),
        log_evidence_error=float(abs(grid["log_z"] - grid["check_log_z"])), quantiles=quantiles,
        quantile_shift=shift, edge_mass=edge, outer_mass=outer, warnings=tuple(warnings), wall_s=wall,
        expected=expected)
