"""Electron-wall Bremsstrahlung (Buret et al. 2020, Sec. 4.3, Eqs. 14-20).

References are written here with NumPy/SciPy/mpmath only: F of Eq. 15 (square
root restored) by scipy's adaptive quadrature, with QAWS (weight (u - hw)^1/2)
for the square-root endpoint, cross-checked by mpmath at 30 digits; spectra
from SI constants (Gaussian e^2 = alpha hbar c, in J m); the photon yield by
scipy quad over the detector band; Planck's photon exitance per unit angular
frequency for beta; and Eq. 14's prefactor 8e^2/(3 pi^3 hbar^3 c^3) from a
direct k-space sum of the per-collision spectrum over the wall flux.
"""

import math

import jax


import equinox as eqx
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy.integrate import dblquad, quad
from scipy.special import expit

from jaxqpc._bremsstrahlung import (
    DetectorResponse,
    TabulatedDetectorResponse,
    bremsstrahlung_beta,
    bremsstrahlung_F,
    bremsstrahlung_spectrum,
    photon_yield,
)

# SI constants (CODATA 2018), written out independently of the package
H = 6.62607015e-34
HBAR = H / (2 * math.pi)
QE = 1.602176634e-19
C = 299792458.0
ALPHA = 7.2973525693e-3
ME = 9.1093837015e-31
KB = 8.617333262e-5  # eV/K
HBAR_EVS = HBAR / QE
EF = 5.53
E1, E2, E3 = (H * C / QE * 1e9 / lam for lam in (1070.0, 740.0, 600.0))


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------
def _bracket(u, w, ef, kT):
    return np.logaddexp(0.0, (ef - u + w) / kT) - np.logaddexp(0.0, (ef - u) / kT)


def ref_F(w, T, ef=EF, eps=1e-13):
    """F (eV^2) by adaptive quadrature, split at max(ef, w) and ef + w."""
    kT = KB * T
    b, c = max(ef, w), ef + w
    total = 0.0
    if b > w:  # int_w^b (u - w)^(1/2) [sqrt(u) bracket] du, QAWS
        total += quad(lambda u: np.sqrt(u) * _bracket(u, w, ef, kT), w, b, weight="alg",
                      wvar=(0.5, 0.0), epsabs=0, epsrel=eps, limit=500)[0]
    g = lambda u: np.sqrt(u * (u - w)) * _bracket(u, w, ef, kT)
    total += quad(g, b, c, epsabs=0, epsrel=eps, limit=500)[0]
    total += quad(g, c, c + 60 * kT, epsabs=0, epsrel=eps, limit=500)[0]
    return total


def ref_spectrum_SI(w, T, F_eV2):
    """Eq. 14 in SI: 8 e_G^2/(3 pi^3 hbar^3 c^3) (kT/hw) n_B F, e_G^2 = alpha hbar c (J m)."""
    e2 = ALPHA * HBAR * C
    kT = KB * T
    return 8 * e2 / (3 * math.pi**3 * HBAR**3 * C**3) * (kT / w) / math.expm1(w / kT) * F_eV2 * QE**2


def ref_eq17_SI(w, T, ef=EF):
    e2 = ALPHA * HBAR * C
    return 4 * e2 * (ef * QE) ** 2 / (3 * math.pi**3 * HBAR**3 * C**3) / math.expm1(w / (KB * T))


def ref_Q(E, knots=(E1, E2, E3), eta=0.65):
    a, b, c = knots
    if E <= a or E > c:
        return 0.0
    return eta * (E - a) / (b - a) if E < b else eta


def ref_yield(T, kind, Q=ref_Q, knots=(E1, E2, E3), ef=EF):
    """photons m^-2 s^-1: int Q(E) S(E) dE / hbar, panel by panel between the knots."""
    if kind == "eq17":
        s = lambda E: ref_eq17_SI(E, T, ef)
    else:
        s = lambda E: ref_spectrum_SI(E, T, ref_F(E, T, ef, eps=1e-12))
    return sum(quad(lambda E: Q(E) * s(E) / HBAR_EVS, a, b, epsabs=0, epsrel=1e-11)[0]
               for a, b in zip(knots[:-1], knots[1:]))


