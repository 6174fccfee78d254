"""Position of maximum dissipation downstream of the QPC (the hot spot).

Blaas-Anselmi et al. 2022, Sec. 4, Eqs. 21–26. Dimensionless units: energies in
E1, lengths in 1/Q1 = 2w/π (``QPCUnits.length_unit_nm``).

Model. An electron of energy ε (from the band bottom of the unbiased leads)
crossing the QPC elastically releases its excess energy ε − μ_R in the right
lead at the distance l(ε) = v(ε) τ_i(ε) (Eq. 21). The whole potential drop is
in the QPC, so its kinetic energy on the right is K = ε + eV/2 and
v = (2K/M)^{1/2}; τ_i = ħ/2Γ with the electron–hole-pair damping of Eq. 22,
Γ = a (ε − μ_R)²/ε_ref. In dimensionless form (E1 = ħ²Q1²/2M)

    l(ε) = (1/Q1) · ε_ref (ε + eV/2)^{1/2} / (a (ε − μ_R)²),

decreasing on (μ_R, ∞). The power per unit length at distance r (Eqs. 24, 25)
is p_R(r) = p_R(ε)/|l′(ε)| at ε = l⁻¹(r), with p_R(ε) ∝ (ε − μ_R) T(ε)
[f(ε − μ_L) − f(ε − μ_R)] (Eq. 3b). Writing u = ε − μ_R (so K = u + μ̄),

    log p_R(r(ε)) = log T + log W + 4 log u + ½ log K − log(4K − u) + const,

and d/dε of it, multiplied by the positive 2Ku(4K − u) p_R(ε), is exactly the
condition printed after Eq. 26:
[24K² − 8Ku − u²] p_R + 2Ku(4K − u) p_R′ = 0. (Eq. 26 itself lacks a square:
dp_R/dr = −p_R′ (dl⁻¹/dr)² − p_R d²l⁻¹/dr².) ε* does not depend on a or ε_ref;
r* = l(ε*) ∝ ε_ref/a.

Reference energy ``reference``: Eq. 23 prints b = ħμ_R/(a√(2M)), i.e.
ε_ref = μ_R (``"mu_right"``, the default, as printed). Applying Eq. 22 on the
right side, where the kinetic Fermi energy is μ_R + eV/2 = μ̄, gives ε_ref = μ̄
(``"mu_bar"``, physically consistent; with μ_R, r* vanishes at eV = 2μ̄). The
two radii differ by the factor μ̄/μ_R; the energy ε* is the same.

The paper's example (second step of an abrupt QPC, ℓ = 1, μ̄ = ε_F = 4 E1,
n = 2·10¹¹ cm⁻² ⇒ E1 = 1.786 meV and 2w = 56.0 nm, 1/Q1 = 17.8 nm; V = 4 mV
⇒ eV = 2.239 E1; k_BT = 0.04 E1 (0.83 K); a = 0.04) gives ε* = 5.021 E1
(0.098 E1 below μ_L) and

* r* = 38.9/Q1 = 0.695 µm with ε_ref = μ_R (default, as printed),
* r* = 54.1/Q1 = 0.965 µm with ε_ref = μ̄,

not the r* ≈ 2 µm printed in the text (2.9× and 2.1× smaller; at k_BT = 0 they
would be 0.64 and 0.89 µm). 2 µm would need V ≈ 2.5 mV (2.48 mV with μ_R,
2.74 mV with μ̄), or τ_i = ħ/Γ instead of ħ/2Γ (r* doubles: 1.39 and 1.93 µm).

Numerics (``hot_spot``): g(ε) = log p_R(r(ε)) is evaluated on a uniform grid
of ``GRID_POINTS`` = 512 energies in (μ_R, μ_L + 30 k_BT]; the grid maximum is
bracketed by its two neighbours and the bracket is refined by
``ZOOM_LEVELS`` = 3 uniform sub-grids of ``ZOOM_POINTS`` = 65 points (each
shrinking it 32×), then by ``NEWTON_STEPS`` = 4 safeguarded Newton steps on g′
(steps leaving the bracket or with non-negative curvature are rejected). g′ is
exact (forward-mode differentiation); g″ is a central difference of g′ with
step 1e-4 × min(ε − μ_R, k_BT, 1 E1), because ``AbruptQPC`` has no second
derivative under automatic differentiation (its closed-form K̄_n carries a
first-order custom JVP only). The search runs on ``stop_gradient``-ed inputs;
derivatives follow from the implicit function theorem: the result is
ε0 + δ − stop_gradient(δ) with δ = −g′(ε0; θ)/g″(ε0), whose value is ε0 and
whose derivative in any parameter θ (μ̄, eV, k_BT, the model's fields) is
−∂_θ g′/g″ (g″ held constant).

At k_BT = 0 the window is [μ_R, μ_L] and p_R(ε) jumps to 0 at μ_L. There
d/dε log p_R(r) = T′/T + 4/u + 1/2K − 3/(4K − u) > T′/T, so unless T falls
steeply the maximum sits at the edge: ε* = μ_L exactly, r* = l(μ_L) (the
closest point reached by the hottest electrons), with derivatives those of
μ_L = μ̄ + eV/2. At k_BT > 0 the maximum is smooth; for eV ≫ 4k_BT it sits on the thermal
edge of the left distribution, where (1 − f(ε − μ_L))/k_BT balances ≈ 4/u:
ε* ≈ μ_L − k_BT ln(eV/4k_BT) (above μ_L for eV < 4k_BT). Hence
r* → ε_ref (μ̄ + eV)^{1/2}/(a (eV)²) ∝ V⁻² once k_BT ≪ eV ≪ μ̄, with the thermal
shift and the factor ε_ref (μ̄ + eV)^{1/2} as corrections: the local log-log
slope between eV = 0.6 and 1.2 E1 at k_BT = 0.01 E1 is −2.06 (ε_ref = μ_R) and
−1.94 (ε_ref = μ̄) for μ̄ = 4 E1 (ℓ = 1); at k_BT = 0.04 E1 and eV ≲ 0.3 E1 the
slope is far from −2 (−0.7 to −1.8).

Limitations: the grid resolves features of p_R(r) wider than ≈ (eV + 30 k_BT)/512;
a global maximum in a narrower peak (e.g. a sharp transmission resonance) can
be missed, and where two maxima of equal height swap, r* jumps (its derivative
is then that of the branch selected). The damping law Eq. 22 holds only for
eV ≪ μ̄ and below the plasmon–phonon threshold (|V| ≈ 10–12 mV in GaAs);
nothing checks this. At k_BT = 0 the returned derivative in k_BT is 0 (that
of the edge solution); the true right derivative diverges like ln(1/k_BT).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._bucketing import size_bucketed
from ._constants import BOLTZMANN_EV_K, GAAS_EFFECTIVE_MASS
from ._units import QPCUnits, _fermi_coefficient, fermi_energy_eV
from ._validate import (
    arrays,
    check_at_least,
    check_at_most,
    check_nonnegative,
    check_positive,
    check_rule,
    nan_outside,
    substitute,
    warn_if_float32,
)

__all__ = ["HotSpot", "hot_spot", "hot_spot_position"]

GRID_POINTS = 512
"""Uniform grid points in (μ_R, μ_L + THERMAL_REACH k_BT] for the global search."""
ZOOM_POINTS = 65
"""Points of each refinement sub-grid (the bracket shrinks (ZOOM_POINTS − 1)/2 = 32×)."""
ZOOM_LEVELS = 3
"""Number of refinement sub-grids."""
NEWTON_STEPS = 4
"""Safeguarded Newton steps on d/dε log p_R(r(ε)) after the refinement."""
THERMAL_REACH = 30.0
"""The search extends THERMAL_REACH k_BT above μ_L (p_R is ∝ e^{−30} ≈ 1e-13 there)."""

REFERENCES = ("mu_right", "mu_bar")
"""Allowed ``reference`` energies ε_ref of the damping rate Γ = a (ε − μ_R)²/ε_ref."""


class HotSpot(NamedTuple):
    """Result of :func:`hot_spot` (a PyTree of arrays).

    Attributes:
        energy: ε*, the energy (E1, from the band bottom of the unbiased leads)
            of the electrons whose relaxation gives the maximum power per unit
            length; independent of ``a`` and ``reference``.
        radius: r* = l(ε*), the distance from the QPC of the maximum of p_R(r),
            in units of 1/Q1 = 2w/π (multiply by ``QPCUnits.length_unit_nm``).
    """

    energy: jax.Array
    radius: jax.Array


def _log_density(energy, model, mu, bias, kT):
    """g(ε) = log p_R(r(ε)) up to ε-independent terms:
    log T + log W + 4 log u + ½ log K − log(4K − u).

    u = ε − μ_R, K = ε + eV/2; W = f(ε − μ_L) − f(ε − μ_R) is written as
    f(ε − μ_L) (1 − f(ε − μ_R)) (1 − e^{−eV/k_BT}) and its constant last factor
    dropped. At k_BT = 0, W = 1 (only called on (μ_R, μ_L] then).
    """
    mu_r = mu - 0.5 * bias
    mu_l = mu + 0.5 * bias
    u = energy - mu_r
    kinetic = energy + 0.5 * bias
    hot = kT > 0
    kT_safe = jnp.where(hot, kT, 1.0)
    log_w = -jax.nn.softplus((energy - mu_l) / kT_safe) - jax.nn.softplus(-u / kT_safe)
    log_w = jnp.where(hot, log_w, 0.0)
    return (jnp.log(model._total(energy)) + log_w + 4.0 * jnp.log(u)
            + 0.5 * jnp.log(kinetic) - jnp.log(4.0 * kinetic - u))


def _slope(energy, model, mu, bias, kT):
    """g′(ε) = d/dε log p_R(r(ε)), by forward-mode differentiation (jvp)."""
    return jax.jvp(lambda e: _log_density(e, model, mu, bias, kT), (energy,),
                   (jnp.ones_like(energy),))[1]


def _fd_step(energy, mu, bias, kT):
    """Step of the central difference for g″: 1e-4 × min(ε − μ_R, k_BT, 1)."""
    u = energy - (mu - 0.5 * bias)
    return 1e-4 * jnp.minimum(jnp.minimum(u, 1.0), jnp.where(kT > 0, kT, 1.0))


def _grid(lo, hi, n):
    """n points from lo to hi, both ends exact."""
    t = jnp.linspace(0.0, 1.0, n)
    return jnp.where(t == 1.0, hi, lo + (hi - lo) * t)


def _best(values, points):
    """Largest value's point (NaN counts as −∞) and its two neighbours (the bracket)."""
    values = jnp.where(jnp.isnan(values), -jnp.inf, values)
    i = jnp.argmax(values)
    n = points.shape[0]
    return points[i], points[jnp.maximum(i - 1, 0)], points[jnp.minimum(i + 1, n - 1)]


