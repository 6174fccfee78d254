"""A deterministic posterior: η integrated out exactly per θ, quadrature over θ (in development).

Status: correct where tested (the η integral against adaptive quadrature, the
evidence against a brute-force integral, agreement with AIES on the bundled
example) but **not yet calibrated over the whole prior**: its first
simulation-based calibration (docs/fitting.md) under-covers, with boxes that
cut the posterior on part of the prior. It is therefore not the default of
``jaxqpc fit``; use it for the evidence of the side-wall models, and check its
warnings.

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

What is left, θ, is three-dimensional (two-dimensional for a fixed h). It is
integrated on tensor grids in the coordinates

    a = ln R0,   b = ln(Lc / (1.5 R0)) ≤ 0,   c = log₁₀ h ∈ [−3, 3],

in which the domain edges R0 = R0_min, Lc = 1.5 R0 and the bounds of h are
grid edges and the log-normal priors of R0 and Lc are normal densities. The
log posterior density in these coordinates is

    log p(a, b, c | k) = log p(k | θ) + log N(a; ln 1 nm, ln 2)
                         + log N(a + b + ln 1.5; ln 0.3 nm, ln 3) − ln 6 − log C + const,

with C the prior mass left by the truncation to the domain (computed, so the
evidence is properly normalised). A coarse grid over the prior's support is
zoomed in :data:`ZOOM_LEVELS` times onto the nodes within :data:`ZOOM_NATS`
nats of the best node (plus one cell on every side, so the box can also grow),
then the final grid (midpoint rule, :data:`FINE_CELLS` cells) gives the cell
masses, the evidence, the marginal quantiles of Lc, R0 and h, and draws: a
cell by its mass, a point uniformly inside it, η from its exact conditional
p(η | θ, k) ∝ e^{ℓ(η)} (inverse CDF on :data:`ETA_DRAW_NODES` points of the
bracket). A second, coarser final grid (:data:`CHECK_CELLS`) is the accuracy
check that replaces R-hat: the marginal quantiles of the two grids are
compared in probability.

Everything per dataset is one jit-compiled function of fixed shapes, so
many datasets run under ``jax.vmap`` (and a GPU takes many at once). Only the
Poisson observation model is supported here; the MCMC kernels of
:mod:`inference.sample` cover the negative binomial. Method, accuracy and
calibration: docs/fitting.md.
"""

import functools
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, ndtr, xlogy

import jaxqpc

from .likelihood import LOG10_H_RANGE, PRIOR
from .optimize import _as_arrays
from .params import MAX_LENGTH_RATIO, PARAM_NAMES, min_radius_nm

__all__ = [
    "QuadraturePosterior",
    "fit_quadrature",
    "log_marginal_eta",
    "merge_rows",
    "as_posterior",
    "diagnostics",
    "evidence_table",
    "ETA_NODES",
    "ETA_DROP",
    "FINE_CELLS",
    "CHECK_CELLS",
]

ETA_NODES = 24
"""Gauss–Legendre nodes of the η integral per θ."""
ETA_DROP = 30.0
"""The η bracket ends where ℓ(η) has dropped this many nats below its maximum (or at 0, 1)."""
ETA_DRAW_NODES = 96
"""Points of the inverse-CDF table from which η is drawn for each drawn θ."""
COARSE_CELLS = (16, 16, 8)
"""Cells per axis (a, b, c) of the zoom levels."""
ZOOM_LEVELS = 4
ZOOM_NATS = 25.0
"""A zoom level keeps the nodes within this many nats of the best one."""
FINE_CELLS = (32, 64, 10)
"""Cells per axis (a, b, c) of the final grid."""
CHECK_CELLS = (24, 48, 8)
"""Cells per axis of the second final grid used as the accuracy check."""
CHUNK = 512
"""θ points per call of the compiled physics."""
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
    mode = _newton_root(lambda x: _ell_derivatives(x, s, d, k), start, floor, 1.0, 40)
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
                      _newton_root(drop, r0, mode, 1.0, 30))
    # left end: from the left of the root, likewise
    l0 = jnp.maximum(mode - 12.0 * sigma, mode * 1e-8)
    l0 = jnp.where(drop(l0)[0] < 0, l0, mode * 1e-8)
    left = jnp.where(drop(mode * 1e-8)[0] >= 0, 0.0, _newton_root(drop, l0, mode * 1e-8, mode, 30))
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