def ref_closed_form_m2(T, e1=E1):
    z = KB * T / e1
    return 6.13e22 * 1e4 * z * z * math.exp(-1 / z)


# ---------------------------------------------------------------------------
# F (Eq. 15)
# ---------------------------------------------------------------------------
BAND_W = np.linspace(1.0, 2.2, 5)
BAND_T = np.array([300.0, 700.0, 1500.0, 3000.0, 5000.0])


def test_F_matches_adaptive_quadrature_in_band():
    w, T = np.meshgrid(BAND_W, BAND_T, indexing="ij")
    got = np.asarray(bremsstrahlung_F(w, T))
    want = np.vectorize(ref_F)(w, T)
    assert np.max(np.abs(got / want - 1)) < 1e-11


@pytest.mark.parametrize("w,T,ef", [(0.1, 300.0, 5.53), (0.1, 5000.0, 5.53), (5.0, 3000.0, 5.53),
                                    (5.53, 2000.0, 5.53), (7.0, 3000.0, 5.53), (1.5, 6000.0, 1.0),
                                    (1.5, 3000.0, 0.5), (0.5, 10000.0, 3.0), (1.5, 1000.0, 9.0)])
def test_F_outside_band(w, T, ef):
    assert abs(float(bremsstrahlung_F(w, T, ef)) / ref_F(w, T, ef) - 1) < 1e-11


def test_reference_F_against_mpmath():
    w, T = 1.6, 2000.0
    mpmath.mp.dps = 30
    kT = mpmath.mpf(KB) * T
    w_, ef = mpmath.mpf(w), mpmath.mpf(EF)

    def g(u):
        br = mpmath.log1p(mpmath.exp((ef - u + w_) / kT)) - mpmath.log1p(mpmath.exp((ef - u) / kT))
        return mpmath.sqrt(u * (u - w_)) * br

    val = mpmath.quad(g, [w_, ef, ef + w_, ef + w_ + 80 * kT])
    assert abs(ref_F(w, T) / float(val) - 1) < 1e-12
    assert abs(float(bremsstrahlung_F(w, T)) / float(val) - 1) < 1e-12


def test_F_low_temperature_approximation():
    """F ~ eps_F^2 hw/(2kTe): ratio ~0.95 in the band (0.91-0.98), -> 1 as hw/eps_F -> 0."""
    w = np.linspace(E1, E3, 9)
    for T in (300.0, 1000.0, 2000.0, 3500.0):
        ratio = np.asarray(bremsstrahlung_F(w, T)) / (EF**2 * w / (2 * KB * T))
        assert np.all((ratio > 0.90) & (ratio < 0.99))
        assert abs(np.mean(ratio) - 0.95) < 0.02
    small = float(bremsstrahlung_F(0.01, 10.0)) / (EF**2 * 0.01 / (2 * KB * 10.0))
    assert abs(small - 1) < 2e-3


