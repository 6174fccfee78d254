"""Contacts measured with the same optics: one efficiency η shared by a fleet, integrated exactly.

Model (the NumPyro form is :func:`inference.model.fleet_model`): η ~ Uniform(0, 1] once for the
whole fleet; for each contact c its geometry θ_c = (Lc, R0, h) with the priors of
:mod:`inference.likelihood`, independently; the counts of contact c given (η, θ_c) as in
:func:`inference.likelihood.log_likelihood`. Geometry is per contact; η is what the optics fix.

Method (no sampler; the structure of the model does the work). The quadrature of each contact
(:mod:`inference.quadrature`) integrates η analytically per cell of a grid over θ_c. Run once more
over that contact's fine grid with η on a grid of nodes, the same cells give its likelihood of η,

    L_c(η) = p(k_c | η) = Σ_cells mass_cell · e^{ℓ_cell(η)} / ∫ e^{ℓ_cell(η')} dη',

(ℓ_cell the Poisson log-likelihood of the cell's signal, linear in η inside the logarithm), so

    p(η | all data) ∝ Π_c L_c(η),    Z_shared = ∫ Π_c L_c(η) dη,

both on the η grid (:data:`COARSE_ETA_NODES` midpoints of (0, 1] locate the support of the
product, within :data:`SUPPORT_NATS` of its maximum; :data:`ETA_NODES` midpoints on that support
integrate it; outside it the product is below e^{−40} of its maximum), and the ln Bayes factor
of one shared η against independent ones is ln Z_shared − Σ_c ln Z_c. Each contact's geometry
under the shared η is the mixture over η of its conditional p(θ_c | η, k_c) (the same cells
reweighted by e^{ℓ_cell(η)}/L_c(η)), on :data:`ETA_BINS` bins of equal posterior mass of η:
each bin's cell weights are those at its median η. Joint draws take η from its posterior and, for
every contact, θ_c from the cells of η's bin, so one draw index is one draw of the whole fleet.

Accuracy: the η quantiles from every other node of the grid are compared with those from all of
them (``eta_quantile_shift``, in probability); a warning names any contact whose own quadrature
warned. Docs: docs/batch-gpu.md (A shared efficiency).
"""

import dataclasses
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from . import quadrature as quad
from .params import PARAM_NAMES

__all__ = ["SharedEtaPosterior", "fit_shared_eta", "COARSE_ETA_NODES", "ETA_NODES", "ETA_BINS"]

COARSE_ETA_NODES = 64
"""Midpoints of the coarse η grid on (0, 1] that locates the support of Π_c L_c(η)."""
SUPPORT_NATS = 40.0
"""The support: the coarse nodes within this many nats of the largest, widened by one coarse step."""
ETA_NODES = 128
"""Midpoints of the fine η grid on that support (spacing ≤ 1/128; ~ 1/1000 for a fleet like the
example's of 24 contacts)."""
ETA_BINS = 16
"""Bins of equal posterior mass of η on which the contacts' geometry is reweighted."""
_POINT_BLOCK = 64


class SharedEtaPosterior(NamedTuple):
    """Result of :func:`fit_shared_eta`.

    Attributes:
        eta_grid, eta_density: the η nodes and p(η | all data) there (normalised, density).
        eta_quantiles: η at :data:`inference.quadrature.QUANTILES`.
        eta_draws: (n,) the shared η of each joint draw.
        contacts: one :class:`~inference.quadrature.QuadraturePosterior` per contact under the
            shared η: ``params`` the joint draws (the eta column is ``eta_draws``), ``quantiles``
            of Lc, R0, h from its reweighted grid and of η from the shared posterior; its
            ``log_evidence`` and accuracy checks are those of its own fit (independent η).
        log_evidence: ln Z_shared. log_evidence_independent: Σ_c ln Z_c.
        ln_bayes_factor: shared against independent η (positive: the data prefer one η).
        eta_quantile_shift: max |F(q_half) − p| of the η quantiles from half the nodes.
        warnings: tuple of strings. wall_s: seconds.
    """

    eta_grid: np.ndarray
    eta_density: np.ndarray
    eta_quantiles: tuple
    eta_draws: np.ndarray
    contacts: list
    log_evidence: float
    log_evidence_independent: float
    ln_bayes_factor: float
    eta_quantile_shift: float
    warnings: tuple
    wall_s: float


@jax.jit
def _cell_log_likelihoods(s, log_mass, dark, counts, eta):
    """(P, E): ln p(k, η_e, cell p) = log_mass_p − ln ∫ e^{ℓ_p} dη + ℓ_p(η_e) + const, for signals
    s (P, rows) of the cells' centres; −∞ for cells outside the domain."""
    lme = jax.vmap(lambda si: quad.log_marginal_eta(si, dark, counts)[0])(s)
    const = -jnp.sum(dark) - jnp.sum(jax.scipy.special.gammaln(counts + 1.0))
    ell = jax.lax.map(lambda si: quad._ell(eta, si, dark, counts), s, batch_size=_POINT_BLOCK)
    base = jnp.where(jnp.isfinite(log_mass) & jnp.isfinite(lme), log_mass - lme + const, -jnp.inf)
    return jnp.where(jnp.isfinite(base)[:, None], base[:, None] + ell, -jnp.inf)