def _log_truncation_mass(a_min):
    """log C: prior mass of R0 ≥ R0_min and Lc ≤ 1.5 R0 under the untruncated log-normals."""
    ma, sa, mb, sb = _prior_hyper()
    x, w = np.polynomial.legendre.leggauss(200)
    hi = ma + 12.0 * sa
    lo = jnp.minimum(a_min, hi)
    a = lo + 0.5 * (hi - lo) * (jnp.asarray(x) + 1.0)
    dens = jnp.exp(_log_normal_density(a, ma, sa)) * ndtr((a + _LN15 - mb) / sb)
    return jnp.log(0.5 * (hi - lo) * jnp.sum(jnp.asarray(w) * dens))


def _theta(a, b, c):
    r0 = jnp.exp(a)
    return {"R0": r0, "Lc": MAX_LENGTH_RATIO * r0 * jnp.exp(b), "h": 10.0 ** c}


@jax.jit
def _evaluate(points, data, table, h_free, a_min, log_c):
    """log p(a, b, c | k) up to the evidence, and the signal s (η = 1) of every row, at ``points`` (n, 3).

    The only place the physics is compiled: every grid, every model (a fixed h is c = log₁₀ h,
    ±∞ allowed, with ``h_free`` false) and the draws go through it.
    """
    ma, sa, mb, sb = _prior_hyper()
    dark = data.bin_time * data.dark_rate_per_row
    n_det = data.dark_rate.shape[-1]

    def one(p):
        a, b, c = p[0], p[1], p[2]
        theta = _theta(a, b, c)
        s = jaxqpc.photon_counts(
            data.power, eta=1.0 / n_det, R0=theta["R0"], Lc=theta["Lc"], h=theta["h"],
            source_voltage=data.source_voltage, series_resistance=data.series_resistance,
            bin_time=data.bin_time, dark_rate=0.0, spectrum=table,
            lattice_temperature=data.lattice_temperature)
        lp = (log_marginal_eta(s, dark, data.counts)[0] + _log_normal_density(a, ma, sa)
              + _log_normal_density(a + b + _LN15, mb, sb) - log_c
              - jnp.where(h_free, math.log(LOG10_H_RANGE[1] - LOG10_H_RANGE[0]), 0.0))
        inside = (a >= a_min) & (b <= 0.0)
        return jnp.where(inside & jnp.isfinite(lp), lp, -jnp.inf), s

    return jax.vmap(one)(points)


def _log_post(points, ctx):
    """:func:`_evaluate` over any number of points, in chunks of :data:`CHUNK` (one compilation)."""
    n = points.shape[0]
    pad = (-n) % CHUNK
    padded = jnp.concatenate([points, jnp.broadcast_to(points[:1], (pad, 3))]) if pad else points
    lps, signals = [], []
    for i in range(0, padded.shape[0], CHUNK):
        lp, s = _evaluate(padded[i:i + CHUNK], *ctx)
        lps.append(lp)
        signals.append(s)
    return jnp.concatenate(lps)[:n], jnp.concatenate(signals)[:n]


class _Box(eqx.Module):
    """An integration region: a ∈ [a0, a1]; b = κ (a − a_ref) + r with r ∈ [r0, r1], capped at
    b ≤ 0 (Lc ≤ 1.5 R0, an exact edge of every column); c ∈ [c0, c1] (c0 = c1 = log₁₀ h for a
    fixed h). The shear κ follows the Lc–R0 ridge, so the cells across it stay fine."""

    a: jax.Array      # (2,)
    r: jax.Array      # (2,)
    c: jax.Array      # (2,)
    kappa: jax.Array  # ()
    a_ref: jax.Array  # ()


