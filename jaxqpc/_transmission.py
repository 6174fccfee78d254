"""Energy-dependent transmission T(ε) of a quantum point contact.

All energies are dimensionless, in units of E1 = ħ²π²/(8 M w²), the first
transverse level of a constriction of width 2w (Blaas-Anselmi et al. 2022,
Sec. 3). Energies are measured from the band bottom of the wide leads, so
there are no propagating states and ``T(ε) = 0`` for ε ≤ 0 in every model.

Every model is an equinox Module (a PyTree): its float fields are traced by
``jit``/``vmap``/``grad``; its integer and grid fields are static. Each model
provides ``channel_transmissions(energy)`` (T_n on the last axis),
``transmission(energy)`` (T = Σ T_n) and the energy grid its Landauer integrals
use (``_grid``), whose pieces are aligned with the points where T is not
analytic.

Domain: parameters (checked when the model is built) and energies up to
``max_energy`` (and from ``min_energy`` for a table). Outside it: ValueError
eagerly, NaN under jit (a model built from traced parameters is checked where
it is used). Energies past ``max_energy``/``min_energy`` by round-off (1e-9
relative) are evaluated on the edge.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._grid import knot_grid, squares_grid, uniform_grid
from ._validate import (
    _concrete,
    arrays,
    check_at_least,
    check_at_most,
    check_finite,
    check_positive,
    check_rule,
    clamp_to_edge,
    nan_outside,
    substitute,
    warn_if_float32,
)

__all__ = [
    "AbruptQPC",
    "SaddlePointQPC",
    "TabulatedTransmission",
]


class _Transmission(eqx.Module):
    """Interface shared by all transmission models (energies in E1)."""

    def transmission(self, energy):
        """Total transmission T(ε) = Σ_n T_n(ε) (dimensionless); ``energy`` in E1.

        Outside the model's energy range: ValueError eagerly, NaN under jit.
        """
        return jnp.sum(self.channel_transmissions(energy), axis=-1)

    def _total(self, energy):
        """T(ε) without the domain checks (for internal callers that checked their window)."""
        return jnp.sum(self._channels(jnp.asarray(energy, dtype=float)), axis=-1)

    def channel_transmissions(self, energy):
        """Channel transmissions T_n(ε), n = 1…N, on the last axis; ``energy`` in E1.

        Outside the model's energy range (or for invalid traced parameters):
        ValueError eagerly, NaN under jit.
        """
        warn_if_float32()
        ok, model, energy = self._checked(energy)
        t = _channels(model, energy)
        return nan_outside(ok if ok is True else ok[..., None], t)

    def _checked(self, energy):
        """The domain checks of a public method at ``energy``: (ok, a model and an energy that are
        safe to evaluate; the caller sets the result to NaN where ``ok`` is false)."""
        ok_model = self._valid()
        ok = ok_model & self._energy_rule("energy", energy)
        model = self._safe(ok_model)
        (energy,) = substitute(ok, (energy, self._safe_energy()))
        return ok, model, model._clamp_energy(energy)

    # -- domain ---------------------------------------------------------------------------------
    def _valid(self):
        """Rules on the model's parameters: ``True`` when concrete (checked when built),
        a mask when traced."""
        return True

    def _safe(self, ok):
        """The model with in-domain stand-ins for its parameters where ``ok`` is False."""
        return self

    def _energy_rule(self, name, energy, label=None):
        """Rule: ``energy`` (the argument ``name``; ``label`` in messages, default
        `name`) finite and within the model's energy range, up to round-off at the ends."""
        label = f"`{name}`" if label is None else label
        ok = check_finite(name, energy)
        return ok & check_at_most(
            energy, self.max_energy,
            lambda bad: (f"{label} must be <= {self.max_energy:g} E1 for this model (its channel "
                         f"cut); got {np.max(bad):g}. Increase `n_channels`."))

    def _clamp_energy(self, energy):
        return clamp_to_edge(energy, hi=self.max_energy)

    def _energy_range(self):
        """(lowest, highest) energy of the domain (E1), for in-domain stand-ins."""
        return 0.0, self.max_energy

    def _safe_energy(self):
        lo, hi = self._energy_range()
        return 0.5 * (lo + hi)