@jax.jit
def _profile_chunk(s, log_mass, dark, counts, eta):
    """Σ over the chunk's cells of p(k, η_e, cell) (log, per η node)."""
    return logsumexp(_cell_log_likelihoods(s, log_mass, dark, counts, eta), axis=0)


def _fine_points(fine):
    n = fine["slices"].c.shape[0]
    points, _ = quad._unpad(quad._grid(quad._pad(fine["slices"]), fine["cells"]), n)
    return points.reshape(-1, 3)


def _chunks(points):
    for i in range(0, points.shape[0], quad.CHUNK):
        yield i, points[i:i + quad.CHUNK]


def _profile_program(data, grid, eta):
    """ln L_c(η) of one contact on the nodes ``eta`` from its fine grid (a generator for
    :func:`inference.quadrature._run`; the signals are recomputed chunk by chunk, never stored)."""
    fine = grid["fine"]
    points, log_mass = _fine_points(fine), np.asarray(fine["log_mass"]).reshape(-1)
    dark, counts = data.rows.bin_time * data.rows.dark_rate_per_row * data.mask, data.rows.counts
    total = np.full(eta.shape, -np.inf)
    for i, chunk in _chunks(points):
        _, s = yield chunk, True
        part = _profile_chunk(jnp.asarray(s), jnp.asarray(log_mass[i:i + len(chunk)]), dark, counts, eta)
        total = np.logaddexp(total, np.asarray(part))
    return total


def _reweight_program(data, fine, eta_bins, log_like_bins):
    """One contact's fine cells' log weights under each η bin (cells, bins), normalised per bin
    (p(cell | η_b, k_c)); a generator like :func:`_profile_program`."""
    points, log_mass = _fine_points(fine), np.asarray(fine["log_mass"]).reshape(-1)
    dark, counts = data.rows.bin_time * data.rows.dark_rate_per_row * data.mask, data.rows.counts
    out = np.empty((points.shape[0], eta_bins.shape[0]))
    for i, chunk in _chunks(points):
        _, s = yield chunk, True
        out[i:i + len(chunk)] = np.asarray(_cell_log_likelihoods(
            jnp.asarray(s), jnp.asarray(log_mass[i:i + len(chunk)]), dark, counts, eta_bins))
    return out - log_like_bins[None, :]


def _quantiles_on_nodes(grid, w, probs):
    """Quantiles of a density given at midpoints ``grid`` with masses ``w`` (piecewise constant)."""
    step = grid[1] - grid[0]
    cdf = np.concatenate([[0.0], np.cumsum(w)]) / np.sum(w)
    edges = np.concatenate([grid - 0.5 * step, [grid[-1] + 0.5 * step]])
    return np.interp(probs, cdf, edges)