def _search(model, mu, bias, kT):
    """Maximiser ε0 of log p_R(r(ε)) (no derivatives) and whether it is the k_BT = 0 edge μ_L."""
    density = jax.vmap(_log_density, in_axes=(0, None, None, None, None))
    mu_r = mu - 0.5 * bias
    mu_l = mu + 0.5 * bias
    top = mu_l + THERMAL_REACH * kT
    top = jnp.where(top > model.max_energy, model.max_energy, top)  # past it by round-off only
    points = _grid(mu_r, top, GRID_POINTS + 1)  # points[0] = μ_R: p = 0
    values = density(points, model, mu, bias, kT).at[0].set(-jnp.inf)
    best, lo, hi = _best(values, points)

    def zoom(_, carry):
        _, lo, hi = carry
        points = _grid(lo, hi, ZOOM_POINTS)
        values = density(points, model, mu, bias, kT)
        return _best(jnp.where(points <= mu_r, -jnp.inf, values), points)

    best, lo, hi = jax.lax.fori_loop(0, ZOOM_LEVELS, zoom, (best, lo, hi))
    edge = (kT == 0) & (best >= mu_l)
    slopes = jax.vmap(_slope, in_axes=(0, None, None, None, None))

    def newton(_, carry):
        e, _ = carry
        h = _fd_step(e, mu, bias, kT)
        d_m, d1, d_p = slopes(jnp.stack([e - h, e, e + h]), model, mu, bias, kT)
        d2 = (d_p - d_m) / (2.0 * h)
        step = e - d1 / jnp.where(d2 < 0, d2, -1.0)
        ok = (d2 < 0) & (step >= lo) & (step <= hi) & jnp.isfinite(step) & ~edge
        return jnp.where(ok, step, e), d2

    # the returned g″ is the one at the last-but-one iterate; with Newton converged
    # the difference is of the order of the last (tiny) step.
    best, d2 = jax.lax.fori_loop(0, NEWTON_STEPS, newton, (best, jnp.zeros_like(best)))
    return best, edge, d2