@eqx.filter_jit
def _channels(model, energy):
    """``model._channels(energy)`` as one compiled program: an eager call compiles once per
    shape and model type instead of once per array operation (under jit it joins the caller's program)."""
    return model._channels(energy)


# ---------------------------------------------------------------------------
# Abrupt constriction (Eqs. 18-20)
# ---------------------------------------------------------------------------


@jax.custom_jvp
def _mean_wavevector(energy, n):
    """Re and Im of K̄_n(ε) (Eq. 18): the mean of √(ε − q²) over q ∈ [n − 1, n + 1].

    Closed form of the integral (in units of Q1): for q ≤ k = √ε the antiderivative
    (q√(ε − q²) + ε arcsin(q/k))/2, for q > k the +i branch
    i(q√(q² − ε) − ε arccosh(q/k))/2. ``energy`` must be > 0. The derivative in ε
    is supplied in closed form (custom JVP), finite at q = k where the
    automatic derivative of arcsin/arccosh would be infinite × 0.
    """
    return _mean_wavevector_value(energy, n)


def _mean_wavevector_value(energy, n):
    k = jnp.sqrt(energy)

    def re_part(q):  # ∫_0^{min(q, k)} √(ε − x²) dx; the q ≥ k term q√(ε − q²) is exactly 0
        root = jnp.sqrt(jnp.maximum(energy - q * q, 0.0))
        return 0.5 * (jnp.where(q >= k, 0.0, q * root) + energy * _arcsin_ratio(q, k))

    def im_part(q):  # ∫_k^{max(q, k)} √(x² − ε) dx, exactly 0 for q ≤ k
        root = jnp.sqrt(jnp.maximum(q * q - energy, 0.0))
        return 0.5 * (jnp.where(q <= k, 0.0, q * root) - energy * _arccosh_ratio(q, k))

    lo, hi = n - 1.0, n + 1.0
    return 0.5 * (re_part(hi) - re_part(lo)), 0.5 * (im_part(hi) - im_part(lo))


def _arcsin_ratio(q, k):
    """arcsin(min(q, k)/k), exactly π/2 for q ≥ k.

    (XLA may rewrite k/k as k·(1/k) = 1 − ulp, so the clamp is done on q, not on the ratio.)
    """
    return jnp.where(q >= k, 0.5 * math.pi, jnp.arcsin(jnp.minimum(q, k) / k))


def _arccosh_ratio(q, k):
    """arccosh(max(q, k)/k) in the log1p form, exactly 0 for q ≤ k.

    (``jnp.arccosh`` also returns NaN at exactly 1 for some array sizes on CPU.)
    """
    t = jnp.maximum(jnp.maximum(q, k) / k - 1.0, 0.0)
    return jnp.where(q <= k, 0.0, jnp.log1p(t + jnp.sqrt(t * (t + 2.0))))


@_mean_wavevector.defjvp
def _mean_wavevector_jvp(primals, tangents):
    energy, n = primals
    d_energy, _ = tangents
    value = _mean_wavevector_value(energy, n)
    k = jnp.sqrt(energy)
    lo, hi = n - 1.0, n + 1.0
    # d/dε of the two antiderivatives: arcsin(min(q,k)/k)/2 and -arccosh(max(q,k)/k)/2.
    d_re = 0.25 * (_arcsin_ratio(hi, k) - _arcsin_ratio(lo, k))
    d_im = -0.25 * (_arccosh_ratio(hi, k) - _arccosh_ratio(lo, k))
    return value, (d_re * d_energy, d_im * d_energy)