def _column(box, a):
    """Lower and upper b of the column at ``a`` (the upper end capped at the edge b = 0)."""
    shift = box.kappa * (a - box.a_ref)
    return jnp.minimum(shift + box.r[0], -1e-9), jnp.minimum(shift + box.r[1], 0.0)


def _c_step(box, nc, h_free):
    return (box.c[1] - box.c[0]) / nc if h_free else 1.0


@functools.partial(jax.jit, static_argnames=("cells", "h_free"))
def _grid(box, cells, h_free):
    """Cell centres (n, 3) and log cell volumes (n,) of ``box`` with ``cells`` = (n_a, n_b, n_c)."""
    na, nb, nc = cells
    da, dc = (box.a[1] - box.a[0]) / na, _c_step(box, nc, h_free)
    a = box.a[0] + da * (jnp.arange(na) + 0.5)
    c = box.c[0] + dc * (jnp.arange(nc) + 0.5) if h_free else jnp.full((nc,), box.c[0])
    lo, hi = _column(box, a)
    t = (jnp.arange(nb) + 0.5) / nb
    b = lo[:, None] + (hi - lo)[:, None] * t[None, :]                    # (na, nb)
    shape = (na, nb, nc)
    points = jnp.stack([jnp.broadcast_to(a[:, None, None], shape), jnp.broadcast_to(b[:, :, None], shape),
                        jnp.broadcast_to(c[None, None, :], shape)], axis=-1).reshape(-1, 3)
    log_vol = jnp.broadcast_to((jnp.log(da * dc / nb) + jnp.log(hi - lo))[:, None, None], shape)
    return points, log_vol.reshape(-1)


def _start_box(a_min, c_range):
    ma, sa, mb, sb = _prior_hyper()
    a_hi = jnp.maximum(a_min, ma) + PRIOR_SIGMAS * sa
    b_lo = mb - PRIOR_SIGMAS * sb - _LN15 - a_hi
    return _Box(a=jnp.stack([a_min, a_hi]), r=jnp.stack([b_lo, jnp.zeros(())]),
                c=jnp.asarray(c_range, dtype=float), kappa=jnp.zeros(()), a_ref=a_min)


@functools.partial(jax.jit, static_argnames=("cells", "h_free"))
def _zoom(box, points, lp, cells, a_min, h_free):
    """The next box: the nodes within ZOOM_NATS of the best, in coordinates sheared along the
    (a, b) ridge of the posterior mass, with one and a half cells of margin on every side."""
    keep = lp >= jnp.max(lp) - ZOOM_NATS
    w = jnp.exp(lp - jnp.max(lp))
    w = w / jnp.sum(w)
    mean = jnp.sum(w[:, None] * points[:, :2], axis=0)
    d = points[:, :2] - mean
    cov = (w[:, None] * d).T @ d
    kappa = jnp.where(cov[0, 0] > 0, cov[0, 1] / jnp.maximum(cov[0, 0], _TINY), 0.0)
    a, b, c = points[:, 0], points[:, 1], points[:, 2]
    r = b - kappa * (a - mean[0])
    na, nb, nc = cells
    da = (box.a[1] - box.a[0]) / na
    lo_b, hi_b = _column(box, a)
    db = jnp.max(jnp.where(keep, (hi_b - lo_b) / nb, 0.0))

    def span(x, step, lo_limit, hi_limit):
        lo = jnp.min(jnp.where(keep, x, jnp.inf)) - 1.5 * step
        hi = jnp.max(jnp.where(keep, x, -jnp.inf)) + 1.5 * step
        return jnp.stack([jnp.maximum(lo, lo_limit), jnp.minimum(hi, hi_limit)])

    new_c = span(c, _c_step(box, nc, h_free), *LOG10_H_RANGE) if h_free else box.c
    return _Box(a=span(a, da, a_min, jnp.inf), r=span(r, db + jnp.abs(kappa) * da, -jnp.inf, jnp.inf),
                c=new_c, kappa=kappa, a_ref=mean[0])


