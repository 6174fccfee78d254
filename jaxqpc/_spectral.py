"""Piecewise-polynomial tables of a spectral density g(ε) and its window integrals.

The Landauer integrals of Blaas-Anselmi et al. 2022 (Eqs. 1–5) reduce to two
integrals of a density over an energy window [a, b]:

    I(a, b) = ∫_a^b g(ε) dε,        M(a, b; r) = ∫_a^b (ε − r) g(ε) dε.

On every grid piece (see ``_grid``) g is interpolated at ``DEGREE + 1``
Chebyshev nodes of the local variable s, and I and M are exact integrals of that
interpolant. Because both come from one interpolant, P_L + P_R = V·I holds to
rounding; and M(a, b; r) is assembled without the catastrophic cancellation of
F1(b) − F1(a) − r (F0(b) − F0(a)): whole pieces enter through cumulative sums
kept in double-double (two float64s), partial pieces through local moments
centred on the piece. Small-bias asymmetries (P_A ∝ bias³) keep ~1e-14 absolute
accuracy. Derivatives with respect to the window ends are the exact
dI/db = g(b), dM/db = (b − r) g(b) (custom JVP), finite even where the local
coordinate is singular (at the integer squares of the abrupt QPC grid).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._grid import computed_once, take

DEGREE = 7
"""Polynomial degree per piece (8 Chebyshev nodes)."""

NODES = np.cos((2 * np.arange(DEGREE + 1) + 1) * np.pi / (2 * (DEGREE + 1)))[::-1]
_VANDER_INV = np.linalg.inv(np.vander(NODES, DEGREE + 1, increasing=True))


def _integration_matrix(n_in, shift):
    """Coefficients of s^shift·p(s) (p of n_in coefficients) -> those of ∫_{-1}^{s}."""
    out = np.zeros((n_in, n_in + shift + 1))
    for i in range(n_in):
        k = i + shift + 1  # power after integration
        out[i, k] = 1.0 / k
        out[i, 0] = -((-1.0) ** k) / k
    return out


_INT0 = _integration_matrix(DEGREE + 1, 0)  # (D+1, D+2)
_INT1 = np.pad(_integration_matrix(DEGREE + 1, 1), ((0, 0), (0, 1)))  # (D+1, D+4)
_INT2 = _integration_matrix(DEGREE + 1, 2)  # (D+1, D+4)


def _constants_for_trace():
    """The module's NumPy constants as JAX arrays of the current default precision.

    Converted explicitly on every trace: JAX caches its own conversion of a
    long-lived NumPy array passed implicitly to an operation (keyed on the array,
    not on ``jax_enable_x64``), so after switching to float64 a float32 copy made
    earlier would be reused and the program would fail to compile.
    """
    return tuple(jnp.asarray(a) for a in (NODES, _VANDER_INV.T, _INT0, _INT1, _INT2))


def node_energies(grid):
    """Energies of the interpolation nodes, shape (pieces, DEGREE + 1)."""
    return grid.energies(NODES)


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _dd_add(x, y):
    hi, lo = _two_sum(x[0], y[0])
    lo = lo + (x[1] + y[1])
    s = hi + lo
    return s, lo - (s - hi)


def _exclusive_cumsum_dd(x):
    """Σ_{i<j} x_i for j = 0…P in double-double precision: two rows (hi, lo)."""
    hi, lo = jax.lax.associative_scan(_dd_add, (x, jnp.zeros_like(x)), axis=-1)
    pad = jnp.zeros_like(x[..., :1])
    return jnp.concatenate([pad, hi], axis=-1), jnp.concatenate([pad, lo], axis=-1)


def _locate(grid, energy):
    """``grid.locate(energy)``, the piece index computed once (it feeds one gather per column)."""
    j, s = grid.locate(energy)
    return computed_once(j, grid.n_pieces), s


def _horner(columns, j, s):
    """Σ_k columns[k, j] s^k: the polynomial of piece j (coefficients stored column-wise) at s.

    One gather per coefficient from a contiguous column, each a plain load per point;
    a gather of whole rows (all coefficients of a piece) is materialised by XLA with
    the piece index recomputed for every element of the row.
    """
    out = take(columns[-1], j)
    for k in range(columns.shape[0] - 2, -1, -1):
        out = out * s + take(columns[k], j)
    return out


_I0 = slice(0, DEGREE + 2)
_I1 = slice(DEGREE + 2, 2 * DEGREE + 6)
_CUM = range(2 * DEGREE + 6, 2 * DEGREE + 12)
_C = 2 * DEGREE + 12


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _partials(grid, table, energy):
    """Per-point (∫g, ∫(ε' − c_j)g + ∫u from the piece start to ε, cumulative sums, c_j)."""
    j, s = _locate(grid, energy)
    cols = table.columns
    return (_horner(cols[_I0], j, s), _horner(cols[_I1], j, s), tuple(take(cols[k], j) for k in _CUM),
            take(cols[_C], j))


@_partials.defjvp
def _partials_jvp(grid, primals, tangents):
    table, energy = primals
    d_table, d_energy = tangents
    out = _partials(grid, table, energy)
    j, s = _locate(grid, energy)
    inside = (energy >= grid.edges[0]) & (energy <= grid.edges[-1])
    g = jnp.where(inside, _horner(table.coef, j, s), 0.0)
    u = jnp.where(inside, _horner(table.coef_u, j, s), 0.0)
    d_cols = d_table.columns
    t0 = _horner(d_cols[_I0], j, s) + g * d_energy
    t1 = _horner(d_cols[_I1], j, s) + ((energy - out[3]) * g + u) * d_energy
    return out, (t0, t1, tuple(take(d_cols[k], j) for k in _CUM), jnp.zeros_like(out[3]))


class SpectralTable(NamedTuple):
    """Window integrals of a tabulated density g (plus an optional moment correction u).

    ``window`` returns I = ∫_a^b g and M = ∫_a^b (ε − r) g + ∫_a^b u; u carries
    the thermal correction of the energy moments (zero at k_BT = 0).
    """

    coef: jax.Array  # (D+1, P) g(s), coefficient k of piece j at [k, j]
    coef_u: jax.Array  # (D+1, P) u(s)
    columns: jax.Array  # (2D+13, P): A0_j(s), A1_j(s) coefficients, 6 cumulative sums, c_j

    @staticmethod
    def from_node_values(grid, values, u_values=None):
        """Build from g (and u) at ``node_energies(grid)`` (shape (pieces, DEGREE + 1))."""
        if u_values is None:
            u_values = jnp.zeros_like(values)
        alpha, beta = jnp.asarray(grid.alpha)[:, None], jnp.asarray(grid.beta)[:, None]
        # NumPy constants converted explicitly at trace time (see ``_constants_for_trace``)
        nodes, vander_inv_t, int0_m, int1_m, int2_m = _constants_for_trace()
        jac = alpha + 2.0 * beta * nodes  # ε'(s)
        coef, coef_u = values @ vander_inv_t, u_values @ vander_inv_t
        weighted = (values * jac) @ vander_inv_t  # g ε'(s)
        int0 = weighted @ int0_m
        int1 = (alpha * (weighted @ int1_m) + beta * (weighted @ int2_m)
                + jnp.pad(((u_values * jac) @ vander_inv_t) @ int0_m, ((0, 0), (0, 2))))
        c = jnp.asarray(grid.c)
        m0, m1 = int0.sum(-1), int1.sum(-1)  # piece totals A(s = 1)
        cum = [_exclusive_cumsum_dd(x) for x in (m0, c * m0, m1)]
        cum = jnp.stack([row[:-1] for pair in cum for row in pair])
        return SpectralTable(coef.T, coef_u.T, jnp.concatenate([int0.T, int1.T, cum, c[None]]))

    def density(self, grid, energy):
        """The interpolated g(ε); 0 outside the grid."""
        j, s = _locate(grid, energy)
        inside = (energy >= grid.edges[0]) & (energy <= grid.edges[-1])
        return jnp.where(inside, _horner(self.coef, j, s), 0.0)

    def window(self, grid, a, b, ref):
        """(I, M) for windows [a, b] (a ≤ b) and reference energies ``ref`` (broadcast)."""
        a0a, a1a, cum_a, c_a = _partials(grid, self, a)
        a0b, a1b, cum_b, c_b = _partials(grid, self, b)

        def delta(k):
            return (cum_b[k] - cum_a[k]) + (cum_b[k + 1] - cum_a[k + 1])

        d0 = delta(0)
        integral = d0 + (a0b - a0a)
        moment = (delta(4) + (delta(2) - ref * d0) + (a1b - a1a)
                  + ((c_b - ref) * a0b - (c_a - ref) * a0a))
        return integral, moment