# ---------------------------------------------------------------------------
# spectra (Eqs. 14, 17)
# ---------------------------------------------------------------------------
def test_eq14_prefactor_from_k_space_sum():
    """Sum the per-collision spectrum 8 e^2 v_iz v_fz/(3 pi hbar omega c^3) (Eq. 13, the
    quantum form of Jackson's 2e^2|dv|^2/(3 pi c^3)) over the wall flux
    2 d^3k/(2 pi)^3 v_z with Pauli factors f(1 - f): must equal Eq. 14 with 3 pi^3."""
    w, T = 1.5, 3000.0
    kT = KB * T
    kF = math.sqrt(2 * ME * EF * QE) / HBAR
    e2 = ALPHA * HBAR * C

    def integrand(kp, kz):  # wavenumbers in units of k_F
        eps = EF * (kz * kz + kp * kp)
        vz = HBAR * kz * kF / ME
        vfz2 = vz * vz - 2 * w * QE / ME
        if vfz2 <= 0:
            return 0.0
        per_collision = 8 * e2 * vz * math.sqrt(vfz2) / (3 * math.pi * HBAR * (w * QE / HBAR) * C**3)
        density = 2 * 2 * math.pi * kp / (2 * math.pi) ** 3 * kF**3
        pauli = expit(-(eps - EF) / kT) * (1 - expit(-(eps - w - EF) / kT))
        return density * vz * per_collision * pauli

    kmin, kmax = math.sqrt(w / EF), math.sqrt((EF + w + 60 * kT) / EF)
    direct = dblquad(integrand, kmin, kmax, 0, lambda kz: math.sqrt(max(kmax**2 - kz**2, 0.0)),
                     epsabs=0, epsrel=1e-10)[0]
    assert abs(float(bremsstrahlung_spectrum(w, T)) / direct - 1) < 1e-9


def test_spectrum_exact_against_SI_formula():
    for w in (1.2, 1.7, 2.1):
        for T in (300.0, 1500.0, 5000.0):
            want = ref_spectrum_SI(w, T, ref_F(w, T))
            assert abs(float(bremsstrahlung_spectrum(w, T)) / want - 1) < 1e-11


def test_spectrum_eq17_against_SI_formula_and_F_approximation():
    w = np.linspace(1.0, 2.2, 7)
    for T in (300.0, 2000.0, 5000.0):
        eq17 = np.asarray(bremsstrahlung_spectrum(w, T, approximation="eq17"))
        want = np.array([ref_eq17_SI(x, T) for x in w])
        assert np.max(np.abs(eq17 / want - 1)) < 1e-12
        # Eq. 17 = Eq. 14 with F -> eps_F^2 hw/(2 kTe)
        exact = np.asarray(bremsstrahlung_spectrum(w, T))
        F = np.asarray(bremsstrahlung_F(w, T))
        assert np.max(np.abs(exact / F * (EF**2 * w / (2 * KB * T)) / eq17 - 1)) < 1e-12
    assert abs(float(bremsstrahlung_spectrum(1.5, 2000.0, 4.0, "eq17")) / ref_eq17_SI(1.5, 2000.0, 4.0)
               - 1) < 1e-12


def test_beta_is_ratio_to_planck_per_unit_omega():
    w = np.linspace(E1, E3, 6)
    T = 2500.0
    omega = w / HBAR_EVS
    planck = omega**2 / (4 * math.pi**2 * C**2) / np.expm1(w / (KB * T))  # photon exitance per omega
    eq17 = np.asarray(bremsstrahlung_spectrum(w, T, approximation="eq17"))
    beta = np.asarray(bremsstrahlung_beta(w))
    np.testing.assert_allclose(eq17 / planck, beta, rtol=1e-12)
    np.testing.assert_allclose(beta[[0, -1]], [0.2822, 0.0887], atol=2e-4)
    printed = 8 / (3 * math.pi**2) * ALPHA * (EF / w) ** 2  # Eq. 19 as printed (per unit nu)
    np.testing.assert_allclose(printed[[0, -1]], [0.0449, 0.0141], atol=2e-4)
    np.testing.assert_allclose(beta / printed, 2 * math.pi, rtol=1e-12)


# ---------------------------------------------------------------------------
# detector response (Eq. 20)
# ---------------------------------------------------------------------------
def test_detector_response_eq20():
    d = DetectorResponse()
    np.testing.assert_allclose(np.asarray(d.band), [E1, E3], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(d.knots), [E1, E2, E3], rtol=1e-14)
    E = np.array([1.0, E1, 0.5 * (E1 + E2), E2, 1.9, E3, 2.1])
    np.testing.assert_allclose(np.asarray(d.response(E)), [0, 0, 0.325, 0.65, 0.65, 0.65, 0], atol=1e-14)