def _soft_cdf(q, lo, hi, w):
    """CDF at ``q`` of a mixture of uniform densities on [lo_i, hi_i] with weights w_i (cell masses)."""
    width = jnp.maximum(hi - lo, _TINY)
    return jnp.sum(w * jnp.clip((q[..., None] - lo) / width, 0.0, 1.0), axis=-1)


def _soft_quantiles(lo, hi, w, probs, n=1024):
    x = jnp.linspace(jnp.min(lo), jnp.max(hi), n)
    return jnp.interp(jnp.asarray(probs), _soft_cdf(x, lo, hi, w), x)


@functools.partial(jax.jit, static_argnames=("cells", "h_free"))
def _masses(box, points, lp, log_vol, cells, h_free):
    """Cell masses, log evidence and each cell's extent in (ln R0, ln Lc, log₁₀ h)."""
    mass = lp + log_vol
    top = jnp.max(mass)
    log_z = top + jnp.log(jnp.sum(jnp.exp(mass - top)))
    w = jnp.exp(mass - log_z)
    na, nb, nc = cells
    da, dc = (box.a[1] - box.a[0]) / na, _c_step(box, nc, h_free)
    lo_b, hi_b = _column(box, points[:, 0])
    db = (hi_b - lo_b) / nb
    centre = jnp.stack([points[:, 0], points[:, 0] + points[:, 1] + _LN15, points[:, 2]], axis=-1)
    half = jnp.stack([jnp.full_like(db, 0.5 * da), 0.5 * (da + db), jnp.full_like(db, 0.5 * dc)], axis=-1)
    return {"log_mass": mass, "log_z": log_z, "w": w, "lo": centre - half, "hi": centre + half}


def _layer_mass(w, cells, axis, end):
    return jnp.sum(jnp.moveaxis(w.reshape(cells), axis, 0)[0 if end == 0 else -1])