def _hot_energy(model, mu, bias, kT):
    """ε* for scalar (μ̄, eV, k_BT), differentiable by the implicit function theorem."""
    sg = jax.lax.stop_gradient
    eps0, edge, d2 = _search(*sg((model, mu, bias, kT)))
    d1 = _slope(eps0, model, mu, bias, kT)
    delta = -d1 / jnp.where(edge | (d2 == 0), -1.0, d2)
    interior = eps0 + (delta - sg(delta))
    return jnp.where(edge, mu + 0.5 * bias, interior)


@jax.jit
def _hot_energies(model, mu, bias, kT):
    """ε* for broadcast arrays (μ̄, eV, k_BT) (vmap over the flattened points)."""
    shape = mu.shape
    flat = [x.reshape(-1) for x in (mu, bias, kT)]
    return jax.vmap(_hot_energy, in_axes=(None, 0, 0, 0))(model, *flat).reshape(shape)


def _radius(energy, mu, bias, a, reference):
    """r = l(ε) = ε_ref (ε + eV/2)^{1/2}/(a (ε − μ_R)²) in 1/Q1 (Eq. 23)."""
    mu_r = mu - 0.5 * bias
    reference_energy = mu_r if reference == "mu_right" else mu
    return reference_energy * jnp.sqrt(energy + 0.5 * bias) / (a * (energy - mu_r) ** 2)