def test_tabulated_detector():
    lam = np.array([600.0, 1070.0, 740.0])  # any order
    tab = TabulatedDetectorResponse(lam, np.array([0.65, 0.0, 0.65]))
    np.testing.assert_allclose(np.asarray(tab.band), [E1, E3], rtol=1e-14)
    E = np.linspace(1.0, 2.2, 41)
    np.testing.assert_allclose(np.asarray(tab.response(E)), np.asarray(DetectorResponse().response(E)),
                               atol=1e-14)
    # linear in photon energy between knots, zero outside (step at a nonzero end)
    tab2 = TabulatedDetectorResponse(np.array([900.0, 700.0, 500.0]), np.array([0.2, 0.6, 0.4]))
    k = H * C / QE * 1e9 / np.array([900.0, 700.0, 500.0])
    mid = 0.25 * k[0] + 0.75 * k[1]
    assert abs(float(tab2.response(mid)) - (0.25 * 0.2 + 0.75 * 0.6)) < 1e-14
    assert float(tab2.response(k[0] - 1e-9)) == 0.0 and float(tab2.response(k[2] + 1e-9)) == 0.0


# ---------------------------------------------------------------------------
# photon yield
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("T", [300.0, 1000.0, 3500.0, 6000.0])
def test_yield_exact_against_quad(T):
    assert abs(float(photon_yield(T)) / ref_yield(T, "exact") - 1) < 1e-10


def test_yield_eq17_and_closed_form():
    T = np.array([300.0, 600.0, 1000.0, 2000.0, 3000.0, 3500.0, 6000.0])
    got = np.asarray(photon_yield(T, spectrum="eq17"))
    want = np.array([ref_yield(t, "eq17") for t in T])
    assert np.max(np.abs(got / want - 1)) < 1e-10
    closed = np.asarray(photon_yield(T, spectrum="closed_form"))
    np.testing.assert_allclose(closed, [ref_closed_form_m2(t) for t in T], rtol=1e-13)


def test_yield_tabulated_detector_against_quad():
    lam = np.array([1100.0, 950.0, 800.0, 700.0, 620.0, 550.0])
    eff = np.array([0.05, 0.3, 0.6, 0.7, 0.5, 0.2])
    tab = TabulatedDetectorResponse(lam, eff)
    knots = tuple(H * C / QE * 1e9 / lam)  # ascending in energy, like eff
    Q = lambda E: float(np.interp(E, knots, eff)) if knots[0] <= E <= knots[-1] else 0.0
    for T in (800.0, 3000.0):
        for kind in ("eq17", "exact"):
            want = ref_yield(T, kind, Q=Q, knots=knots)
            assert abs(float(photon_yield(T, tab, spectrum=kind)) / want - 1) < 1e-10


def test_yield_ratios_to_closed_form():
    """docs/errata-buret2020.md: full (Eq. 17) integral / closed form = 1.03 at 1000 K, 0.76 at 3500 K;
    the closed form is the low-T rising-edge asymptote of the Eq. 17 integral to ~3 %."""
    T = np.array([1000.0, 2000.0, 3000.0, 3500.0])
    closed = np.asarray(photon_yield(T, spectrum="closed_form"))
    eq17 = np.asarray(photon_yield(T, spectrum="eq17"))
    exact = np.asarray(photon_yield(T))
    np.testing.assert_allclose(eq17 / closed, [1.03, 0.96, 0.83, 0.76], atol=0.01)
    np.testing.assert_allclose(exact / closed, [0.985, 0.919, 0.793, 0.728], atol=0.002)
    kT = KB * T
    # int_{w1} 0.65 (E - E1)/(E2 - E1) * 4 alpha eF^2/(3 pi^3 (hbar c)^2) e^{-E/kT} dE/hbar
    asym = (0.65 * 4 * ALPHA * EF**2 / (3 * math.pi**3 * (HBAR_EVS * C) ** 2)
            * kT**2 / (HBAR_EVS * (E2 - E1)) * np.exp(-E1 / kT))
    np.testing.assert_allclose(asym / closed, 1.0316, atol=1e-3)  # 3 %, the same at every T
    low = float(photon_yield(300.0, spectrum="eq17")) / float(photon_yield(300.0, spectrum="closed_form"))
    assert abs(low / 1.0316 - 1) < 2e-3  # the full Eq. 17 integral tends to the asymptote


