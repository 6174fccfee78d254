"""Landauer–Büttiker currents and the power dissipated on each side (Eqs. 1–5).

Blaas-Anselmi et al. 2022, Sec. 2. Dimensionless units throughout: energies in
E1 (see ``_transmission``), μ_{L,R} = μ̄ ± eV/2, currents in 2eE1/h, energy
currents and powers in 2E1²/h (the units of the paper's figures).

How the integrals are done (exact up to ~1e-9 of the tabulated T, see
``SpectralTable``):

* k_BT = 0: the window is [μ_R, μ_L]; every quantity is an exact integral of the
  piecewise-polynomial interpolant of T(ε) (pieces aligned with the thresholds).
* k_BT > 0: f(ε − μ) = E[θ(μ + k_BT X − ε)] with X logistic, so every quantity is
  the average over X of the k_BT = 0 window shifted by k_BT X. The average is a
  fixed composite Gauss–Legendre rule on |X| ≤ 36 (weight e^{−36} ≈ 2e-16 beyond),
  ``thermal_rule``, whose panels follow the model's sharpest features. For a scalar
  temperature the averages are taken once on the table nodes that the windows reach
  (thermally smoothed densities, then tabulated), so a map of 10⁶ (μ̄, V) points costs
  one table look-up per window end and point; for an array of temperatures they are
  taken per point.
"""

from typing import NamedTuple

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ._bucketing import size_bucketed
from ._spectral import SpectralTable, node_energies
from ._validate import (
    arrays,
    check_at_least,
    check_at_most,
    check_finite,
    check_nonnegative,
    check_positive,
    nan_outside,
    substitute,
    warn_if_float32,
)

__all__ = ["Transport", "transport", "THERMAL_CUTOFF"]

THERMAL_CUTOFF = 36.0
"""Half-width, in units of k_BT, of the thermal window kept around μ_L and μ_R."""


@functools.lru_cache(maxsize=16)
def thermal_rule(feature_width):
    """Nodes and weights of E[h(X)] for the logistic X (density 1/(4 cosh²(x/2))).

    Composite 8-point Gauss–Legendre on |x| ≤ THERMAL_CUTOFF, normalised to sum 1.
    Panels are ``w`` wide for |x| < 10, 2w to 20 and 4w beyond, with
    w = min(0.5, feature_width/0.1): at k_BT = 0.1 E1 the nodes are then spaced
    well below the width of the sharpest feature of T (a model's static
    ``_feature_width``, in E1). Measured error ≤ 5e-8 for the abrupt QPC at
    ℓ ≤ grid_length ≤ 5, k_BT ≤ 0.1.
    """
    w = min(0.5, feature_width / 0.1)
    x, wx = np.polynomial.legendre.leggauss(8)
    edges = np.concatenate([np.arange(0, 10, w), np.arange(10, 20, 2 * w),
                            np.arange(20, THERMAL_CUTOFF + 1e-9, 4 * w)])
    edges = np.unique(np.append(edges, THERMAL_CUTOFF))
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = (0.5 * (lo + hi) + 0.5 * (hi - lo) * x).ravel()
    weights = (0.5 * (hi - lo) * wx).ravel() / (4.0 * np.cosh(0.5 * nodes) ** 2)
    nodes = np.concatenate([-nodes[::-1], nodes])
    weights = np.concatenate([weights[::-1], weights])
    return nodes, weights / weights.sum()


class Transport(NamedTuple):
    """Result of :func:`transport` (dimensionless; a PyTree of arrays).

    Attributes:
        current: I (Eq. 1), in 2eE1/h (electrons flowing left → right).
        heat_current: J (Eq. 4), the energy current, in 2E1²/h; energies are
            measured from the band bottom of the unbiased leads.
        power_left: P_L = μ_L I/e − J (Eqs. 2, 3a), in 2E1²/h; negative means the
            left (upstream) reservoir is cooled.
        power_right: P_R = J − μ_R I/e (Eqs. 2, 3b), in 2E1²/h.
        power_asymmetry: P_A = P_R − P_L (Eq. 5), in 2E1²/h.
    """

    current: jax.Array
    heat_current: jax.Array
    power_left: jax.Array
    power_right: jax.Array
    power_asymmetry: jax.Array


_BLOCK = 8192
"""Points per block: evaluations run block by block to stay in cache."""

SCALAR_KT_POINTS = 4096
"""Eager calls with a scalar k_BT are padded to at least this many points (one compiled program
for any smaller call: the thermal table, built once per call, costs far more than the points)."""
ARRAY_KT_POINTS = 128
"""The same for an array k_BT (each point has its own thermal average: a smaller minimum)."""

_TABLE_BLOCK = 512
"""Table nodes per block of the table of T (blocks outside the energies a call needs are skipped)."""

_THERMAL_BLOCK = 32768
"""Shifted energies per block of the thermal averages (a shorter loop body than a map
point's: larger blocks spread the cost of each loop step)."""