def _check_reference(reference):
    if reference not in REFERENCES:
        raise ValueError(f"`reference` must be one of {REFERENCES}, got {reference!r}")


def _rules(model, mu, bias, kT, a, reference):
    """Domain of :func:`hot_spot` (mask, or ValueError on concrete values)."""
    ok = (check_positive("mu", mu) & check_positive("bias", bias) & check_nonnegative("kT", kT)
          & check_positive("a", a))
    m, v, t = arrays(mu, bias, kT)
    mu_r = m - 0.5 * v
    if reference == "mu_right":
        ok &= check_rule(mu_r > 0, lambda: (
            "`bias` must be < 2 `mu` with reference='mu_right' (ε_ref = μ_R = μ̄ − eV/2 must "
            f"be > 0); got μ_R = {np.min(mu_r):g}. Use reference='mu_bar' for larger biases."))
    max_energy = model.max_energy
    ok &= check_at_most(
        m + 0.5 * v + THERMAL_REACH * t, max_energy,
        lambda bad: (f"the search window reaches μ_L + {THERMAL_REACH:g} k_BT = {np.max(bad):g} E1, "
                     f"beyond the model's max_energy {max_energy:g} E1: lower `mu`, `bias` or `kT`, or "
                     "increase the model's `n_channels`/`max_energy`"))
    min_energy = getattr(model, "min_energy", None)
    if min_energy is not None and min_energy > 0:
        ok &= check_at_least(
            mu_r, min_energy,
            lambda bad: (f"μ_R = `mu` − `bias`/2 = {np.min(bad):g} E1 lies below the model's table start "
                         f"{min_energy:g} E1"))
    return ok


def _safe_point(model):
    """An in-domain (μ̄, eV) at k_BT = 0 for ``model``: μ_R and μ_L inside its energy range."""
    lo, hi = model._energy_range()
    lo = max(lo, 0.0)
    return 0.5 * (lo + hi), 0.25 * (hi - lo)


def hot_spot(model, mu, bias, kT, *, a=0.04, reference="mu_right"):
    """Energy ε* and distance r* of the maximum power dissipated per unit length
    on the right (downstream) side of the QPC (Blaas-Anselmi et al. 2022, Sec. 4).

    r* is the maximiser of p_R(r) = p_R(ε)/|l′(ε)| at ε = l⁻¹(r) (Eq. 25), with
    l(ε) = ε_ref (ε + eV/2)^{1/2}/(a (ε − μ_R)²) (Eq. 23, units 1/Q1 = 2w/π) and
    p_R(ε) of Eq. 3b; ε* solves the condition printed after Eq. 26. See the
    module documentation for the derivation, the numerics and the paper's
    example (r* = 0.69 µm with μ_R, 0.96 µm with μ̄; the text prints ≈ 2 µm).

    Args:
        model: transmission model (``AbruptQPC``, ``SaddlePointQPC``,
            ``TabulatedTransmission``); differentiable in its float fields.
        mu: mean electrochemical potential μ̄ (E1), > 0.
        bias: eV = μ_L − μ_R (E1), > 0 (and < 2μ̄ with ``reference="mu_right"``).
        kT: k_BT (E1), ≥ 0. At 0 the maximum is usually the edge ε* = μ_L.
        a: dimensionless damping constant of Eq. 22 (≈ 0.04 for GaAs at
            n = 2·10¹¹–10¹² cm⁻²), > 0. Only scales r* (∝ 1/a).
        reference: ε_ref in Γ = a (ε − μ_R)²/ε_ref: ``"mu_right"`` (default,
            μ_R as printed in Eq. 23) or ``"mu_bar"`` (μ̄, Eq. 22 applied with the
            right lead's own Fermi energy). r*(mu_bar)/r*(mu_right) = μ̄/μ_R.

    ``mu``, ``bias``, ``kT`` and ``a`` broadcast against each other; the
    function is jit-, vmap- and grad-able (gradients by the implicit function
    theorem, also in the model's parameters).

    Returns:
        :class:`HotSpot` (energy ε* in E1, radius r* in 1/Q1), of the broadcast shape.

    Raises:
        ValueError: naming the argument, for ``mu`` ≤ 0, ``bias`` ≤ 0,
            ``kT`` < 0, ``a`` ≤ 0, an unknown ``reference``, ``bias`` ≥ 2 ``mu``
            with ``reference="mu_right"``, or a search window beyond the model's
            energy range.

    Outside the domain: ValueError eagerly, NaN under jit (both fields). The
    window's top μ_L + 30 k_BT past ``max_energy`` by round-off (1e-9
    relative) is searched up to ``max_energy``.
    """
    _check_reference(reference)
    ok = _rules(model, mu, bias, kT, a, reference)
    warn_if_float32()
    ok_model = model._valid()
    ok = ok & ok_model
    model = model._safe(ok_model)
    mu_safe, bias_safe = _safe_point(model)
    mu, bias, kT, a = substitute(ok, (mu, mu_safe), (bias, bias_safe), (kT, 0.0), (a, 0.04))
    mu, bias, kT, a = jnp.broadcast_arrays(*(jnp.asarray(x, dtype=float) for x in (mu, bias, kT, a)))
    energy = size_bucketed(lambda m, v, t: _hot_energies(model, m, v, t), mu, bias, kT)
    return nan_outside(ok, HotSpot(energy, _radius(energy, mu, bias, a, reference)))


