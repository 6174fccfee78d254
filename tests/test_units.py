"""Physical units: E1, the paper's example numbers, SI transport."""

import math

import numpy as np
import pytest

import jaxqpc

E = 1.602176634e-19
H = 6.62607015e-34


def test_subband_energy_numbers_from_the_paper():
    # "E1 ≈ 5.6 eV nm²/(2w)²; 2w = 40 nm gives 3.5 meV; kT/E1 = 0.1 is ≈ 4 K"
    u = jaxqpc.QPCUnits.from_width(40.0)
    assert float(u.e1_eV) == pytest.approx(5.61e-3 / 1.6, rel=2e-3)
    assert float(u.e1_eV) * 40.0**2 == pytest.approx(5.612, rel=1e-3)
    assert float(u.kT(4.07)) == pytest.approx(0.1, rel=1e-3)
    assert float(u.width_nm) == pytest.approx(40.0, rel=1e-12)


def test_density_example_of_section_4():
    # n = 2e11 cm^-2 and ε_F = 4 E1: E1 = 1.79 meV, 2w = 56 nm (docs/errata-blaas-anselmi2022.md)
    u = jaxqpc.QPCUnits.from_density(2e11, 4.0)
    assert float(u.e1_eV) == pytest.approx(1.786e-3, rel=1e-3)
    assert float(u.width_nm) == pytest.approx(56.05, rel=1e-3)
    # independent: ε_F = πħ²n/M with M = 0.067 m_e
    hbar, me = H / (2 * math.pi), 9.1093837015e-31
    assert float(jaxqpc.fermi_energy_eV(2e11)) == pytest.approx(math.pi * hbar**2 * 2e15 / (0.067 * me) / E)


def test_si_transport_is_the_dimensionless_one_rescaled():
    qpc = jaxqpc.AbruptQPC(1.0)
    u = jaxqpc.QPCUnits.from_width(40.0)
    e1 = float(u.e1_eV)
    si = u.transport(qpc, mu_eV=2.3 * e1, bias_V=0.2 * e1, temperature_K=float(0.04 * e1 / 8.617333262e-5))
    dl = jaxqpc.transport(qpc, 2.3, 0.2, 0.04)
    np.testing.assert_allclose(float(si.current), float(dl.current) * 2 * E * (e1 * E) / H, rtol=1e-10)
    np.testing.assert_allclose(float(si.power_right), float(dl.power_right) * 2 * (e1 * E) ** 2 / H, rtol=1e-10)
    # linear response: I ≈ (2e²/h) T(μ̄) V for a small bias
    small = u.transport(qpc, mu_eV=2.3 * e1, bias_V=1e-4 * e1, temperature_K=0.0)
    g = float(small.current) / (1e-4 * e1)
    assert g == pytest.approx(2 * E**2 / H * float(qpc.transmission(2.3)), rel=1e-6)


def test_units_validate():
    with pytest.raises(ValueError, match="width_nm"):
        jaxqpc.QPCUnits.from_width(-1.0)
    with pytest.raises(ValueError, match="temperature_K"):
        jaxqpc.QPCUnits.from_width(40.0).kT(-1.0)
    with pytest.raises(ValueError, match="density_cm2"):
        jaxqpc.QPCUnits.from_density(0.0, 4.0)
