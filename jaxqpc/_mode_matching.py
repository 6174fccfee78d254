"""Exact transmission of a hard-wall QPC by continuum mode matching (``docs/qpc-exact.md``).

The geometry is two-dimensional with hard walls (ψ = 0): a straight channel of
width 2w and length L, centred between two semi-infinite leads of width W_lead.
Lengths are in units of 2w (ℓ = L/2w, lead width W = W_lead/2w > 1), energies
in E1 = ħ²π²/(8Mw²) and wavevectors in Q1 = π/(2w), so that the kinetic energy
is ε = k². Energies are measured from the potential floor (the band bottom of
infinitely wide leads, as for ``AbruptQPC``): the lead subbands open at
ε = (m/W)², the channel subbands at ε = n², and T = 0 below (1/W)².

Method (details and equations in ``docs/qpc-exact.md``):

* transverse modes φ_m (lead, m = 1…M) and χ_n (channel, n = 1…N), propagating
  and evanescent, with closed-form overlaps O_mn = ∫ φ_m χ_n dy;
* the device is symmetric under x → L − x: its S-matrix follows from the
  reflection matrices R_± of two half problems, a lead joined to a channel of
  length L/2 closed by a Neumann (+) or Dirichlet (−) wall, as
  r = (R_+ + R_−)/2, t = (R_+ − R_−)/2. In a half problem each channel mode
  has a fixed ratio ψ′/ψ at the junction, written as N_n/D_n with N_n, D_n
  entire functions of k_n² scaled by e^{−κ_n L/2} for evanescent modes: no
  division by k_n and no e^{+κL} anywhere;
* the geometry is also symmetric under y → −y: even and odd transverse modes
  are matched separately (O_mn = 0 between them);
* lead amplitudes are flux-normalised (by √q_m), so the propagating block of
  the S-matrix is unitary; the truncated matching conserves flux exactly.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._grid import threshold_grid
from ._transmission import _phase_functions, _Transmission
from ._validate import (
    _concrete,
    arrays,
    check_finite,
    check_positive,
    check_rule,
    nan_outside,
    substitute,
)

__all__ = ["ModeMatchedQPC"]

THRESHOLD_NUDGE = 1e-14
"""|ε − (m/W)²| (E1) below which a lead mode is evaluated at (m/W)² + this: the lead
wavevector √(ε − (m/W)²) is then never 0, so its derivative (infinite exactly at a
threshold, where T has a square-root cusp) stays finite."""


# ---------------------------------------------------------------------------
# Energy grid aligned with the thresholds
# ---------------------------------------------------------------------------


def threshold_knots(max_energy, lead_width):
    """0, the channel thresholds n², the lead thresholds (m/W)² below ``max_energy``, and
    ``max_energy`` (E1), sorted; knots closer than 1e-9 are merged."""
    n = np.arange(1, math.isqrt(int(max_energy)) + 2)
    m = np.arange(1, int(lead_width * math.sqrt(max_energy)) + 2)
    points = np.concatenate([[0.0, max_energy], n * n, (m / lead_width) ** 2])
    points = np.sort(points[points <= max_energy])
    keep = np.concatenate([[True], np.diff(points) > 1e-9])
    points = points[keep]
    points[-1] = max_energy
    return tuple(float(p) for p in points)


# ---------------------------------------------------------------------------
# Mode matching
# ---------------------------------------------------------------------------


def overlaps(lead_width, m, n):
    """O_mn = ∫_{−1/2}^{1/2} φ_m(y) χ_n(y) dy for lead modes ``m`` (..., M) and channel modes ``n`` (..., N).

    φ_m = √(2/W) sin(mπ(y + W/2)/W), χ_n = √2 sin(nπ(y + ½)) (lengths in 2w). In closed form
    O_mn = [cos((m − n)π/2) sinc((m/W − n)/2) − cos((m + n)π/2) sinc((m/W + n)/2)]/√W
    with sinc x = sin(πx)/(πx). ``m``, ``n`` are static integer arrays with equal leading
    axes; ``lead_width`` broadcasts in front of them. Result: (..., M, N).
    """
    m, n = np.asarray(m)[..., :, None], np.asarray(n)[..., None, :]
    c_minus = np.round(np.cos(0.5 * np.pi * (m - n)))
    c_plus = np.round(np.cos(0.5 * np.pi * (m + n)))
    w = jnp.asarray(lead_width).reshape(jnp.shape(lead_width) + (1,) * m.ndim)
    r = m / w
    return (c_minus * jnp.sinc(0.5 * (r - n)) - c_plus * jnp.sinc(0.5 * (r + n))) / jnp.sqrt(w)


def lead_wavevectors(energy, lead_width, m):
    """q_m = √(ε − (m/W)²) (in Q1) and whether mode m propagates; q_m = iκ_m when it is evanescent.

    ``m``: static integer array (P, M); ``energy`` and ``lead_width`` broadcast in front of it.
    Energies within ``THRESHOLD_NUDGE`` of a threshold are evaluated just above it.
    """
    w = jnp.asarray(lead_width)[..., None, None]
    x = jnp.asarray(energy)[..., None, None] - (np.asarray(m) / w) ** 2
    x = jnp.where(jnp.abs(x) < THRESHOLD_NUDGE, THRESHOLD_NUDGE, x)
    open_ = x > 0
    root = jnp.sqrt(jnp.where(open_, x, -x))
    return jnp.where(open_, root, 1j * root), open_


def channel_terminations(energy, length, n):
    """(D, N) of the channel modes ``n`` (P, N) for the two half problems (new axis −2: Neumann, Dirichlet).

    The field of mode n in the half channel 0 ≤ x ≤ ℓ/2 is cos(γ(x − ℓ/2)) (Neumann at the
    mirror plane) or −sin(γ(x − ℓ/2))/γ (Dirichlet), γ = π√(ε − n²) per unit 2w; D = ψ(0),
    N = ψ′(0). With h = ℓ/2, c = cos(γh), s = sin(γh)/(γh): D₊ = c, N₊ = γ²h s, D₋ = h s,
    N₋ = −c. Entire in γ², so channel thresholds need no care; for evanescent modes c and s
    come scaled by e^{−κh} (``_phase_functions``), a factor common to D and N that cancels.
    Result: two arrays (..., P, 2, N).
    """
    k2 = math.pi**2 * (jnp.asarray(energy)[..., None, None] - np.asarray(n, dtype=float) ** 2)
    h = 0.5 * jnp.asarray(length)[..., None, None]
    c, s, _ = _phase_functions(h * h * k2)
    hs = h * s
    return jnp.stack([c, hs], axis=-2), jnp.stack([k2 * hs, -c], axis=-2)


def half_problem_matrices(energy, length, lead_width, m, n, n_out):
    """Z = O′ D G⁻¹ O′ᵀ with G = N + i Oᵀ diag(πq) O D, and (q, open) of the first ``n_out`` lead modes.

    ``m`` (P, M) and ``n`` (P, N): lead and channel mode numbers of each parity class p (the
    overlaps between classes vanish); O′ = the first ``n_out`` rows of O (all modes that can
    propagate). Z has shape (..., P, 2, n_out, n_out), axis −3 the half problems (Neumann,
    Dirichlet); q and open (..., P, n_out). One batched linear solve for everything. The
    flux-normalised reflection matrix of a half problem is R = 2i √β Z √β − 1 on the
    propagating lead modes (β = πq).
    """
    q, open_ = lead_wavevectors(energy, lead_width, m)
    o = overlaps(lead_width, m, n)
    d, nn = channel_terminations(energy, length, n)
    obo = jnp.einsum("...mi,...m,...mj->...ij", o, math.pi * q, o)
    g = 1j * obo[..., None, :, :] * d[..., None, :] + nn[..., :, None] * np.eye(n.shape[-1])
    o_out = o[..., :n_out, :]
    rhs = jnp.broadcast_to(jnp.swapaxes(o_out, -1, -2)[..., None, :, :], g.shape[:-1] + (n_out,))
    w = jnp.linalg.solve(g, rhs.astype(g.dtype))
    z = jnp.einsum("...mi,...xi,...xij->...xmj", o_out, d, w)
    return z, q[..., :n_out], open_[..., :n_out]


def parity_modes(n_lead_modes, n_modes):
    """Static mode numbers (2, M/2) and (2, N/2): row 0 the odd numbers (modes even in y), row 1 the even."""
    m, n = np.arange(1, n_lead_modes + 1), np.arange(1, n_modes + 1)
    return m.reshape(-1, 2).T.copy(), n.reshape(-1, 2).T.copy()


def _interleave(x):
    """(..., 2, K) per parity class → (..., 2K) in mode order 1, 2, 3, …"""
    return jnp.swapaxes(x, -1, -2).reshape(x.shape[:-2] + (2 * x.shape[-1],))


def _block_diagonal(x):
    """(..., 2, K, K) per parity class → (..., 2K, 2K) in mode order (zero between classes)."""
    k = x.shape[-1]
    select = np.zeros((2, k, 2 * k))
    select[0, np.arange(k), 2 * np.arange(k)] = 1.0
    select[1, np.arange(k), 2 * np.arange(k) + 1] = 1.0
    return jnp.einsum("pkm,...pkl,pln->...mn", select, x, select)


class ModeMatchedQPC(_Transmission):
    """Hard-wall constriction between wide hard-wall leads, solved exactly by mode matching.

    A straight channel of width 2w (the unit of length) and length ℓ = L/(2w),
    centred between two semi-infinite leads of width W = W_lead/(2w) > 1. Method,
    truncation, accuracy and the comparison with ``AbruptQPC``: ``docs/qpc-exact.md``.

    ``channel_transmissions(ε)`` are the transmissions per incoming lead mode,
    T_m = Σ_m′ |t_m′m|² for the lead modes m = 1…``n_open`` (those that can
    propagate below ``max_energy``; 0 while closed), so 0 ≤ T_m ≤ 1 and
    Σ_m T_m = T = Tr t†t. ``scattering_matrix(ε)`` gives the whole flux-normalised
    S-matrix.

    Energies in E1, measured from the potential floor (the band bottom of
    infinitely wide leads, as for the other models): lead subbands open at
    (m/W)², channel subbands at n²; T = 0 for ε ≤ (1/W)².

    Args:
        length: ℓ = L/(2w) > 0 (traced).
        lead_width: W = W_lead/(2w), 1 < W ≤ ``grid_lead_width`` (traced); default 3.
        n_modes: channel modes kept (static, rounded up to even); default
            12⌈√max_energy⌉ (48 for the default ``max_energy``), for which T is
            converged to better than 1e-3 (docs/qpc-exact.md, Truncation).
        n_lead_modes: lead modes kept (static, rounded up to even); default
            ⌈W·n_modes⌉ with W = ``grid_lead_width``: the highest transverse
            wavevectors of both regions then agree, which is what makes the
            truncated matching converge to the right limit.
        max_energy: top of the energy domain and of the Landauer grid (static, E1);
            default 16.
        grid_length: the longest ℓ the Landauer table is resolved for (static;
            default max(1, ℓ) when ℓ is concrete, else 2), as for ``AbruptQPC``: a
            concrete ℓ beyond it raises, a traced one silently loses table accuracy
            (T itself is exact for any ℓ).
        grid_lead_width: the largest W the static structure is built for (static;
            default W when concrete, else 3): the grid's pieces are aligned with its
            lead thresholds (m/W)² and it fixes ``n_lead_modes`` and ``n_open``. A
            traced W below it is exact but its square-root cusps fall inside grid
            pieces (slightly less accurate Landauer tables).

    Outside the domain (ℓ ≤ 0, W ≤ 1 or W > ``grid_lead_width``, energies above
    ``max_energy``): ValueError eagerly, NaN under jit.
    """

    length: jax.Array
    lead_width: jax.Array
    n_modes: int = eqx.field(static=True)
    n_lead_modes: int = eqx.field(static=True)
    n_open: int = eqx.field(static=True)
    max_energy: float = eqx.field(static=True)
    grid_length: float = eqx.field(static=True)
    grid_lead_width: float = eqx.field(static=True)

    def __init__(self, length=1.0, lead_width=3.0, n_modes=None, n_lead_modes=None, max_energy=16.0,
                 grid_length=None, grid_lead_width=None):
        check_positive("max_energy", max_energy)
        a, w = _concrete(length), _concrete(lead_width)
        if grid_lead_width is None:
            grid_lead_width = 3.0 if w is None else float(np.max(w))
        if not float(grid_lead_width) > 1.0:
            raise ValueError(f"`grid_lead_width` must be > 1, got {grid_lead_width}")
        self.grid_lead_width = float(grid_lead_width)
        _rules(length, lead_width, self.grid_lead_width)
        self.length = jnp.asarray(length, dtype=float)
        self.lead_width = jnp.asarray(lead_width, dtype=float)
        self.max_energy = float(max_energy)
        if grid_length is None:
            grid_length = 2.0 if a is None else max(1.0, float(np.max(a)))
        check_positive("grid_length", grid_length)
        if a is not None and np.any(a > grid_length):
            raise ValueError(f"`length` {np.max(a):g} exceeds `grid_length` {grid_length:g}")
        self.grid_length = float(grid_length)
        root = math.sqrt(self.max_energy)
        self.n_modes = _even_count("n_modes", 12 * math.ceil(root) if n_modes is None else n_modes)
        if n_lead_modes is None:
            n_lead_modes = math.ceil(self.grid_lead_width * self.n_modes)
        self.n_lead_modes = _even_count("n_lead_modes", n_lead_modes)
        self.n_open = _even_count("n_open", math.floor(self.grid_lead_width * root) + 1)
        if self.n_open > self.n_lead_modes:
            raise ValueError(f"`n_lead_modes` = {self.n_lead_modes} must keep the {self.n_open} lead modes "
                             f"that propagate below max_energy = {self.max_energy:g}")

    @classmethod
    def from_nm(cls, width_nm, length_nm, lead_width_nm, **kwargs):
        """Build from the channel width 2w, its length L and the lead width W_lead in nm.

        ℓ = L/(2w), W = W_lead/(2w). Invalid sizes: ValueError eagerly, NaN under jit.
        """
        ok = (check_positive("width_nm", width_nm) & check_positive("length_nm", length_nm)
              & check_positive("lead_width_nm", lead_width_nm))
        width_nm, length_nm, lead_nm = substitute(ok, (width_nm, 1.0), (length_nm, 1.0), (lead_width_nm, 3.0))
        width_nm = jnp.asarray(width_nm, dtype=float)
        return cls(length=nan_outside(ok, jnp.asarray(length_nm) / width_nm),
                   lead_width=nan_outside(ok, jnp.asarray(lead_nm) / width_nm), **kwargs)

    def _valid(self):
        return _rules(self.length, self.lead_width, self.grid_lead_width)

    def _safe(self, ok):
        if ok is True:
            return self
        length, lead_width = substitute(ok, (self.length, 1.0), (self.lead_width, self.grid_lead_width))
        return eqx.tree_at(lambda m: (m.length, m.lead_width), self, (length, lead_width))

    @property
    def _grid(self):
        knots = threshold_knots(self.max_energy, self.grid_lead_width)
        return threshold_grid(knots, 0.25, 0.02 / self.grid_length)

    @property
    def _feature_width(self):
        """Width (E1) of the sharpest features of T up to ℓ = grid_length (static)."""
        return 0.05 / self.grid_length

    def _half_problems(self, energy):
        """(Z, q, open) of :func:`half_problem_matrices` at ``energy`` (any shape)."""
        m, n = parity_modes(self.n_lead_modes, self.n_modes)
        return half_problem_matrices(energy, self.length, self.lead_width, m, n, self.n_open // 2)

    def _channels(self, energy):
        z, q, open_ = self._half_problems(energy)
        beta = jnp.where(open_, math.pi * jnp.real(q), 0.0)
        t2 = jnp.abs(z[..., 0, :, :] - z[..., 1, :, :]) ** 2  # |t_m'm|² / (β_m' β_m)
        return _interleave(beta * jnp.einsum("...i,...ij->...j", beta, t2))

    def scattering_matrix(self, energy):
        """Flux-normalised S-matrix [[r, t′], [t, r′]] of the lead modes, and which modes propagate.

        Returns ``(S, open)``: S of shape (..., 2M, 2M) (M = ``n_open``; the first M
        indices are the left lead's modes 1…M, the last M the right lead's), with zero rows
        and columns for evanescent modes, and ``open`` (..., 2M) bool. On the propagating
        block S†S = 1. Mirror symmetry makes r′ = r and t′ = t.

        Outside the domain: ValueError eagerly, NaN under jit.
        """
        ok, model, energy = self._checked(energy)
        z, q, open_ = model._half_problems(energy)
        root = jnp.where(open_, jnp.sqrt(math.pi * jnp.real(q)), 0.0)
        weight = root[..., :, None] * root[..., None, :]
        eye = jnp.where(open_[..., :, None], np.eye(open_.shape[-1]), 0.0)
        r = _block_diagonal(1j * weight * (z[..., 0, :, :] + z[..., 1, :, :]) - eye)
        t = _block_diagonal(1j * weight * (z[..., 0, :, :] - z[..., 1, :, :]))
        s = jnp.concatenate([jnp.concatenate([r, t], axis=-1), jnp.concatenate([t, r], axis=-1)], axis=-2)
        opened = _interleave(open_)
        return (nan_outside(ok if ok is True else ok[..., None, None], s),
                jnp.concatenate([opened, opened], axis=-1))


def _even_count(name, count):
    """A positive mode count rounded up to an even number (both transverse parities get half)."""
    if int(count) != count or count < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {count}")
    return int(count) + int(count) % 2


def _rules(length, lead_width, grid_lead_width):
    """Rules on (ℓ, W): ℓ > 0, 1 < W ≤ grid_lead_width (both finite)."""
    ok = check_positive("length", length) & check_finite("lead_width", lead_width)
    (w,) = arrays(lead_width)
    ok &= check_rule(w > 1.0, lambda: f"`lead_width` must be > 1 (wider than the channel), got {np.min(w):g}")
    return ok & check_rule(w <= grid_lead_width, lambda: (
        f"`lead_width` must be <= `grid_lead_width` = {grid_lead_width:g} (the largest W the model is "
        f"built for), got {np.max(w):g}"))
