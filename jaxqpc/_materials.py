"""Metals for the atomic-contact (Buret et al. 2020) model."""

import math

import equinox as eqx

from ._constants import ELECTRON_MASS_KG, ELEMENTARY_CHARGE_C, PLANCK_J_S
from ._validate import check_positive

__all__ = ["Metal", "GOLD"]


class Metal(eqx.Module):
    """Free-electron parameters of a metal (static: they are data, not fit parameters).

    Attributes:
        name: label.
        fermi_energy_eV: ε_F (eV).
        fermi_wavelength_nm: λ_F = 2π/k_F (nm).
        fermi_velocity_m_s: v_F (m/s).
    """

    name: str = eqx.field(static=True)
    fermi_energy_eV: float = eqx.field(static=True)
    fermi_wavelength_nm: float = eqx.field(static=True)
    fermi_velocity_m_s: float = eqx.field(static=True)

    def __init__(self, name, fermi_energy_eV, fermi_wavelength_nm, fermi_velocity_m_s):
        for arg, value in (("fermi_energy_eV", fermi_energy_eV),
                           ("fermi_wavelength_nm", fermi_wavelength_nm),
                           ("fermi_velocity_m_s", fermi_velocity_m_s)):
            check_positive(arg, value)
        self.name = str(name)
        self.fermi_energy_eV = float(fermi_energy_eV)
        self.fermi_wavelength_nm = float(fermi_wavelength_nm)
        self.fermi_velocity_m_s = float(fermi_velocity_m_s)

    @classmethod
    def free_electron(cls, name, fermi_energy_eV):
        """λ_F and v_F of free electrons (mass m_e) with Fermi energy ``fermi_energy_eV``."""
        check_positive("fermi_energy_eV", fermi_energy_eV)
        momentum = math.sqrt(2.0 * ELECTRON_MASS_KG * fermi_energy_eV * ELEMENTARY_CHARGE_C)
        return cls(name, fermi_energy_eV, 1e9 * PLANCK_J_S / momentum, momentum / ELECTRON_MASS_KG)


GOLD = Metal("gold", fermi_energy_eV=5.53, fermi_wavelength_nm=0.52, fermi_velocity_m_s=1.40e6)
"""Gold with the free-electron values used by Buret et al. 2020 (ε_F = 5.53 eV,
λ_F = 0.52 nm, v_F = 1.40·10⁶ m/s)."""