def fit_shared_eta(datasets, *, key, table=None, h=None, n_draws=4000, batch_size=None, devices=None):
    """Posterior of a fleet whose contacts share one η (module docstring), and its evidence.

    Args:
        datasets: sequence of :class:`~inference.dataset.Dataset` (any rows, detectors, circuits).
        key: ``jax.random`` key for the draws (the grids are deterministic).
        table: a :class:`jaxqpc.YieldTable` (default: built here).
        h: None (each contact's h free) or a fixed value for all.
        n_draws: joint draws of the fleet (a multiple of :data:`ETA_BINS` is used: rounded up).
        batch_size, devices: as :func:`inference.quadrature.fit_quadrature_batch` (each pass over
            the contacts runs in lockstep batches).
    Returns:
        :class:`SharedEtaPosterior`.
    """
    import jaxqpc

    datasets = list(datasets)
    if len(datasets) < 1:
        raise ValueError("`datasets` is empty")
    if int(n_draws) != n_draws or n_draws < 1:
        raise ValueError(f"`n_draws` must be a positive integer, got {n_draws}")
    table = jaxqpc.YieldTable() if table is None else table
    h = None if h is None else float(h)
    t0 = time.perf_counter()
    n_rows = quad._row_bucket(max(quad.merge_rows(d)[0].n_rows for d in datasets))
    n_det = max(len(d.dark_rate) for d in datasets)
    prepared = [quad._prepare(d, h, n_rows, n_det) for d in datasets]
    rows = [p[0] for p in prepared]
    batch_size = quad._check_batch_size(batch_size)

    def run(programs):
        return quad._run_batches(programs, rows, table, devices, batch_size)

    grids = run([quad._posterior_grid(a_min, h) for _, a_min, _ in prepared])
    offsets = np.array([offset for _, _, offset in prepared])

    def log_likelihoods(eta):  # (C, E): ln L_c(η) on the nodes, the merges' offsets included
        runs = run([_profile_program(d, g, jnp.asarray(eta)) for d, g in zip(rows, grids)])
        return np.stack(runs) + offsets[:, None]

    # where Π_c L_c(η) lives: a coarse pass over (0, 1], then the fine nodes on that support
    coarse = (np.arange(COARSE_ETA_NODES) + 0.5) / COARSE_ETA_NODES
    log_coarse = np.sum(log_likelihoods(coarse), axis=0)
    inside = coarse[log_coarse >= np.max(log_coarse) - SUPPORT_NATS]
    lo = max(0.0, inside[0] - 1.0 / COARSE_ETA_NODES)
    hi = min(1.0, inside[-1] + 1.0 / COARSE_ETA_NODES)
    step = (hi - lo) / ETA_NODES
    eta = lo + step * (np.arange(ETA_NODES) + 0.5)
    log_like = log_likelihoods(eta)                                                 # (C, E)
    log_post = np.sum(log_like, axis=0)
    log_z = float(logsumexp(log_post) + np.log(step))
    w = np.exp(log_post - np.max(log_post))
    probs = np.asarray(quad.QUANTILES)
    eta_q = _quantiles_on_nodes(eta, w, probs)
    half = _quantiles_on_nodes(0.5 * (eta[0::2] + eta[1::2]), w[0::2] + w[1::2], probs)  # cells of 2 steps
    shift = float(np.max(np.abs(np.interp(half, eta, np.cumsum(w) / np.sum(w)) - probs)))

    # η bins of equal posterior mass, each represented by its median
    cdf = np.cumsum(w) / np.sum(w)
    bin_medians = np.interp((np.arange(ETA_BINS) + 0.5) / ETA_BINS, cdf, eta)
    like_bins = np.stack([np.interp(bin_medians, eta, row) for row in log_like - offsets[:, None]])
    second = run([_reweight_program(d, g["fine"], jnp.asarray(bin_medians), like_bins[c])
                  for c, (d, g) in enumerate(zip(rows, grids))])

    per_bin = -(-int(n_draws) // ETA_BINS)
    k_eta, k_cells = jax.random.split(key)
    u = (np.arange(ETA_BINS)[:, None] + np.asarray(jax.random.uniform(k_eta, (ETA_BINS, per_bin)))) / ETA_BINS
    eta_draws = np.interp(u.reshape(-1), np.concatenate([[0.0], cdf]), np.concatenate([[lo], eta + 0.5 * step]))
    contacts, warnings = [], []
    for c, (grid, log_w) in enumerate(zip(grids, second)):
        fine = grid["fine"]
        mix = logsumexp(log_w, axis=1) - np.log(ETA_BINS)                          # p(cell | all)
        weights = np.exp(mix - np.max(mix))
        quantiles = {}
        for i, name in enumerate(("R0", "Lc", "h")):
            if name == "h" and h is not None:
                quantiles["h"] = (h,) * len(probs)
                continue
            q = quad._soft_quantiles(fine["lo"][:, i], fine["hi"][:, i], weights, probs)
            quantiles[name] = tuple(float(x) for x in (np.exp(q) if name != "h" else 10.0 ** np.asarray(q)))
        points = []
        for b in range(ETA_BINS):
            points.append(np.asarray(quad._draw_points(
                jax.random.fold_in(k_cells, c * ETA_BINS + b), quad._pad(fine["slices"]),
                quad._draw_table(log_w[:, b], fine["cells"]), quad._pad(fine["dc"]), np.asarray(fine["cells"]),
                per_bin)))
        points = np.concatenate(points)
        theta = quad._theta(points[:, 0], points[:, 1], points[:, 2], xp=np)
        params = {"eta": eta_draws, **{k: np.asarray(theta[k]) for k in ("Lc", "R0", "h")}}
        quantiles["eta"] = tuple(float(x) for x in eta_q)
        own_grid = dict(grid, log_z=grid["log_z"] + offsets[c], check_log_z=grid["check_log_z"] + offsets[c])
        own = quad._summarise(own_grid, {k: params[k] for k in PARAM_NAMES}, h, time.perf_counter() - t0)
        contacts.append(dataclasses.replace(own, quantiles=quantiles))
        if own.warnings:
            warnings.append(f"contact {c}: its own quadrature did not pass its accuracy checks")
    if shift > quad.QUANTILE_TOLERANCE:
        warnings.append(f"shared eta: quantiles from half the eta nodes differ by {shift:.3f} in probability")
    independent = float(np.sum([c.log_evidence for c in contacts]))
    return SharedEtaPosterior(
        eta_grid=eta, eta_density=w / (np.sum(w) * step), eta_quantiles=tuple(float(x) for x in eta_q),
        eta_draws=eta_draws, contacts=contacts, log_evidence=log_z, log_evidence_independent=independent,
        ln_bayes_factor=log_z - independent, eta_quantile_shift=shift, warnings=tuple(warnings),
        wall_s=time.perf_counter() - t0)