def _phase_functions(y):
    """cos(√y) and sin(√y)/√y for real y (entire functions), times exp(-√(-y)) for y < 0.

    Returns (c, s, scale) with c = scale·cos√y, s = scale·sin√y/√y and
    scale = exp(−√(−y)) for y < 0 (1 otherwise), so that evanescent channels
    never overflow. A Taylor series near y = 0 keeps values and derivatives
    finite at the channel threshold K_n = 0.
    """
    small = jnp.abs(y) < 0.1
    y_safe = jnp.where(small, 1.0, y)
    r = jnp.sqrt(jnp.abs(y_safe))
    e = jnp.exp(-2.0 * r)
    c_big = jnp.where(y_safe > 0, jnp.cos(r), 0.5 * (1.0 + e))
    s_big = jnp.where(y_safe > 0, jnp.sin(r) / r, 0.5 * (1.0 - e) / r)
    scale_big = jnp.where(y_safe > 0, 1.0, jnp.exp(-r))
    # Taylor series of cos√y = Σ (−y)^j/(2j)! and sin√y/√y = Σ (−y)^j/(2j+1)!, |y| < 0.1.
    ys = jnp.where(small, y, 0.0)
    c_small = jnp.zeros_like(ys)
    s_small = jnp.zeros_like(ys)
    for j in reversed(range(9)):
        c_small = c_small * (-ys) + 1.0 / math.factorial(2 * j)
        s_small = s_small * (-ys) + 1.0 / math.factorial(2 * j + 1)
    return (jnp.where(small, c_small, c_big), jnp.where(small, s_small, s_big),
            jnp.where(small, 1.0, scale_big))


