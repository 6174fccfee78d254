"""Conversion between the QPC's dimensionless units (E1) and physical units.

The dimensionless scaling of Blaas-Anselmi et al. 2022: energies in
E1 = ħ²π²/(8 M w²), currents in 2eE1/h, powers and energy currents in 2E1²/h,
lengths in 1/Q1 = 2w/π.
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
from ._validate import check_nonnegative, check_positive

__all__ = ["QPCUnits"]


class QPCUnits(eqx.Module):
    """The energy scale E1 of a QPC and conversions to SI and back.

    Build it from the constriction width (:meth:`from_width`) or from the 2DEG
    density and the Fermi energy in E1 (:meth:`from_density`).

    Attributes:
        e1_eV: E1 in eV.
        effective_mass: M in units of the free-electron mass (GaAs: 0.067).
    """

    e1_eV: jax.Array
    effective_mass: float = eqx.field(static=True)

    def __init__(self, e1_eV, effective_mass=GAAS_EFFECTIVE_MASS):
        check_positive("e1_eV", e1_eV)
        check_positive("effective_mass", effective_mass)
        self.e1_eV = jnp.asarray(e1_eV, dtype=float)
        self.effective_mass = float(effective_mass)

    @classmethod
    def from_width(cls, width_nm, effective_mass=GAAS_EFFECTIVE_MASS):
        """E1 = ħ²π²/(8 M w²) for a constriction of width 2w = ``width_nm`` (nm).

        GaAs: E1 ≈ 5.61 eV nm²/(2w)², 3.51 meV for 2w = 40 nm.
        """
        check_positive("width_nm", width_nm)
        check_positive("effective_mass", effective_mass)
        # E1 (eV) = C / (2w in nm)², with C (eV nm²) formed in Python floats (no float32 underflow)
        c = HBAR_J_S**2 * math.pi**2 / (2.0 * effective_mass * ELECTRON_MASS_KG) / ELEMENTARY_CHARGE_C * 1e18
        return cls(c / jnp.asarray(width_nm, dtype=float) ** 2, effective_mass)

    @classmethod
    def from_density(cls, density_cm2, fermi_energy_E1, effective_mass=GAAS_EFFECTIVE_MASS):
        """E1 such that the Fermi energy of a 2DEG of ``density_cm2`` (cm⁻²) equals
        ``fermi_energy_E1`` × E1 (spin-degenerate: ε_F = πħ²n/M).

        Example of Sec. 4: n = 2·10¹¹ cm⁻², ε_F = 4 E1 gives E1 = 1.79 meV, 2w = 56 nm.
        """
        check_positive("density_cm2", density_cm2)
        check_positive("fermi_energy_E1", fermi_energy_E1)
        fermi_eV = fermi_energy_eV(density_cm2, effective_mass)
        return cls(fermi_eV / jnp.asarray(fermi_energy_E1, dtype=float), effective_mass)

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
        """Temperature (K) → k_BT in E1. (kT/E1 = 0.1 is 4.07 K for 2w = 40 nm GaAs.)"""
        check_nonnegative("temperature_K", temperature_K)
        return BOLTZMANN_EV_K * jnp.asarray(temperature_K) / self.e1_eV

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
        """
        check_positive("bias_V", bias_V)
        check_nonnegative("temperature_K", temperature_K)
        r = transport(model, self.energy(mu_eV), self.bias(bias_V), self.kT(temperature_K))
        return Transport(r.current * self.current_A, *(x * self.power_W for x in r[1:]))


def fermi_energy_eV(density_cm2, effective_mass=GAAS_EFFECTIVE_MASS):
    """Fermi energy πħ²n/M (eV) of a spin-degenerate 2DEG of density ``density_cm2`` (cm⁻²)."""
    c = math.pi * HBAR_J_S**2 / (effective_mass * ELECTRON_MASS_KG) / ELEMENTARY_CHARGE_C * 1e4
    return c * jnp.asarray(density_cm2, dtype=float)  # c in eV cm², formed in Python floats