@functools.partial(jax.jit, static_argnames=("cells", "h_free"))
def _boundary_masses(box, points, w, cells, a_min, h_free):
    """(largest mass in an outer cell layer of the box that is not on a domain edge,
    mass in the outer layer at each domain edge: R0 = R0_min, Lc = 1.5 R0, h = 10⁻³, h = 10³)."""
    lo_h, hi_h = LOG10_H_RANGE
    top_layer = (jnp.arange(points.shape[0]) // cells[2]) % cells[1] == cells[1] - 1
    _, hi_b = _column(box, points[:, 0])
    at_b_edge = top_layer & (hi_b >= 0.0)
    free = [jnp.where(box.a[0] > a_min, _layer_mass(w, cells, 0, 0), 0.0), _layer_mass(w, cells, 0, 1),
            _layer_mass(w, cells, 1, 0), jnp.sum(jnp.where(top_layer & ~at_b_edge, w, 0.0))]
    edges = [jnp.where(box.a[0] <= a_min, _layer_mass(w, cells, 0, 0), 0.0), jnp.sum(jnp.where(at_b_edge, w, 0.0))]
    if h_free:
        free += [jnp.where(box.c[0] > lo_h, _layer_mass(w, cells, 2, 0), 0.0),
                 jnp.where(box.c[1] < hi_h, _layer_mass(w, cells, 2, 1), 0.0)]
        edges += [jnp.where(box.c[0] <= lo_h, _layer_mass(w, cells, 2, 0), 0.0),
                  jnp.where(box.c[1] >= hi_h, _layer_mass(w, cells, 2, 1), 0.0)]
    return jnp.max(jnp.stack(free)), jnp.stack(edges)


def _posterior_grid(data, table, h):
    """Zoom, final and check grids of one dataset: a dict of arrays (see :class:`QuadraturePosterior`)."""
    h_free = h is None
    a_min = jnp.log(min_radius_nm(data))
    log_c = _log_truncation_mass(a_min)
    ctx = (data, table, jnp.asarray(h_free), a_min, log_c)
    with np.errstate(divide="ignore"):
        c_range = LOG10_H_RANGE if h_free else (float(np.log10(h)),) * 2
    drop_c = (lambda cells: cells) if h_free else (lambda cells: cells[:2] + (1,))
    cells = drop_c(COARSE_CELLS)
    box = _start_box(a_min, c_range)
    for _ in range(ZOOM_LEVELS):
        points, _ = _grid(box, cells, h_free)
        lp, _ = _log_post(points, ctx)
        box = _zoom(box, points, lp, cells, a_min, h_free)
    out = {}
    for name, n in (("check", drop_c(CHECK_CELLS)), ("fine", drop_c(FINE_CELLS))):
        points, log_vol = _grid(box, n, h_free)
        lp, _ = _log_post(points, ctx)
        out[name] = dict(_masses(box, points, lp, log_vol, n, h_free), points=points, cells=n)
    fine, check = out["fine"], out["check"]
    n_axes = 3 if h_free else 2
    shifts = []
    for i in range(n_axes):  # the check grid's quantiles located in the fine grid's CDF
        q = _soft_quantiles(check["lo"][:, i], check["hi"][:, i], check["w"], QUANTILES)
        shifts.append(jnp.max(jnp.abs(_soft_cdf(q, fine["lo"][:, i], fine["hi"][:, i], fine["w"])
                                      - jnp.asarray(QUANTILES))))
    outer, edges = _boundary_masses(box, fine["points"], fine["w"], fine["cells"], a_min, h_free)
    return {"points": fine["points"], "log_mass": fine["log_mass"], "log_z": fine["log_z"],
            "check_log_z": check["log_z"], "quantile_shift": jnp.stack(shifts),
            "quantiles": jnp.stack([_soft_quantiles(fine["lo"][:, i], fine["hi"][:, i], fine["w"], QUANTILES)
                                    for i in range(n_axes)]),
            "outer_mass": outer, "edge_mass": edges, "box": box, "cells": fine["cells"], "ctx": ctx}


@functools.partial(jax.jit, static_argnames=("n", "cells", "h_free"))
def _draw_points(key, box, points, log_mass, n, cells, h_free):
    """``n`` points (a, b, c): a cell by its mass, then uniformly inside it."""
    k_cell, k_jit = jax.random.split(key)
    cell = jax.random.categorical(k_cell, log_mass, shape=(n,))
    centre = points[cell]
    na, nb, nc = cells
    step = jnp.stack([(box.a[1] - box.a[0]) / na, jnp.asarray(1.0 / nb), jnp.asarray(_c_step(box, nc, h_free))])
    jitter = jax.random.uniform(k_jit, (n, 3), minval=-0.5, maxval=0.5) * step
    a = centre[:, 0] + jitter[:, 0]
    lo_c, hi_c = _column(box, centre[:, 0])
    t = (centre[:, 1] - lo_c) / (hi_c - lo_c) + jitter[:, 1]     # the same place within the column
    lo, hi = _column(box, a)
    c = centre[:, 2] + jitter[:, 2] if h_free else centre[:, 2]
    return jnp.stack([a, lo + t * (hi - lo), c], axis=-1)


@jax.jit
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


def _draws(key, grid, h, n):
    k_points, k_eta = jax.random.split(key)
    points = _draw_points(k_points, grid["box"], grid["points"], grid["log_mass"], n, grid["cells"], h is None)
    _, s = _log_post(points, grid["ctx"])
    data = grid["ctx"][0]
    eta = _draw_eta(jax.random.uniform(k_eta, (n,)), s, data.bin_time * data.dark_rate_per_row, data.counts)
    theta = _theta(points[:, 0], points[:, 1], points[:, 2])
    return {"eta": eta, **theta}


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

    def flat(self):
        """The draws: dict name → (n,)."""
        return self.params


EDGES = ("R0 = R0_min", "Lc = 1.5 R0", "h = 1e-3", "h = 1e3")


def fit_quadrature(dataset, *, key, table=None, h=None, n_draws=4000):
    """Posterior of (η, Lc, R0, h) by η integrated out and deterministic quadrature over θ.

    Args:
        dataset: :class:`~inference.dataset.Dataset` (Poisson counts).
        key: ``jax.random`` key for the draws (the grid itself is deterministic).
        table: prebuilt :class:`jaxqpc.YieldTable` (default: built here).
        h: ``None`` (h free, log-uniform prior on [10⁻³, 10³]) or a fixed value
            0 ≤ h ≤ ∞ (e.g. ``0.0`` for the corrected Eq. 5, ``jnp.inf`` for Eq. 4).
        n_draws: number of posterior draws returned (summaries, ArviZ, plots).
    Returns:
        :class:`QuadraturePosterior`.
    """
    if table is None:
        table = jaxqpc.YieldTable()
    if h is not None:
        h = float(h)
        if not h >= 0:
            raise ValueError(f"`h` must be None (free) or >= 0 (inf allowed), got {h}")
    jaxqpc.conductance_from_power(dataset.power, dataset.source_voltage, dataset.series_resistance)
    t0 = time.perf_counter()
    merged, offset = merge_rows(dataset)
    grid = _posterior_grid(_as_arrays(merged), table, h)
    grid["log_z"] = grid["log_z"] + offset
    grid["check_log_z"] = grid["check_log_z"] + offset
    draws = _draws(key, grid, h, int(n_draws))
    params = {k: np.asarray(draws[k]) for k in PARAM_NAMES}
    grid = {k: np.asarray(v) for k, v in grid.items() if k in ("log_z", "check_log_z", "quantile_shift",
                                                                 "quantiles", "outer_mass", "edge_mass")}
    return _summarise(grid, params, h, time.perf_counter() - t0)


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
                     wall_s=post.wall_s)


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