class AbruptQPC(_Transmission):
    """Abrupt constriction of length L and width 2w between wide leads.

    Transmission eigenvalues T_n = τ_n² of Eqs. (18)–(20) of Blaas-Anselmi et al.
    2022, with the overbars lost in the PDF restored: K_n = √(ε − n²) is the
    wavevector inside the constriction (imaginary for closed channels), K̄_n the
    mean of √(ε − q²) over q ∈ [n − 1, n + 1] in the leads (Eq. 18, closed form),
    τ_n = 4|K_n| Re K̄_n / |D_n| with
    D_n = (K_n + K̄_n)² e^{−iπℓK_n} − (K_n − K̄_n)² e^{iπℓK_n}.
    D_n/K_n = 4K̄_n cos(πℓK_n) − 2i(K_n² + K̄_n²) sin(πℓK_n)/K_n is an entire
    function of K_n², so τ_n is evaluated through it: the threshold limit
    (K_n → 0) is the continuous value, with no 0/0.

    Channels n > ⌊√ε⌋ + 1 have Re K̄_n = 0 and contribute exactly nothing, so
    keeping ``n_channels`` = N channels is exact for ε < N² (``max_energy``).

    Args:
        length: ℓ = L/(2w), constriction length in units of its width (> 0).
            The paper does not print its value; ℓ = 1 reproduces its Fig. 3
            colour ranges. Accuracy of the Landauer tables is verified for
            ℓ ≤ 5; the transmission itself is exact for any ℓ.
        n_channels: number of channels kept (static); default 10 (ε < 100 E1).
        grid_length: the longest ℓ the Landauer table is resolved for (static;
            default max(1, ℓ) when ℓ is concrete, else 2). Its pieces are
            ≤ 0.25 E1 wide and 0.02/grid_length wide in √|ε − m²|, which keeps
            the table within ~1e-10 of T (measured in the tests). Longer
            constrictions have sharper resonances: a traced ℓ beyond
            grid_length silently loses table accuracy.

    Outside the domain (ℓ ≤ 0, energies above ``max_energy``): ValueError
    eagerly, NaN under jit.
    """

    length: jax.Array
    n_channels: int = eqx.field(static=True)
    grid_length: float = eqx.field(static=True)

    def __init__(self, length=1.0, n_channels=10, grid_length=None):
        check_positive("length", length)
        if int(n_channels) < 1:
            raise ValueError(f"`n_channels` must be a positive integer, got {n_channels}")
        self.length = jnp.asarray(length, dtype=float)
        self.n_channels = int(n_channels)
        if grid_length is None:
            concrete = _concrete(length)
            grid_length = 2.0 if concrete is None else max(1.0, float(np.max(concrete)))
        check_positive("grid_length", grid_length)
        a = _concrete(length)
        if a is not None and np.any(a > grid_length):
            raise ValueError(f"`length` {np.max(a):g} exceeds `grid_length` {grid_length:g}")
        self.grid_length = float(grid_length)

    @classmethod
    def from_nm(cls, width_nm, length_nm, **kwargs):
        """Build from the constriction width 2w and length L in nm (ℓ = L/(2w)).

        Lengths ≤ 0: ValueError eagerly, NaN under jit (ℓ = NaN).
        """
        ok = check_positive("width_nm", width_nm) & check_positive("length_nm", length_nm)
        width_nm, length_nm = substitute(ok, (width_nm, 1.0), (length_nm, 1.0))
        # traced values outside the domain: ℓ = NaN, so the model gives NaN wherever it is used
        return cls(length=nan_outside(ok, jnp.asarray(length_nm) / jnp.asarray(width_nm)), **kwargs)

    @property
    def max_energy(self):
        """Largest energy (E1) at which the channel cut is exact: N²."""
        return float(self.n_channels**2)

    def _valid(self):
        return check_positive("length", self.length)

    def _safe(self, ok):
        if ok is True:
            return self
        return eqx.tree_at(lambda m: m.length, self, jnp.where(ok, self.length, 1.0))

    @property
    def _grid(self):
        return squares_grid(self.n_channels, 0.25, 0.02 / self.grid_length)

    @property
    def _feature_width(self):
        """Width (E1) of the sharpest features of T up to ℓ = grid_length (static)."""
        return 0.05 / self.grid_length

    def _channels(self, energy):
        energy = energy[..., None]
        n = jnp.arange(1, self.n_channels + 1, dtype=energy.dtype)
        open_leads = energy > 0
        e_safe = jnp.where(open_leads, energy, 1.0)
        re_k, im_k = _mean_wavevector(e_safe, n)
        x = e_safe - n * n  # K_n²
        pl = math.pi * self.length
        c, s, scale = _phase_functions(pl * pl * x)
        s = pl * s  # sin(πℓK)/K
        re_d = 4.0 * re_k * (c + im_k * s)
        im_d = 4.0 * im_k * c - 2.0 * s * (x + re_k * re_k - im_k * im_k)
        contributes = open_leads & (re_k > 0)
        denom = jnp.where(contributes, re_d * re_d + im_d * im_d, 1.0)
        t = 16.0 * (re_k * scale) ** 2 / denom
        return jnp.where(contributes, t, 0.0)


# ---------------------------------------------------------------------------
# Saddle-point constriction (Büttiker 1990)
# ---------------------------------------------------------------------------