# ---------------------------------------------------------------------------
# transformations
# ---------------------------------------------------------------------------
def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("w,T,ef", [(1.2, 300.0, 5.53), (2.0, 3000.0, 5.53), (1.5, 5000.0, 4.0)])
def test_F_gradients(w, T, ef):
    g = jax.grad(bremsstrahlung_F, argnums=(0, 1, 2))(w, T, ef)
    fds = (_fd(lambda x: bremsstrahlung_F(x, T, ef), w, 1e-5),
           _fd(lambda x: bremsstrahlung_F(w, x, ef), T, 1e-3),
           _fd(lambda x: bremsstrahlung_F(w, T, x), ef, 1e-5))
    for a, b in zip(g, fds):
        assert abs(float(a) / float(b) - 1) < 1e-8


@pytest.mark.parametrize("approximation", ["exact", "eq17"])
def test_spectrum_gradients(approximation):
    f = lambda w, T, ef: bremsstrahlung_spectrum(w, T, ef, approximation)
    w, T, ef = 1.7, 2500.0, 5.53
    g = jax.grad(f, argnums=(0, 1, 2))(w, T, ef)
    fds = (_fd(lambda x: f(x, T, ef), w, 1e-6), _fd(lambda x: f(w, x, ef), T, 1e-3),
           _fd(lambda x: f(w, T, x), ef, 1e-6))
    for a, b in zip(g, fds):
        assert abs(float(a) / float(b) - 1) < 1e-7