def evidence_table(fits):
    """Log evidences of the side-wall models and ln Bayes factors against the best (JSON-ready).

    ``fits``: dict h_model name → :class:`QuadraturePosterior`. The error of a difference is
    the sum of the two numerical errors. A model is called rejected when the best beats it by
    more than :data:`DECISIVE_LOG_BF` nats plus that error.
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
        conclusion = f"the evidence prefers h model '{best}' over {', '.join(repr(m) for m in rejected)}"
    else:
        conclusion = (f"the evidence does not distinguish the h models (ln Bayes factors <= {DECISIVE_LOG_BF:g}): "
                      "h is not measurable here")
    return {"method": "marginal likelihood by quadrature", "models": rows, "conclusion": conclusion}


def merge_rows(dataset):
    """Rows with the same power, counting time and dark rate merged into one (exact).

    Such rows share their expected count μ, so their log-likelihood depends on
    the data only through the summed counts K: Σ_j log Poisson(k_j | μ) =
    log Poisson(K | m μ) + log K! − Σ_j log k_j! − K log m for m rows. The
    merged row has counting time m t (so its mean is m μ) and counts K; the
    returned offset (the last three terms summed over the groups) restores the
    exact log-likelihood. Two detectors with equal dark rates halve the physics.

    Returns:
        (merged :class:`~inference.dataset.Dataset`, offset in nats).
    """
    power, counts, bin_time = (np.asarray(x, dtype=float) for x in (dataset.power, dataset.counts,
                                                                     dataset.bin_time))
    detector = np.asarray(dataset.detector)
    dark = np.asarray(dataset.dark_rate, dtype=float)[detector]
    keys = np.stack([power, bin_time, dark], axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    m = np.bincount(group).astype(float)
    total = np.bincount(group, weights=counts)
    offset = float(jnp.sum(gammaln(total + 1.0)) - jnp.sum(gammaln(counts + 1.0)) - np.sum(total * np.log(m)))
    merged = dataset.__class__(
        power=jnp.asarray(power[first]), counts=jnp.asarray(total), bin_time=jnp.asarray(bin_time[first] * m),
        detector=jnp.asarray(detector[first]), source_voltage=dataset.source_voltage,
        series_resistance=dataset.series_resistance, dark_rate=dataset.dark_rate,
        lattice_temperature=dataset.lattice_temperature)
    return merged, offset


def _summarise(grid, params, h, wall):
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
        quantile_shift=shift, edge_mass=edge, outer_mass=outer, warnings=tuple(warnings), wall_s=wall)
