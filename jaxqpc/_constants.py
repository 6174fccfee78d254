"""Physical constants (CODATA 2018 exact SI values) and material presets."""

PLANCK_J_S = 6.62607015e-34
"""Planck constant h (J s)."""
HBAR_J_S = PLANCK_J_S / (2.0 * 3.141592653589793)
"""Reduced Planck constant ħ (J s)."""
ELEMENTARY_CHARGE_C = 1.602176634e-19
"""Elementary charge e (C); also the number of joules in one eV."""
BOLTZMANN_EV_K = 8.617333262e-5
"""Boltzmann constant k_B (eV/K)."""
ELECTRON_MASS_KG = 9.1093837015e-31
"""Free-electron mass m_e (kg)."""
GAAS_EFFECTIVE_MASS = 0.067
"""Conduction-band effective mass of GaAs, in units of m_e (Blaas-Anselmi et al. 2022)."""
