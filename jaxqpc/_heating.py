"""Peak hot-electron temperature at an atomic contact (Buret et al. 2020, Sec. 4.2).

Two-temperature model in a cylinder of radius R0 and length Lc behind the
contact (Eqs. 1–3): Θ = T_e² − T_L² obeys ∇²Θ − Θ/L0² = 0, Θ = 0 at the drain
end z = Lc, the side-wall exchange ∂Θ/∂r + (h/R0) Θ = 0 at r = R0, and the power
of the N open channels enters through a disk of radius r_N = N λF/4 at z = 0.
The peak is at the centre of that disk:

    T_e² = T_L² + T0² S(ζ, ℓ, h, α),   ζ = r_N/R0, ℓ = Lc/R0, α = R0/L0,
    S = Σ_n μ_n J1(μ_n ζ) tanh(λ_n ℓ) / (λ_n μ_n² [J1(μ_n)² + J0(μ_n)²])      (Eqs. 2, 3)

with μ_n J1(μ_n)/J0(μ_n) = h and λ_n = (μ_n² + α²)^{1/2}. h = ∞ gives Eq. (4);
h = 0 gives Eq. (5) *corrected*: its first term is ζ Lc/(2 R0), not ζ Lc/R0
as printed (the n = 0 root gives J1(μ0 ζ) ≈ μ0 ζ/2; ``docs/errata-buret2020.md``).
The printed form is available as ``variant="printed_eq5"``.

How S is computed (exact, exponentially convergent, no eigenvalues): the same
boundary-value problem is expanded in axial modes cos(k_m z), k_m = (m + ½)π/ℓ,
whose radial parts are modified Bessel functions. Splitting off the solution
for an unbounded radius, S = (U + W)/(2ζ) with

* U, the disk source in a slab of thickness ℓ (Dirichlet at ℓ), by images at
  z = 2jℓ with alternating signs: U = Σ_j (−1)^j φ(2|j|ℓ),
  φ(s) = (e^{−αs} − e^{−α√(ζ²+s²)})/α (→ √(ζ²+s²) − s at α = 0), summed with
  the Cohen–Rodriguez Villegas–Zagier acceleration (``IMAGE_TERMS`` = 16
  terms, error ~5.8^{−16});
* W, the side-wall correction,
  W = (2/ℓ) Σ_m (ζ I1(κ_m ζ)/κ_m)(κ_m K1(κ_m) − h K0(κ_m))/(κ_m I1(κ_m) + h I0(κ_m)),
  κ_m² = k_m² + α², whose terms fall like e^{−κ_m(2−ζ)} (``WALL_TERMS`` = 12
  terms: the first omitted one is below e^{−12.5π/ℓ} ≤ 5e-12 for ℓ ≤ 1.5, the
  validated range ``MAX_LENGTH_RATIO``).

Measured against the radial series summed to 2·10⁵ terms with tail averaging:
≤ 1e-10 relative over ζ ∈ [1e-3, 1], ℓ ∈ [0.1, 1.5], h ∈ {0, ∞} (the tests
cover finite h and α > 0 as well).

Both are smooth in ζ, ℓ, h (through t = h/(1+h), so h = ∞ is t = 1) and α, so
gradients are finite everywhere, including h = 0, h = ∞ and ζ = 1.

Domain (ζ ≤ 1, ℓ ≤ 1.5, …): outside it, ValueError eagerly, NaN under jit
(``_validate``). ζ and ℓ past their upper edges by round-off (1e-9 relative)
are evaluated on the edge.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ._bucketing import size_bucketed
from ._constants import BOLTZMANN_EV_K
from ._materials import GOLD
from ._special import i0e, i1e, k0e, k1e
from ._validate import (
    arrays,
    check_at_most,
    check_nonnegative,
    check_positive,
    check_range_open,
    checked,
    clamp_to_edge,
    nan_outside,
    warn_if_float32,
)

__all__ = ["peak_heating_sum", "peak_temperature", "hot_electron_T0", "IMAGE_TERMS", "WALL_TERMS"]

IMAGE_TERMS = 16
"""Terms of the accelerated image sum (Cohen–Rodriguez Villegas–Zagier)."""
WALL_TERMS = 12
"""Axial modes of the side-wall correction."""
MAX_LENGTH_RATIO = 1.5
"""Largest Lc/R0 for which WALL_TERMS keeps 1e-9 accuracy."""


def _crvz_weights(n):
    """Weights w_k with Σ_k (−1)^k a_k ≈ Σ_{k<n} w_k a_k (Cohen, Rodriguez Villegas, Zagier,
    Exp. Math. 9 (2000), Algorithm 1)."""
    d = (3.0 + math.sqrt(8.0)) ** n
    d = 0.5 * (d + 1.0 / d)
    b, c = -1.0, -d
    weights = np.zeros(n)
    for k in range(n):
        c = b - c
        weights[k] = c
        b = (k + n) * (k - n) * b / ((k + 0.5) * (k + 1.0))
    return weights / d  # the alternating signs are already in c


_IMAGE_W = _crvz_weights(IMAGE_TERMS)


def _disk_on_axis(zeta, s, alpha):
    """φ(s) = (e^{−αs} − e^{−α√(ζ²+s²)})/α, the on-axis field of a unit-flux disk."""
    gap = zeta * zeta / (jnp.sqrt(zeta * zeta + s * s) + s)  # √(ζ²+s²) − s without cancellation
    screened = alpha > 0
    a = jnp.where(screened, alpha, 1.0)
    return jnp.where(screened, -jnp.exp(-a * s) * jnp.expm1(-a * gap) / a, gap)


def peak_heating_sum(zeta, length_ratio, h, screening=0.0):
    """S(ζ, ℓ, h, α) of Eqs. (2)–(3) at the hot spot (r = 0, z = 0), dimensionless.

    T_e² = T_L² + T0² S. Exact (see the module docstring), differentiable in all
    arguments, broadcasting.

    Args:
        zeta: ζ = r_N/R0 ∈ (0, 1].
        length_ratio: ℓ = Lc/R0 ∈ (0, 1.5].
        h: side-wall exchange parameter ∈ [0, ∞] (``jnp.inf`` allowed).
        screening: α = R0/L0 ≥ 0 (0 for L0 = ∞, the default of the paper).

    Outside the domain: ValueError eagerly, NaN under jit. ζ and ℓ above 1 and
    1.5 by round-off (1e-9 relative) are evaluated at 1 and 1.5.
    """
    warn_if_float32()
    ok_z, zeta = checked(check_range_open("zeta", zeta, 0.0, 1.0, tolerant=True), zeta, 0.5)
    ok_l, ell = checked(_length_ratio_rule("length_ratio", length_ratio, "`length_ratio` (Lc/R0)"),
                        length_ratio, 1.0)
    ok_h, h = checked(check_nonnegative("h", h, allow_inf=True), h, 1.0)
    ok_a, alpha = checked(check_nonnegative("screening", screening), screening, 0.0)
    zeta = clamp_to_edge(zeta, hi=1.0)
    ell = clamp_to_edge(ell, hi=MAX_LENGTH_RATIO)
    h, alpha = jnp.asarray(h, dtype=float), jnp.asarray(alpha, dtype=float)
    return nan_outside(ok_z & ok_l & ok_h & ok_a, size_bucketed(_peak_sum, zeta, ell, h, alpha))


def _length_ratio_rule(name, ratio, what):
    ok = check_positive(name, ratio)
    return ok & check_at_most(
        ratio, MAX_LENGTH_RATIO, lambda bad: f"{what} must be <= {MAX_LENGTH_RATIO:g}, got {np.max(bad):g}")


@jax.jit
def _peak_sum(zeta, ell, h, alpha):
    # Image sum U (depends on ζ, ℓ, α).
    j = jnp.arange(1, IMAGE_TERMS + 1, dtype=zeta.dtype)
    z, el, al = zeta[..., None], ell[..., None], alpha[..., None]
    images = _disk_on_axis(z, 2.0 * j * el, al) @ jnp.asarray(_IMAGE_W)
    u = _disk_on_axis(zeta, jnp.zeros_like(zeta), alpha) - 2.0 * images

    # Side-wall correction W: the κ-dependent factors depend on (ℓ, α, h) only.
    m = jnp.arange(WALL_TERMS, dtype=zeta.dtype)
    kappa = jnp.sqrt(((m + 0.5) * math.pi / el) ** 2 + al * al)
    infinite = jnp.isinf(h)
    h_safe = jnp.where(infinite, 0.0, h)
    t = jnp.where(infinite, 1.0, h_safe / (1.0 + h_safe))[..., None]
    ratio = (((1.0 - t) * kappa * k1e(kappa) - t * k0e(kappa))
             / ((1.0 - t) * kappa * i1e(kappa) + t * i0e(kappa)))  # ×e^{−2κ}
    x = kappa * z
    terms = (z / kappa) * i1e(x) * jnp.exp(x - 2.0 * kappa) * ratio
    w = (2.0 / ell) * jnp.sum(terms, axis=-1)
    return (u + w) / (2.0 * zeta)


def hot_electron_T0(contact_voltage, R0, material=GOLD):
    """T0 of Eq. (2) in K: k_B T0 = (6/π²) e V (λF/R0)^{1/2}.

    Args:
        contact_voltage: V, the voltage across the contact (V), > 0.
        R0: radius of the interconnection cylinder (nm), > 0.
        material: a :class:`Metal` (λF).
    With τ ≈ R0/v_F this is the paper's 96(eV)²E_F/(π⁴N_e v_F²λ_Fτ); 4938 K·(λF/R0)^{1/2}
    at 0.7 V (the paper prints 4.92·10³). Outside the domain: ValueError eagerly,
    NaN under jit.
    """
    ok_v, contact_voltage = checked(check_positive("contact_voltage", contact_voltage), contact_voltage, 1.0)
    ok_r, R0 = checked(check_positive("R0", R0), R0, 1.0)
    return nan_outside(ok_v & ok_r, _t0(contact_voltage, R0, material))


def _t0(contact_voltage, R0, material):
    ratio = material.fermi_wavelength_nm / jnp.asarray(R0, dtype=float)
    return 6.0 / math.pi**2 * jnp.asarray(contact_voltage, dtype=float) * jnp.sqrt(ratio) / BOLTZMANN_EV_K


def _peak_domain(n_channels, R0, Lc, h, contact_voltage, material, lattice_temperature, L0, heat_fraction):
    """Rules of :func:`peak_temperature` (ValueError on concrete values).

    Returns ``(ok, arguments)``: the mask, and the arguments with their own
    in-domain stand-ins where their own rules fail (shapes kept). ζ and Lc/R0
    are then clamped onto their edges by :func:`_peak_temperature`.
    """
    ok_n, n_channels = checked(check_positive("n_channels", n_channels), n_channels, 1.0)
    ok_r, R0 = checked(check_positive("R0", R0), R0, 1.0)
    ok_l, Lc = checked(check_positive("Lc", Lc), Lc, 0.5)
    ok_h, h = checked(check_nonnegative("h", h, allow_inf=True), h, 1.0)
    ok = ok_n & ok_r & ok_l & ok_h
    lc, r0 = arrays(Lc, R0)
    ok &= check_at_most(lc / r0, MAX_LENGTH_RATIO,
                        lambda bad: f"`Lc` must be <= {MAX_LENGTH_RATIO:g} R0, got Lc/R0 = {np.max(bad):g}")
    ok_t, lattice_temperature = checked(check_nonnegative("lattice_temperature", lattice_temperature),
                                        lattice_temperature, 300.0)
    ok_f, heat_fraction = checked(check_range_open("heat_fraction", heat_fraction, 0.0, 1.0, tolerant=True),
                                  heat_fraction, 1.0)
    ok_0, L0 = checked(check_positive("L0", L0, allow_inf=True), L0, jnp.inf)
    ok = ok & ok_t & ok_f & ok_0
    n, r0 = arrays(n_channels, R0)
    ok &= check_at_most(
        n * material.fermi_wavelength_nm / (4.0 * r0), 1.0,
        lambda bad: ("`n_channels`: the heated disk r_N = N λF/4 exceeds `R0` "
                     f"(ζ = {np.max(bad):g} > 1); increase R0 or lower N"))
    ok_v, contact_voltage = checked(check_positive("contact_voltage", contact_voltage), contact_voltage, 1.0)
    return ok & ok_v, (n_channels, R0, Lc, h, contact_voltage, lattice_temperature, L0, heat_fraction)


def _peak_temperature(n_channels, R0, Lc, h, contact_voltage, material, lattice_temperature, L0,
                      heat_fraction, variant="exact"):
    """T_e without checks; ζ, ℓ = Lc/R0 and the heat fraction clamped onto their edges (1, 1.5, 1),
    which also keeps stand-ins for arguments that are valid one by one but not jointly finite."""
    R0 = jnp.asarray(R0, dtype=float)
    zeta = clamp_to_edge(jnp.asarray(n_channels, dtype=float) * material.fermi_wavelength_nm / (4.0 * R0),
                         hi=1.0)
    ell = clamp_to_edge(jnp.asarray(Lc, dtype=float) / R0, hi=MAX_LENGTH_RATIO)
    alpha = R0 / jnp.asarray(L0, dtype=float)
    if variant == "printed_eq5":
        s = size_bucketed(_peak_sum, zeta, ell, 0.0, alpha) + 0.5 * zeta * ell
    else:
        s = size_bucketed(_peak_sum, zeta, ell, jnp.asarray(h, dtype=float), alpha)
    t0 = _t0(contact_voltage, R0, material)
    theta = clamp_to_edge(heat_fraction, hi=1.0) * t0 * t0 * s
    return jnp.sqrt(jnp.asarray(lattice_temperature, dtype=float) ** 2 + theta)


def peak_temperature(n_channels, *, R0, Lc, h, contact_voltage, material=GOLD, lattice_temperature=300.0,
                     L0=jnp.inf, variant="exact", heat_fraction=1.0):
    """Peak electron temperature T_e (K) behind an atomic contact with N open channels.

    Eqs. (2)–(5) of Buret et al. 2020 via :func:`peak_heating_sum`. Broadcasts
    over all array arguments; differentiable in all of them.

    Args:
        n_channels: N, number of open channels (real: sub-quantum conductances
            allowed), > 0; the heated disk has radius r_N = N λF/4 ≤ R0.
        R0: radius of the interconnection cylinder (nm).
        Lc: its length (nm), Lc ≤ 1.5 R0.
        h: side-wall exchange parameter, 0 ≤ h ≤ ∞ (``jnp.inf``: Eq. 4; 0: corrected Eq. 5).
        contact_voltage: voltage across the contact (V), > 0; sets T0.
        material: :class:`Metal` (default ``GOLD``).
        lattice_temperature: T_L (K), ≥ 0.
        L0: electron–lattice length (nm), > 0, default ∞ (its effect is < 0.2 %).
        variant: ``"exact"`` (default), or ``"printed_eq5"``: the paper's Eq. (5)
            as printed (first term ζLc/R0, twice the correct one; h is ignored),
            only to reproduce the paper's curves.
        heat_fraction: share of the power P_N = V²NG0 deposited at the drain
            end, in (0, 1]; 1 is the paper. Θ = T_e² − T_L² is proportional to
            the heat flux, so it scales with this share (see
            :func:`jaxqpc.downstream_fraction`).

    Outside the domain: ValueError eagerly (naming the argument), NaN under jit.
    ζ = NλF/(4R0), Lc/R0 and ``heat_fraction`` past 1, 1.5 and 1 by round-off
    (1e-9 relative) are on the edge and evaluated there.
    """
    if variant not in ("exact", "printed_eq5"):
        raise ValueError(f"`variant` must be 'exact' or 'printed_eq5', got {variant!r}")
    ok, (n_channels, R0, Lc, h, contact_voltage, lattice_temperature, L0, heat_fraction) = _peak_domain(
        n_channels, R0, Lc, h, contact_voltage, material, lattice_temperature, L0, heat_fraction)
    te = _peak_temperature(n_channels, R0, Lc, h, contact_voltage, material, lattice_temperature, L0,
                           heat_fraction, variant)
    return nan_outside(ok, te)
