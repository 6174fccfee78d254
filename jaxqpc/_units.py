"""Conversion between the QPC's dimensionless units (E1) and physical units.

The dimensionless scaling of Blaas-Anselmi et al. 2022: energies in
E1 = ħ²π²/(8 M w²), currents in 2eE1/h, powers and energy currents in 2E1²/h,
lengths in 1/Q1 = 2w/π.

Outside the domain (E1 ≤ 0, width or density ≤ 0, temperature < 0, …):
ValueError eagerly, NaN under jit. A :class:`QPCUnits` built from traced
invalid values holds E1 = NaN.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ._constants import (
    BOLTZMANN_EV_K,
    ELECTRON_MASS_KG,
    ELEMENTARY_CHARGE_C,
    GAAS_EFFECTIVE_MASS,
    HBAR_J_S,
    PLANCK_J_S,
)
from ._landauer import Transport, transport
from ._validate import (
    absorb_nan,
    check_finite,
    check_nonnegative,
    check_positive,
    nan_outside,
    substitute,
)

__all__ = ["QPCUnits"]


class QPCUnits(eqx.Module):
    """The energy scale E1 of a QPC and conversions to SI and back.

    Build it from the constriction width (:meth:`from_width`) or from the 2DEG
    density and the Fermi energy in E1 (:meth:`from_density`).

    Attributes:
        e1_eV: E1 in eV.
        effective_mass: M in units of the free-electron mass (GaAs: 0.067).

    E1 ≤ 0: ValueError eagerly, NaN under jit (E1 = NaN).
    """

    e1_eV: jax.Array
    effective_mass: float = eqx.field(static=True)

    def __init__(self, e1_eV, effective_mass=GAAS_EFFECTIVE_MASS):
        ok = check_positive("e1_eV", e1_eV)
        check_positive("effective_mass", effective_mass)
        self.e1_eV = nan_outside(ok, jnp.asarray(e1_eV, dtype=float))
        self.effective_mass = float(effective_mass)

    @classmethod
    def from_width(cls, width_nm, effective_mass=GAAS_EFFECTIVE_MASS):
        """E1 = ħ²π²/(8 M w²) for a constriction of width 2w = ``width_nm`` (nm).

        GaAs: E1 ≈ 5.61 eV nm²/(2w)², 3.51 meV for 2w = 40 nm. ``width_nm`` ≤ 0:
        ValueError eagerly, NaN under jit (E1 = NaN).
        """
        ok = check_positive("width_nm", width_nm)
        check_positive("effective_mass", effective_mass)
        (width_nm,) = substitute(ok, (width_nm, 40.0))
        # E1 (eV) = C / (2w in nm)², with C (eV nm²) formed in Python floats (no float32 underflow)
        c = HBAR_J_S**2 * math.pi**2 / (2.0 * effective_mass * ELECTRON_MASS_KG) / ELEMENTARY_CHARGE_C * 1e18
        return cls(nan_outside(ok, c / jnp.asarray(width_nm, dtype=float) ** 2), effective_mass)

    @classmethod
    def from_density(cls, density_cm2, fermi_energy_E1, effective_mass=GAAS_EFFECTIVE_MASS):
        """E1 such that the Fermi energy of a 2DEG of ``density_cm2`` (cm⁻²) equals
        ``fermi_energy_E1`` × E1 (spin-degenerate: ε_F = πħ²n/M).

        Example of Sec. 4: n = 2·10¹¹ cm⁻², ε_F = 4 E1 gives E1 = 1.79 meV, 2w = 56 nm.
        Arguments ≤ 0: ValueError eagerly, NaN under jit (E1 = NaN).
        """
        ok = check_positive("density_cm2", density_cm2) & check_positive("fermi_energy_E1", fermi_energy_E1)
        density_cm2, fermi_energy_E1 = substitute(ok, (density_cm2, 2e11), (fermi_energy_E1, 4.0))
        fermi_eV = fermi_energy_eV(density_cm2, effective_mass)
        return cls(nan_outside(ok, fermi_eV / jnp.asarray(fermi_energy_E1, dtype=float)), effective_mass)

    @property
    def width_nm(self):
        """Constriction width 2w (nm) with this E1."""
        c = (HBAR_J_S**2 * math.pi**2 / (2.0 * self.effective_mass * ELECTRON_MASS_KG)
             / ELEMENTARY_CHARGE_C * 1e18)  # eV nm²
        return jnp.sqrt(c / self.e1_eV)

    @property
    def length_unit_nm(self):
        """1/Q1 = 2w/π in nm, the length unit of the dimensionless hot-spot radius."""
        return self.width_nm / math.pi

    def energy(self, energy_eV):
        """eV → E1."""
        return jnp.asarray(energy_eV) / self.e1_eV

    def energy_eV(self, energy_E1):
        """E1 → eV."""
        return jnp.asarray(energy_E1) * self.e1_eV

    def kT(self, temperature_K):
        """Temperature (K) → k_BT in E1. (kT/E1 = 0.1 is 4.07 K for 2w = 40 nm GaAs.)

        Temperature < 0 (or E1 ≤ 0): ValueError eagerly, NaN under jit.
        """
        ok = check_nonnegative("temperature_K", temperature_K) & check_positive("e1_eV", self.e1_eV)
        temperature_K, e1 = substitute(ok, (temperature_K, 0.0), (self.e1_eV, 1e-3))
        return nan_outside(ok, BOLTZMANN_EV_K * jnp.asarray(temperature_K, dtype=float) / e1)

    def bias(self, bias_V):
        """Bias voltage |V| (V) → eV in E1."""
        return jnp.asarray(bias_V) / self.e1_eV

    @property
    def current_A(self):
        """The current unit 2eE1/h in ampere."""
        return 2.0 * ELEMENTARY_CHARGE_C * self.e1_eV * ELEMENTARY_CHARGE_C / PLANCK_J_S

    @property
    def power_W(self):
        """The power unit 2E1²/h in watt."""
        return 2.0 * (self.e1_eV * ELEMENTARY_CHARGE_C) ** 2 / PLANCK_J_S

    def transport(self, model, *, mu_eV, bias_V, temperature_K):
        """:func:`jaxqpc.transport` in SI units.

        Args:
            model: transmission model (dimensionless, energies in E1).
            mu_eV: mean electrochemical potential μ̄ from the band bottom (eV).
            bias_V: bias voltage |V| > 0 (V); μ_L − μ_R = e|V|.
            temperature_K: temperature of both reservoirs (K), ≥ 0.

        Returns:
            :class:`Transport` with current in A and heat current and powers in W.
            Outside the domain (also that of :func:`jaxqpc.transport`):
            ValueError eagerly, NaN under jit.
        """
        ok_bias = check_positive("bias_V", bias_V)
        ok_t = check_nonnegative("temperature_K", temperature_K)
        ok_e1 = check_positive("e1_eV", self.e1_eV)
        ok_mu = check_finite("mu_eV", mu_eV)
        ok = ok_mu & ok_bias & ok_t & ok_e1
        # each argument replaced by its own rule's mask (a scalar temperature stays scalar)
        mu_eV, bias_V = substitute(ok_mu & ok_bias, (mu_eV, 0.0), (bias_V, 1e-3))
        (temperature_K,) = substitute(ok_t, (temperature_K, 0.0))
        units = self if ok_e1 is True else QPCUnits(jnp.where(ok_e1, self.e1_eV, 1e-3), self.effective_mass)
        r = transport(model, units.energy(mu_eV), units.bias(bias_V), units.kT(temperature_K))
        r, ok_r = absorb_nan(r)  # NaN outside transport's own domain
        ok = ok & ok_r
        return nan_outside(ok, Transport(r.current * units.current_A, *(x * units.power_W for x in r[1:])))


def fermi_energy_eV(density_cm2, effective_mass=GAAS_EFFECTIVE_MASS):
    """Fermi energy πħ²n/M (eV) of a spin-degenerate 2DEG of density ``density_cm2`` (cm⁻²)."""
    return _fermi_coefficient(effective_mass) * jnp.asarray(density_cm2, dtype=float)


def _fermi_coefficient(effective_mass):
    """πħ²/M in eV cm², formed in Python floats."""
    return math.pi * HBAR_J_S**2 / (effective_mass * ELECTRON_MASS_KG) / ELEMENTARY_CHARGE_C * 1e4