def hot_spot_position(model, *, density_cm2, mu, bias_V, temperature_K, a=0.04,
                      reference="mu_right", effective_mass=GAAS_EFFECTIVE_MASS):
    """Distance r* (nm) of the hot spot from the QPC, in physical units.

    E1 follows from the 2DEG density with ε_F = μ̄
    (``QPCUnits.from_density(density_cm2, mu, effective_mass)``), then
    r* = :func:`hot_spot` (…).radius × 2w/π.

    Args:
        model: transmission model (dimensionless, energies in E1).
        density_cm2: 2DEG density n (cm⁻²), > 0.
        mu: μ̄ = ε_F in E1 (> 0); fixes E1 = ε_F(n)/μ̄.
        bias_V: bias voltage |V| (V), > 0 (and e|V| < 2ε_F with ``reference="mu_right"``).
        temperature_K: temperature (K), ≥ 0.
        a, reference: as in :func:`hot_spot`.
        effective_mass: M/m_e (GaAs: 0.067).

    Example (Sec. 4 of the paper; k_BT = 0.04 E1 is 0.829 K here)::

        hot_spot_position(AbruptQPC(length=1.0), density_cm2=2e11, mu=4.0,
                          bias_V=4e-3, temperature_K=0.829)
        # ≈ 695 nm (reference="mu_right"); 965 nm with reference="mu_bar".
        # The paper prints ≈ 2 µm (see the module documentation).

    Outside the domain (also that of :func:`hot_spot` for the converted
    arguments): ValueError eagerly, NaN under jit.
    """
    _check_reference(reference)
    ok = (check_positive("density_cm2", density_cm2) & check_positive("mu", mu)
          & check_positive("bias_V", bias_V) & check_nonnegative("temperature_K", temperature_K)
          & check_positive("a", a))
    d, m, bv, t = arrays(density_cm2, mu, bias_V, temperature_K)
    e1 = fermi_energy_eV(d, effective_mass) / m  # E1 (eV) of QPCUnits.from_density
    bias, kT = bv / e1, BOLTZMANN_EV_K * t / e1
    if reference == "mu_right":
        ok &= check_rule(bias < 2 * m, lambda: (
            "`bias_V` must be < 2ε_F/e with reference='mu_right' (ε_ref = μ_R = ε_F − e|V|/2 "
            f"must be > 0); got e|V| = {np.max(np.asarray(bias / m)):g} ε_F. Use reference='mu_bar'."))
    ok &= _rules(model, m, bias, kT, a, reference)
    ok_model = model._valid()
    ok = ok & ok_model
    model = model._safe(ok_model)
    mu_safe, bias_safe = _safe_point(model)
    e1_safe = _fermi_coefficient(effective_mass) * 2e11 / mu_safe
    density_cm2, mu, bias_V, temperature_K, a = substitute(
        ok, (density_cm2, 2e11), (mu, mu_safe), (bias_V, bias_safe * e1_safe), (temperature_K, 0.0), (a, 0.04))
    units = QPCUnits.from_density(density_cm2, mu, effective_mass)
    result = hot_spot(model, mu, units.bias(bias_V), units.kT(temperature_K), a=a, reference=reference)
    return nan_outside(ok, result.radius * units.length_unit_nm)