def _blockwise(fn, block, *arrays):
    """``fn`` (flat arrays → PyTree of flat arrays) over broadcast ``arrays``, ``block`` points at a time.

    A loop writes each block's results into the flat outputs in place; the last block
    is shifted back to end at the last point (its overlap is computed twice), so there
    is neither padding nor a final copy (stacking blocks with ``lax.map`` and slicing
    the padded result cost more than the arithmetic of a transport map).
    """
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    flat = [jnp.broadcast_to(a, shape).ravel() for a in arrays]
    n = flat[0].size
    if n <= block:
        return jax.tree.map(lambda x: x.reshape(shape), fn(*flat))
    out_shapes = jax.eval_shape(fn, *(jax.ShapeDtypeStruct((block,), x.dtype) for x in flat))

    def step(i, out):
        start = jnp.minimum(i * block, n - block)
        result = fn(*(jax.lax.dynamic_slice(x, (start,), (block,)) for x in flat))
        return jax.tree.map(lambda o, r: jax.lax.dynamic_update_slice(o, r, (start,)), out, result)

    out = jax.tree.map(lambda a: jnp.zeros((n,), a.dtype), out_shapes)
    out = jax.lax.fori_loop(0, -(-n // block), step, out)
    return jax.tree.map(lambda x: x.reshape(shape), out)


def _assemble(mu, bias, integral, moment):
    half = 0.5 * bias
    return Transport(
        current=integral,
        heat_current=moment + mu * integral,
        power_left=half * integral - moment,
        power_right=half * integral + moment,
        power_asymmetry=2.0 * moment,
    )


def transmission_table(model, lo=-np.inf, hi=np.inf):
    """Piecewise-polynomial table of the model's T(ε) on its grid.

    Only the pieces that meet [lo, hi] (E1) are evaluated, the others are left 0
    (T costs a linear solve per node for ``ModeMatchedQPC``).
    """
    grid = model._grid
    nodes = jnp.asarray(node_energies(grid))
    values = _blockwise(_where_needed(grid, lambda e: jnp.sum(model._channels(e), axis=-1), lo, hi),
                        _TABLE_BLOCK, nodes)
    return SpectralTable.from_node_values(grid, values)


def _reach(grid):
    """The widest piece (E1): a piece that meets [lo, hi] has its nodes within this of it."""
    return np.max(np.diff(grid.edges))


def _where_needed(grid, fn, lo, hi):
    """``fn`` on a block of sorted node energies if the block meets the pieces that meet
    [lo, hi], else zeros."""
    reach = _reach(grid)

    def needed(energy):
        used = (energy[-1] >= lo - reach) & (energy[0] <= hi + reach)
        return jax.lax.cond(used, fn, lambda e: jax.tree.map(jnp.zeros_like, jax.eval_shape(fn, e)), energy)

    return needed


def thermal_table(model, kT, lo=-np.inf, hi=np.inf):
    """Table of s0(μ) = E[T(μ + k_BT X)] with moment correction u(μ) = k_BT E[X T(μ + k_BT X)].

    Then I = ∫_{μ_R}^{μ_L} s0 and ∫(ε − r) T W dε = ∫_{μ_R}^{μ_L} ((μ − r) s0 + u) dμ.
    At k_BT = 0 this is the table of T itself (the average is skipped). Only the
    pieces that meet the windows' range [lo, hi] (E1) are averaged, the others are
    left 0: a window's integrals involve the pieces between its ends only.
    """
    grid = model._grid
    x, w = (jnp.asarray(a) for a in thermal_rule(model._feature_width))  # NumPy → JAX at trace time
    reach = _reach(grid)  # the averaged pieces have their nodes within this of [lo, hi]
    table = transmission_table(model, lo - reach + kT * x[0], hi + reach + kT * x[-1])

    def smoothed(kT):
        def averages(energy):  # per block of nodes: the averages, without storing T at every shift
            t = table.density(grid, energy[:, None] + kT * x)
            return t @ w, t @ (w * x)

        nodes = jnp.asarray(node_energies(grid))
        s0, u = _blockwise(_where_needed(grid, averages, lo, hi), max(1, _THERMAL_BLOCK // x.size), nodes)
        return SpectralTable.from_node_values(grid, s0, kT * u)

    return jax.lax.cond(kT == 0.0, lambda kT: table, smoothed, kT)


@jax.jit
def _transport_scalar_kT(model, mu, bias, kT):
    grid = model._grid
    table = thermal_table(model, kT, jnp.min(mu - 0.5 * bias, initial=np.inf),
                          jnp.max(mu + 0.5 * bias, initial=-np.inf))

    def points(mu, bias):
        return table.window(grid, mu - 0.5 * bias, mu + 0.5 * bias, mu)

    # assembled outside the blocks: inside, XLA would recompute both integrals for each output
    return _assemble(mu, bias, *_blockwise(points, _BLOCK, mu, bias))


@jax.jit
def _transport_array_kT(model, mu, bias, kT):
    grid = model._grid
    table = transmission_table(model)
    x, w = (jnp.asarray(a) for a in thermal_rule(model._feature_width))  # NumPy → JAX at trace time

    def points(mu, bias, kT):
        shift = kT[:, None] * x
        a = (mu - 0.5 * bias)[:, None] + shift
        b = (mu + 0.5 * bias)[:, None] + shift
        integral, moment = table.window(grid, a, b, mu[:, None])
        return integral @ w, moment @ w

    return _assemble(mu, bias, *_blockwise(points, max(1, _BLOCK // x.size), mu, bias, kT))


def transport(model, mu, bias, kT=0.0):
    """Current, energy current and the power dissipated left and right of a QPC.

    Eqs. (1)–(5) of Blaas-Anselmi et al. 2022, exact for any bias and temperature
    (no expansion), all arguments broadcast against each other.

    Args:
        model: a transmission model (``AbruptQPC``, ``SaddlePointQPC``,
            ``TabulatedTransmission``), energies in E1.
        mu: mean electrochemical potential μ̄ = (μ_L + μ_R)/2, in E1, measured
            from the band bottom of the leads; μ_R = μ̄ − bias/2 must be ≥ 0.
        bias: eV = μ_L − μ_R > 0, in E1 (electrons flow left → right).
        kT: k_BT ≥ 0, in E1 (same temperature in both reservoirs). A scalar is
            fastest (thermal averages are tabulated once for all points).

    Returns:
        :class:`Transport` with current in 2eE1/h and powers in 2E1²/h.
        Physical units: multiply currents by 2eE1/h (A) and powers by 2E1²/h
        (W), see :func:`jaxqpc.QPCUnits`.

    Raises:
        ValueError: naming the argument, for non-finite values, bias ≤ 0,
            kT < 0, μ_R < 0, or a window beyond ``model.max_energy``.

    Outside the domain: ValueError eagerly, NaN under jit (every field of the
    :class:`Transport`). The window ends μ_R ≥ 0 and μ_L + 36 k_BT ≤
    ``max_energy`` (and μ_R − 36 k_BT ≥ ``min_energy`` of a table) tolerate
    round-off (1e-9 relative); the integrals stop at the ends of the model's
    energy grid, so such a window gives the edge's value.
    """
    warn_if_float32()
    ok, ok_kT = _window_rules(model, mu, bias, kT)
    ok_model = model._valid()
    ok = ok & ok_model
    model = model._safe(ok_model)
    mu_safe, bias_safe = _safe_window(model)
    if jnp.ndim(kT) == 0:  # keep a scalar kT scalar (the fast path)
        (kT,) = substitute(ok_kT, (kT, 0.0))
        mu, bias = substitute(ok, (mu, mu_safe), (bias, bias_safe))
    else:
        mu, bias, kT = substitute(ok, (mu, mu_safe), (bias, bias_safe), (kT, 0.0))
    mu, bias, kT = (jnp.asarray(x, dtype=float) for x in (mu, bias, kT))
    if kT.ndim == 0:  # eagerly: one program for any number of points up to SCALAR_KT_POINTS
        result = size_bucketed(lambda m, b: _transport_scalar_kT(model, m, b, kT), mu, bias,
                               min_size=SCALAR_KT_POINTS)
    else:
        result = size_bucketed(lambda m, b, t: _transport_array_kT(model, m, b, t), mu, bias, kT,
                               min_size=ARRAY_KT_POINTS)
    return nan_outside(ok, result)


def _window_rules(model, mu, bias, kT):
    """Domain of :func:`transport` in (μ̄, eV, k_BT) for ``model`` (ValueError on concrete
    values); returns the masks (all rules, the rule on k_BT alone)."""
    ok = check_finite("mu", mu) & check_positive("bias", bias)
    ok_kT = check_nonnegative("kT", kT)
    ok = ok & ok_kT
    m, v, t = arrays(mu, bias, kT)
    ok &= check_at_least(
        m - 0.5 * v, 0.0, lambda bad: (f"`mu` - `bias`/2 (μ_R) must be >= 0 (the band bottom of the "
                                       f"leads); got μ_R = {np.min(bad):g} E1"),
        scale=0.5 * v)
    lo = getattr(model, "min_energy", None)
    if lo is not None and lo > 0:
        ok &= check_at_least(
            m - 0.5 * v - THERMAL_CUTOFF * t, lo,
            lambda bad: (f"`mu`, `bias`, `kT`: the thermal window reaches {np.min(bad):g} E1,"
                         f" below the start of the tabulated transmission ({lo:g} E1)"))
    ok &= check_at_most(
        m + 0.5 * v + THERMAL_CUTOFF * t, model.max_energy,
        lambda bad: (f"`mu`, `bias`, `kT`: the window μ_L + {THERMAL_CUTOFF:g} kT reaches "
                     f"{np.max(bad):g} E1, beyond the model's max_energy {model.max_energy:g} E1 "
                     "(increase `n_channels`/`max_energy`)"))
    return ok, ok_kT


def _safe_window(model):
    """An in-domain (μ̄, eV) at k_BT = 0: the middle half of the model's energy range."""
    lo, hi = model._energy_range()
    lo = max(lo, 0.0)
    return 0.5 * (lo + hi), 0.5 * (hi - lo)