class SaddlePointQPC(_Transmission):
    """Büttiker's saddle-point constriction: smooth steps, no plateau oscillations.

    T_n(ε) = 1/(1 + exp(−2π(ε − E_n)/ħω_x)) with E_n = V0 + ħω_y(n − ½),
    n = 1…N (M. Büttiker, Phys. Rev. B 41, 7906 (1990); ref. [31] of
    Blaas-Anselmi et al. 2022). T = 0 for ε ≤ 0 (no states in the leads).

    Args (energies in E1):
        omega_x: ħω_x, curvature of the saddle along the transport direction;
            sets the step width (10–90 % rise over ≈ 0.7 ħω_x).
        omega_y: ħω_y, transverse level spacing (step spacing).
        v0: saddle-point potential V0 (first step at V0 + ħω_y/2).
        n_channels: channels kept (static).
        max_energy: upper end of the energy grid (static, E1).
        grid_step: width of the Landauer-table pieces (static, E1); keep it
            ≤ ħω_x/3 for ~1e-10 relative accuracy of the powers (measured: 1e-7
            at ħω_x/2, 2.5e-10 at ħω_x/3, 1e-13 at ħω_x/6).

    Outside the domain (ħω_x, ħω_y ≤ 0, energies above ``max_energy``):
    ValueError eagerly, NaN under jit.
    """

    omega_x: jax.Array
    omega_y: jax.Array
    v0: jax.Array
    n_channels: int = eqx.field(static=True)
    max_energy: float = eqx.field(static=True)
    grid_step: float = eqx.field(static=True)

    def __init__(self, omega_x=0.25, omega_y=1.0, v0=0.5, n_channels=10,
                 max_energy=100.0, grid_step=0.05):
        check_positive("omega_x", omega_x)
        check_positive("omega_y", omega_y)
        check_finite("v0", v0)
        check_positive("max_energy", max_energy)
        check_positive("grid_step", grid_step)
        self.omega_x = jnp.asarray(omega_x, dtype=float)
        self.omega_y = jnp.asarray(omega_y, dtype=float)
        self.v0 = jnp.asarray(v0, dtype=float)
        self.n_channels = int(n_channels)
        self.max_energy = float(max_energy)
        self.grid_step = float(grid_step)

    def _valid(self):
        return (check_positive("omega_x", self.omega_x) & check_positive("omega_y", self.omega_y)
                & check_finite("v0", self.v0))

    def _safe(self, ok):
        if ok is True:
            return self
        fields = (self.omega_x, self.omega_y, self.v0)
        safe = substitute(ok, *zip(fields, (0.25, 1.0, 0.5)))
        return eqx.tree_at(lambda m: (m.omega_x, m.omega_y, m.v0), self, safe)

    @property
    def _grid(self):
        return uniform_grid(0.0, self.max_energy, self.grid_step)

    @property
    def _feature_width(self):
        return self.grid_step

    def _channels(self, energy):
        energy = energy[..., None]
        n = jnp.arange(1, self.n_channels + 1, dtype=energy.dtype)
        e_n = self.v0 + self.omega_y * (n - 0.5)
        t = jax.nn.sigmoid(2.0 * math.pi * (energy - e_n) / self.omega_x)
        return jnp.where(energy > 0, t, 0.0)


# ---------------------------------------------------------------------------
# Tabulated transmission
# ---------------------------------------------------------------------------


def _pchip_slopes(x, y):
    """Fritsch–Carlson (PCHIP) node slopes, as scipy.interpolate.PchipInterpolator."""
    h = jnp.diff(x)
    delta = jnp.diff(y) / h
    d0, d1 = delta[:-1], delta[1:]
    w1 = 2.0 * h[1:] + h[:-1]
    w2 = h[1:] + 2.0 * h[:-1]
    same_sign = (d0 * d1) > 0
    safe0 = jnp.where(same_sign, d0, 1.0)
    safe1 = jnp.where(same_sign, d1, 1.0)
    interior = jnp.where(same_sign, (w1 + w2) / (w1 / safe0 + w2 / safe1), 0.0)

    def end(h0, h1, m0, m1):
        d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        d = jnp.where(jnp.sign(d) != jnp.sign(m0), 0.0, d)
        return jnp.where((jnp.sign(m0) != jnp.sign(m1)) & (jnp.abs(d) > 3 * jnp.abs(m0)), 3 * m0, d)

    if x.shape[0] == 2:
        return jnp.stack([delta[0], delta[0]])
    first = end(h[0], h[1], delta[0], delta[1])
    last = end(h[-1], h[-2], delta[-1], delta[-2])
    return jnp.concatenate([first[None], interior, last[None]])