@pytest.mark.parametrize("spectrum", ["exact", "eq17", "closed_form"])
def test_yield_gradient_in_temperature(spectrum):
    grad = jax.jit(jax.vmap(jax.grad(lambda T: photon_yield(T, spectrum=spectrum))))
    T = jnp.array([300.0, 1000.0, 3500.0, 6000.0])
    g = np.asarray(grad(T))
    assert np.all(np.isfinite(g)) and np.all(g > 0)
    h = T * 1e-5
    fd = (np.asarray(photon_yield(T + h, spectrum=spectrum))
          - np.asarray(photon_yield(T - h, spectrum=spectrum))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    # far below the band the yield is tiny but neither it nor its gradient is NaN
    tiny = grad(jnp.array([100.0, 150.0]))
    assert np.all(np.isfinite(np.asarray(tiny))) and np.all(np.asarray(tiny) > 0)


def test_yield_gradients_in_fermi_energy_and_detector():
    g_ef = jax.grad(lambda ef: photon_yield(2000.0, fermi_energy=ef))(5.53)
    fd = _fd(lambda ef: photon_yield(2000.0, fermi_energy=ef), 5.53, 1e-5)
    assert abs(float(g_ef) / float(fd) - 1) < 1e-7
    gd = eqx.filter_grad(lambda d: photon_yield(2000.0, detector=d))(DetectorResponse())
    leaves = jax.tree_util.tree_leaves(gd)
    assert len(leaves) == 4 and all(np.isfinite(float(x)) for x in leaves)
    fd_eta = _fd(lambda e: photon_yield(2000.0, detector=DetectorResponse(peak_efficiency=e)), 0.6, 1e-6)
    assert abs(float(gd.peak_efficiency) / float(fd_eta) - 1) < 1e-7


def test_jit_vmap_broadcast():
    T = jnp.linspace(300.0, 6000.0, 8)
    batched = jax.jit(jax.vmap(photon_yield))(T)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(photon_yield(T)), rtol=1e-13)
    ef = jnp.array([[4.0], [5.53]])
    assert photon_yield(T, fermi_energy=ef).shape == (2, 8)
    assert photon_yield(T, fermi_energy=ef, spectrum="closed_form").shape == (2, 8)
    w = jnp.linspace(1.0, 2.2, 5)
    f_jit = jax.jit(bremsstrahlung_F)(w[:, None], T[None, :])
    np.testing.assert_allclose(np.asarray(f_jit), np.asarray(bremsstrahlung_F(w[:, None], T[None, :])),
                               rtol=1e-13)
    s = jax.jit(jax.vmap(lambda x: bremsstrahlung_spectrum(x, 2000.0)))(w)
    assert s.shape == (5,) and np.all(np.isfinite(np.asarray(s)))
    # detector as a traced argument
    y = jax.jit(lambda d: photon_yield(2000.0, detector=d))(DetectorResponse(peak_efficiency=0.5))
    assert abs(float(y) / float(photon_yield(2000.0)) - 0.5 / 0.65) < 1e-12


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("call,name", [
    (lambda: bremsstrahlung_F(0.0, 1000.0), "photon_energy"),
    (lambda: bremsstrahlung_F(1.5, -1.0), "electron_temperature"),
    (lambda: bremsstrahlung_F(1.5, 1000.0, 0.0), "fermi_energy"),
    (lambda: bremsstrahlung_F(1.5, np.nan), "electron_temperature"),
    (lambda: bremsstrahlung_spectrum(-1.0, 1000.0), "photon_energy"),
    (lambda: bremsstrahlung_spectrum(1.5, 0.0), "electron_temperature"),
    (lambda: bremsstrahlung_spectrum(1.5, 1000.0, -5.0), "fermi_energy"),
    (lambda: bremsstrahlung_spectrum(1.5, 1000.0, approximation="eq15"), "approximation"),
    (lambda: bremsstrahlung_beta(0.0), "photon_energy"),
    (lambda: bremsstrahlung_beta(1.5, -1.0), "fermi_energy"),
    (lambda: photon_yield(np.array([1000.0, 0.0])), "electron_temperature"),
    (lambda: photon_yield(1000.0, fermi_energy=0.0), "fermi_energy"),
    (lambda: photon_yield(1000.0, spectrum="planck"), "spectrum"),
    (lambda: photon_yield(1000.0, detector="apd"), "detector"),
    (lambda: DetectorResponse(600.0, 740.0, 1070.0), "threshold_wavelength_nm"),
    (lambda: DetectorResponse(1070.0, 500.0, 600.0), "peak_wavelength_nm"),
    (lambda: DetectorResponse(threshold_wavelength_nm=-1.0), "threshold_wavelength_nm"),
    (lambda: DetectorResponse(peak_efficiency=0.0), "peak_efficiency"),
    (lambda: DetectorResponse(peak_efficiency=1.2), "peak_efficiency"),
    (lambda: TabulatedDetectorResponse([700.0], [0.5]), "wavelength_nm"),
    (lambda: TabulatedDetectorResponse([700.0, 700.0], [0.5, 0.5]), "wavelength_nm"),
    (lambda: TabulatedDetectorResponse([700.0, -600.0], [0.5, 0.5]), "wavelength_nm"),
    (lambda: TabulatedDetectorResponse([700.0, 600.0], [0.5, 1.5]), "efficiency"),
    (lambda: TabulatedDetectorResponse([700.0, 600.0], [0.5, 0.5, 0.5]), "efficiency"),
])
def test_validation(call, name):
    with pytest.raises(ValueError, match=name):
        call()
