"""Static energy grids whose pieces are aligned with the non-analytic points of T(ε).

Every piece j carries a local variable s ∈ [−1, 1] and a quadratic map
ε(s) = c_j + α_j s + β_j s². A density that is analytic in s on every piece is
interpolated there by a polynomial in s, and its integrals ∫ g dε = ∫ g ε′(s) ds
stay exact polynomial integrals.

Grids are NumPy metadata fixed before tracing (they never depend on traced
parameters), so one compiled function serves every parameter value;
``locate`` finds pieces with O(1) arithmetic (no binary search on hot paths)
except for user knots.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np


def computed_once(index, n):
    """``index`` (0 ≤ index < n, integer) unchanged, as an integer remainder.

    XLA copies cheap elementwise operations into every consumer, so an index used by
    several gathers would have its whole computation (clip, square root, floor,
    select) repeated inside each of them; a remainder is not copied, so the index is
    computed once per point. The modulus is odd (n or n + 1): XLA turns a remainder
    by a power of two into a cheap bitwise and.
    """
    return jax.lax.rem(index, jnp.asarray(n | 1, dtype=index.dtype))


def take(values, index):
    """``values[index]`` for a 1-D ``values`` and indices known to be in range (no
    negative-index wrapping, no clamping: one load per index)."""
    dims = jax.lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    return jax.lax.gather(values, index[..., None], dims, slice_sizes=(1,),
                          mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS)


class Grid:
    """Pieces covering [edges[0], edges[-1]] (energies in E1) with local maps ε(s)."""

    def __init__(self, edges, c, alpha, beta):
        self.edges = np.asarray(edges, dtype=float)
        self.c, self.alpha, self.beta = (np.asarray(v, dtype=float) for v in (c, alpha, beta))

    @property
    def n_pieces(self):
        return self.edges.size - 1

    def energies(self, s):
        """ε(s) on every piece for local coordinates ``s``: shape (pieces, len(s))."""
        s = np.asarray(s)[None, :]
        return self.c[:, None] + self.alpha[:, None] * s + self.beta[:, None] * s * s

    def locate(self, energy):
        """(piece index, local coordinate s) of ``energy`` (clipped to the grid)."""
        raise NotImplementedError


class ThresholdGrid(Grid):
    """Intervals between consecutive thresholds ``knots`` (E1), each split at its middle.

    On the lower half of [a, b] the local variable is t = √(ε − a), on the upper
    half τ = √(b − ε), each cut into equal steps. A T(ε) with square-root-type
    branch points at the knots ((ε − a)^{1/2} or ^{3/2} terms) is analytic in t
    and τ, so polynomial pieces converge fast up to the singular points, and ε is
    quadratic in them. Pieces are at most about ``step`` wide in ε and
    ``root_step`` wide in t or τ.
    """

    def __init__(self, knots, step, root_step):
        knots = np.asarray(knots, dtype=float)
        width = np.diff(knots)
        halves = np.maximum(width / step, np.sqrt(0.5 * width) / root_step)
        self.knots = knots
        self.halves = np.maximum(2, np.ceil(halves).astype(int))  # pieces per half
        self.dt = np.sqrt(0.5 * width) / self.halves
        self.offset = np.concatenate([[0], np.cumsum(2 * self.halves)[:-1]])
        # per interval: (start, width, 1/dt, halves, offset)
        self._params = np.stack([knots[:-1], width, 1.0 / self.dt, self.halves, self.offset])
        base, sign, tc, th = [], [], [], []
        for a, b, h, dt in zip(knots[:-1], knots[1:], self.halves, self.dt):
            t_lo = dt * np.arange(h)
            base += [a] * h + [b] * h
            sign += [1.0] * h + [-1.0] * h
            tc += list(t_lo + 0.5 * dt) + list((t_lo + 0.5 * dt)[::-1])
            th += [0.5 * dt] * (2 * h)
        self.base, self.sign, self.tc, self.th = (np.array(v, dtype=float) for v in (base, sign, tc, th))
        # ε(s) = base + σ (tc + σ th s)², increasing in s on every piece (σ = ±1).
        lower = np.where(self.sign > 0, self.base + (self.tc - self.th) ** 2, self.base - (self.tc + self.th) ** 2)
        super().__init__(
            np.append(lower, knots[-1]),
            self.base + self.sign * self.tc**2,
            2 * self.tc * self.th,
            self.sign * self.th**2,
        )

    def _interval(self, e):
        """Index of the interval holding each (clipped) energy ``e``."""
        return jnp.clip(jnp.searchsorted(jnp.asarray(self.knots), e, side="right") - 1, 0, self.knots.size - 2)

    def _bounds(self, i):
        """(start, width) of interval ``i``."""
        return take(jnp.asarray(self._params[0]), i), take(jnp.asarray(self._params[1]), i)

    def locate(self, energy):
        e = jnp.clip(energy, self.knots[0], self.knots[-1])
        i = computed_once(self._interval(e), self.knots.size - 1)
        start, width = self._bounds(i)
        inv_dt, halves, offset = (take(jnp.asarray(p), i) for p in self._params[2:])
        frac = e - start
        upper = frac > 0.5 * width
        t = jnp.sqrt(jnp.maximum(jnp.where(upper, width - frac, frac), 1e-300))
        x = t * inv_dt
        k = jnp.minimum(jnp.floor(x), halves - 1.0)
        s = 2.0 * (x - k) - 1.0  # uniform pieces in t (or τ): no per-piece look-up
        j = offset + jnp.where(upper, 2.0 * halves - 1.0 - k, k)
        return j.astype(jnp.int32), jnp.where(upper, -s, s)


class SquaresGrid(ThresholdGrid):
    """The :class:`ThresholdGrid` on the squares 0, 1, 4, …, n² (the abrupt QPC, whose T has
    (ε − m²)^{3/2} terms); its interval is found as ⌊√ε⌋, without a search."""

    def __init__(self, n_intervals, step, root_step):
        self.n_intervals = n_intervals
        super().__init__(np.arange(n_intervals + 1) ** 2, step, root_step)

    def _interval(self, e):
        return jnp.clip(jnp.floor(jnp.sqrt(e)), 0, self.n_intervals - 1).astype(jnp.int32)

    def _bounds(self, i):
        m = i.astype(float)
        return m * m, 2.0 * m + 1.0


class LinearGrid(Grid):
    """Pieces with linear local maps ε = c + h s: uniform steps or user knots."""

    def __init__(self, edges, uniform):
        edges = np.asarray(edges, dtype=float)
        self.uniform = uniform
        super().__init__(edges, 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges),
                         np.zeros(edges.size - 1))

    def locate(self, energy):
        lo, hi = self.edges[0], self.edges[-1]
        e = jnp.clip(energy, lo, hi)
        if self.uniform:
            j = jnp.floor((e - lo) * (self.n_pieces / (hi - lo))).astype(jnp.int32)
        else:
            j = jnp.searchsorted(jnp.asarray(self.edges), e, side="right").astype(jnp.int32) - 1
        j = jnp.clip(j, 0, self.n_pieces - 1)
        return j, (e - jnp.asarray(self.c)[j]) / jnp.asarray(self.alpha)[j]


@functools.lru_cache(maxsize=32)
def squares_grid(n_intervals, step, root_step):
    """Cached :class:`SquaresGrid`."""
    return SquaresGrid(n_intervals, step, root_step)


@functools.lru_cache(maxsize=32)
def threshold_grid(knots, step, root_step):
    """Cached :class:`ThresholdGrid` on ``knots`` (a sorted tuple of energies in E1)."""
    return ThresholdGrid(knots, step, root_step)


@functools.lru_cache(maxsize=32)
def uniform_grid(lo, hi, step):
    """Cached uniform :class:`LinearGrid` with pieces of width ≤ ``step``."""
    n = max(1, int(math.ceil((hi - lo) / step)))
    return LinearGrid(np.linspace(lo, hi, n + 1), uniform=True)


@functools.lru_cache(maxsize=32)
def knot_grid(knots, levels=10):
    """Cached :class:`LinearGrid` on the given knots (a tuple), each interval refined
    geometrically towards both of its knots (widths h/2, h/4, … h/2^levels).

    Piecewise-cubic data are exact on any refinement; the refinement is for the
    thermally smoothed densities, which vary on the scale k_BT near every knot
    (where the cubic's second derivative jumps).
    """
    k = np.asarray(knots, dtype=float)
    h = np.diff(k)[:, None]
    r = 0.5 ** np.arange(1, levels + 1)[None, :]
    edges = np.unique(np.concatenate([k, (k[:-1, None] + h * r).ravel(), (k[1:, None] - h * r).ravel()]))
    return LinearGrid(edges, uniform=False)