class TabulatedTransmission(_Transmission):
    """A user-supplied T(ε), e.g. from Kwant or a measured conductance trace G/G0.

    Interpolated by monotone piecewise-cubic Hermite (PCHIP, as
    ``scipy.interpolate.PchipInterpolator``): no overshoot, so T stays within
    the range of the data; C¹ and differentiable in the energies and values.
    It is one channel-summed curve: ``channel_transmissions`` has one entry.

    Args:
        energies: strictly increasing energies (E1), at least 2.
        values: T at those energies (≥ 0).
    Outside the domain (energies outside [energies[0], energies[-1]], values
    < 0): ValueError eagerly, NaN under jit; T = 0 for ε ≤ 0 as in every model. Landauer integrals need the
    whole thermal window [μ_R − 36 k_BT, μ_L + 36 k_BT] inside the table (or
    starting below 0, where T = 0).
    """

    energies: jax.Array
    values: jax.Array
    n_channels: int = eqx.field(static=True)
    _knots: tuple = eqx.field(static=True)

    def __init__(self, energies, values):
        e = _concrete(energies)
        shape = np.shape(energies)  # static, even when traced
        if len(shape) != 1 or shape[0] < 2:
            raise ValueError("`energies` must be a 1-D array with at least 2 entries")
        if np.shape(values) != shape:
            raise ValueError(f"`values` must have the shape of `energies` {shape}, got {np.shape(values)}")
        self._rules(energies, values)
        self.energies = jnp.asarray(energies, dtype=float)
        self.values = jnp.asarray(values, dtype=float)
        self.n_channels = 1
        self._knots = tuple(float(x) for x in (e if e is not None else []))

    @staticmethod
    def _rules(energies, values):
        """One mask for the whole table (a scalar when traced)."""
        ok = check_finite("energies", energies) & check_finite("values", values)
        e, v = arrays(energies, values)
        xp = jnp if isinstance(e, jax.Array) else np
        ok &= check_rule(xp.all(xp.diff(e) > 0), "`energies` must be strictly increasing")
        ok &= check_rule(xp.all(v >= 0), "`values` (transmissions) must be >= 0")
        return ok if ok is True else jnp.all(ok)

    def _valid(self):
        return self._rules(self.energies, self.values)

    def _safe(self, ok):
        if ok is True:
            return self
        knots = jnp.asarray(self._knots) if self._knots else jnp.linspace(0.0, 1.0, self.energies.shape[0])
        energies, values = substitute(ok, (self.energies, knots), (self.values, 1.0))
        return eqx.tree_at(lambda m: (m.energies, m.values), self, (energies, values))

    @property
    def min_energy(self):
        """Lowest tabulated energy (E1)."""
        return self._knots[0]

    @property
    def max_energy(self):
        """Highest tabulated energy (E1)."""
        return self._knots[-1]

    @property
    def _grid(self):
        return knot_grid(self._knots)

    @property
    def _feature_width(self):
        return 0.5 * float(np.min(np.diff(self._knots)))

    def _energy_rule(self, name, energy, label=None):
        ok = super()._energy_rule(name, energy, label)
        label = f"`{name}`" if label is None else label
        return ok & check_at_least(
            energy, self.min_energy,
            lambda bad: f"{label} must be >= {self.min_energy:g} E1 (start of the table); got {np.min(bad):g}")

    def _clamp_energy(self, energy):
        return clamp_to_edge(energy, lo=self.min_energy, hi=self.max_energy)

    def _energy_range(self):
        return self.min_energy, self.max_energy

    def _channels(self, energy):
        x, y = self.energies, self.values
        d = _pchip_slopes(x, y)
        i = jnp.clip(jnp.searchsorted(x, energy, side="right") - 1, 0, x.shape[0] - 2)
        h = x[i + 1] - x[i]
        t = (energy - x[i]) / h
        h00 = (1 + 2 * t) * (1 - t) ** 2
        h10 = t * (1 - t) ** 2
        h01 = t * t * (3 - 2 * t)
        h11 = t * t * (t - 1)
        value = h00 * y[i] + h10 * h * d[i] + h01 * y[i + 1] + h11 * h * d[i + 1]
        return jnp.where(energy > 0, value, 0.0)[..., None]
