"""Detected photon counts of an atomic contact vs dissipated power (Buret et al. 2020).

The chain circuit -> (V_c, N) -> T_e -> detected Bremsstrahlung yield -> counts
per bin of ``jaxqpc.photon_counts`` / ``photon_counts_from_conductance``:

1. the circuit (``conductance_from_power``, ``contact_voltage``) against the
   closed form P = V_s^2 G G0/(1 + R_s G G0)^2 and the numbers of docs/errata-buret2020.md;
2. the radiating area (docs/errata-buret2020.md: 4.25e-14 cm^2, not the printed 4.84e-14);
3. counts = t_bin (eta S Y(T_e) + dark) against an independent composition
   (V_c and G0 by hand, ``peak_temperature`` with that V_c, ``photon_yield``,
   S by hand), linearity in eta, dark counts, power vs conductance entry points;
4. ``heat_fraction``: T_e^2 - T_L^2 proportional to it; ``downstream_fraction``
   = 1/2 for an energy-independent transmission, > 1/2 for a rising one, and
   differentiable end to end;
5. gradients equal central finite differences (rtol 1e-5) at interior points
   and are finite at h = 0, h = inf and zeta -> 1 (spectra "eq17" and "exact");
6. a seeded property sweep (12000 points with "eq17", 500 with "exact") of
   jax.vmap(jax.value_and_grad): no NaN/inf in values or gradients;
7. validation: ValueError naming the offending argument.
"""

import math

import jax


import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc

LAMBDA_F = 0.52  # nm, free-electron gold (docs/emission.md)
KB_EV_K = 8.617333262e-5
G0_S = 2.0 * 1.602176634e-19**2 / 6.62607015e-34  # 2e^2/h, CODATA 2018 exact
T_LATTICE = 300.0

# Fig. 3B-like settings (docs/errata-buret2020.md): R0 = 2 lambda_F, Lc = lambda_F/4, 0.7 V, 470 ohm
FIG3B = dict(eta=0.43, R0=2 * LAMBDA_F, Lc=LAMBDA_F / 4, h=1.0, source_voltage=0.7,
             series_resistance=470.0, bin_time=0.01, dark_rate=300.0)


def _circuit_power(n, vs, rs):
    """P = V_s^2 G/(1 + R_s G)^2 with G = n G0 (W), written independently of jaxqpc."""
    g = np.asarray(n, dtype=float) * G0_S
    return vs * vs * g / (1.0 + rs * g) ** 2


# ---------------------------------------------------------------------------
# 1. circuit
# ---------------------------------------------------------------------------
def test_conductance_quantum():
    assert jaxqpc.CONDUCTANCE_QUANTUM_S == pytest.approx(G0_S, rel=1e-15)
    assert jaxqpc.CONDUCTANCE_QUANTUM_S == pytest.approx(7.748091729e-5, rel=1e-9)


@pytest.mark.parametrize("rs", [0.0, 100.0, 470.0, 1000.0, 5000.0])
@pytest.mark.parametrize("vs", [0.2, 0.7, 1.0])
def test_conductance_from_power_round_trip(vs, rs):
    """G(P(N)) = N on the branch G G0 < 1/R_s; P(N) via contact_voltage matches the closed form."""
    n = np.geomspace(0.05, 8.0, 41)
    if rs > 0:
        n = n[n * G0_S * rs < 1.0]  # the branch the function returns
    vc = np.asarray(jaxqpc.contact_voltage(n, vs, rs))
    np.testing.assert_allclose(vc, vs / (1.0 + rs * n * G0_S), rtol=1e-14)
    p = vc * vc * n * G0_S
    np.testing.assert_allclose(p, _circuit_power(n, vs, rs), rtol=1e-13)
    g = np.asarray(jaxqpc.conductance_from_power(p, vs, rs))
    np.testing.assert_allclose(g, n, rtol=1e-12)
    # and forwards: the returned conductance dissipates exactly P
    np.testing.assert_allclose(_circuit_power(g, vs, rs), p, rtol=1e-12)


def test_conductance_from_power_no_series_resistance():
    """R_s = 0 (also the default): G = P/V_s^2."""
    p = np.array([1e-6, 1.5e-4, 3e-4, 1e-2])
    for g in (jaxqpc.conductance_from_power(p, 0.7), jaxqpc.conductance_from_power(p, 0.7, 0.0)):
        np.testing.assert_allclose(np.asarray(g) * G0_S, p / 0.49, rtol=1e-14)


def test_conductance_from_power_branch_and_limit():
    """Of the two conductances that dissipate P, the one with G G0 R_s < 1; at P = V^2/4R_s, G G0 = 1/R_s."""
    vs, rs = 0.7, 470.0
    g_low = np.array([1.0, 0.3]) / (G0_S * rs)  # G G0 R_s = 1, 0.3
    g_high = 1.0 / (G0_S * rs) ** 2 / g_low  # partner root: G_low G_high (G0 R_s)^2 = 1
    p = _circuit_power(g_low, vs, rs)
    np.testing.assert_allclose(_circuit_power(g_high, vs, rs), p, rtol=1e-13)
    g = np.asarray(jaxqpc.conductance_from_power(p, vs, rs))
    np.testing.assert_allclose(g, g_low, rtol=1e-7)  # limit point: sqrt of a rounding-level residual
    assert g[1] == pytest.approx(g_low[1], rel=1e-13)
    limit = vs * vs / (4 * rs)
    assert float(jaxqpc.conductance_from_power(limit, vs, rs)) * G0_S * rs == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("p", [1.001 * 0.49 / (4 * 470.0), 1.0])
def test_conductance_from_power_too_much_power(p):
    with pytest.raises(ValueError, match="`power`"):
        jaxqpc.conductance_from_power(p, 0.7, 470.0)
    with pytest.raises(ValueError, match="`power`"):  # also through photon_counts
        jaxqpc.photon_counts(p, **FIG3B)


def test_contact_voltage_fig3b():
    """docs/errata-buret2020.md: 470 ohm and 0.7 V give 0.61 V across the contact at N = 4."""
    vc = float(jaxqpc.contact_voltage(4.0, 0.7, 470.0))
    assert vc == pytest.approx(0.61, abs=5e-3)
    assert vc == pytest.approx(0.7 / (1 + 470.0 * 4 * G0_S), rel=1e-14)
    assert float(jaxqpc.contact_voltage(4.0, 0.7)) == 0.7  # no series resistance


# ---------------------------------------------------------------------------
# 2. radiating area
# ---------------------------------------------------------------------------
def test_radiating_area():
    """pi R0^2 + 2 pi R0 Lc = 4.25e-14 cm^2 for R0 = 2 lambda_F, Lc = lambda_F/4 (not the printed 4.84)."""
    s_nm2 = float(jaxqpc.radiating_area_nm2(2 * LAMBDA_F, LAMBDA_F / 4))
    s_cm2 = s_nm2 * 1e-14  # 1 nm^2 = 1e-14 cm^2
    assert abs(s_cm2 - 4.25e-14) < 1e-3 * 4.25e-14
    assert s_nm2 == pytest.approx(math.pi * 1.04**2 + 2 * math.pi * 1.04 * 0.13, rel=1e-15)
    assert abs(s_cm2 - 4.84e-14) > 0.1 * 4.84e-14
    r0, lc = np.array([0.5, 1.0, 3.0]), np.array([0.05, 1.0, 3.0])
    np.testing.assert_allclose(jaxqpc.radiating_area_nm2(r0, lc),
                               np.pi * r0**2 + 2 * np.pi * r0 * lc, rtol=1e-15)


# ---------------------------------------------------------------------------
# 3. counts = t_bin (eta S Y(Te) + dark)
# ---------------------------------------------------------------------------
# Eager calls below all use data of shape (6,) so that the jitted pieces of the
# library compile once (compilation, not arithmetic, dominates this file's runtime).
N6 = np.array([0.3, 1.0, 2.0, 3.5, 4.0, 6.0])


def _composed_counts(n, *, eta, R0, Lc, h, source_voltage, bin_time, series_resistance=0.0,
                     dark_rate=0.0, spectrum="exact", heat_fraction=1.0, lattice_temperature=T_LATTICE):
    """The chain composed by hand from the public pieces (V_c, G0 and S written out here)."""
    vc = source_voltage / (1.0 + series_resistance * n * G0_S)
    te = np.asarray(jaxqpc.peak_temperature(n, R0=R0, Lc=Lc, h=h, contact_voltage=vc,
                                            lattice_temperature=lattice_temperature))
    te = np.sqrt(lattice_temperature**2 + heat_fraction * (te**2 - lattice_temperature**2))
    y = np.asarray(jaxqpc.photon_yield(te, spectrum=spectrum))  # m^-2 s^-1
    area_m2 = (np.pi * R0**2 + 2 * np.pi * R0 * Lc) * 1e-18
    return bin_time * (eta * area_m2 * y + dark_rate)


COMPOSITION_CASES = [
    (FIG3B, "exact"),
    (FIG3B, "eq17"),
    (FIG3B, "closed_form"),
    (dict(eta=0.9, R0=1.5, Lc=0.9, h=0.0, source_voltage=0.9, series_resistance=0.0,
          bin_time=0.1, dark_rate=0.0), "exact"),
    (dict(eta=0.1, R0=0.8, Lc=0.4, h=math.inf, source_voltage=0.5, series_resistance=1000.0,
          bin_time=1.0, dark_rate=50.0), "eq17"),
]


def test_temperature_from_contact_voltage():
    """T_e^2 = T_L^2 + T0^2 S with k_B T0 = (6/pi^2) e V_c (lambda_F/R0)^(1/2), V_c from the circuit."""
    kw = COMPOSITION_CASES[0][0]
    r0, lc, h = kw["R0"], kw["Lc"], kw["h"]
    vc = kw["source_voltage"] / (1.0 + kw["series_resistance"] * N6 * G0_S)
    t0 = 6.0 / math.pi**2 * vc * math.sqrt(LAMBDA_F / r0) / KB_EV_K
    # docs/errata-buret2020.md: 4938 K (lambda_F/R0)^(1/2) at 0.7 V
    assert 6.0 / math.pi**2 * 0.7 / KB_EV_K == pytest.approx(4938.0, abs=0.5)
    np.testing.assert_allclose(jaxqpc.hot_electron_T0(vc, r0), t0, rtol=1e-14)
    s = np.asarray(jaxqpc.peak_heating_sum(N6 * LAMBDA_F / (4 * r0), lc / r0, h))
    te = np.asarray(jaxqpc.peak_temperature(N6, R0=r0, Lc=lc, h=h, contact_voltage=vc))
    np.testing.assert_allclose(te, np.sqrt(T_LATTICE**2 + t0**2 * s), rtol=1e-13)


@pytest.mark.parametrize("kw, spectrum", COMPOSITION_CASES)
def test_counts_equal_independent_composition(kw, spectrum):
    got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, spectrum=spectrum, **kw))
    want = _composed_counts(N6, spectrum=spectrum, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all(got > kw["bin_time"] * kw["dark_rate"])


def test_counts_fig3b_magnitude():
    """Absolute scale at Fig. 3B-like settings: ~1 signal count per 10 ms on top of 3 dark counts.

    At fixed V_s with the 470 ohm resistor, V_c and T_e drop as N grows, so the
    signal falls with N (and with P, which grows with N on this branch).
    """
    n = np.linspace(3.5, 7.5, 6)
    c = np.asarray(jaxqpc.photon_counts_from_conductance(n, **FIG3B))
    signal = c - 3.0
    assert np.all(signal > 0) and np.all(np.diff(signal) < 0)
    assert 0.5 < signal[0] < 5.0
    assert np.all(np.diff(_circuit_power(n, 0.7, 470.0)) > 0)


@pytest.mark.parametrize("spectrum", ["exact", "eq17"])
def test_counts_power_and_conductance_entry_points_agree(spectrum):
    n = np.linspace(3.5, 7.5, 6)
    p = _circuit_power(n, FIG3B["source_voltage"], FIG3B["series_resistance"])
    by_power = np.asarray(jaxqpc.photon_counts(p, spectrum=spectrum, **FIG3B))
    g = jaxqpc.conductance_from_power(p, FIG3B["source_voltage"], FIG3B["series_resistance"])
    by_g = np.asarray(jaxqpc.photon_counts_from_conductance(g, spectrum=spectrum, **FIG3B))
    np.testing.assert_array_equal(by_power, by_g)
    by_n = np.asarray(jaxqpc.photon_counts_from_conductance(n, spectrum=spectrum, **FIG3B))
    np.testing.assert_allclose(by_power, by_n, rtol=1e-11)


def test_counts_linear_in_eta_dark_and_bin_time():
    kw = dict(FIG3B, dark_rate=0.0)
    base = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **dict(kw, eta=1.0)))
    for eta in (0.01, 0.43, 0.7):
        got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **dict(kw, eta=eta)))
        np.testing.assert_allclose(got, eta * base, rtol=1e-14)
    for dark in (1.0, 300.0, 1e5):
        got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **dict(kw, dark_rate=dark)))
        signal = kw["eta"] * base
        np.testing.assert_allclose(got - kw["bin_time"] * dark, signal,
                                   rtol=0, atol=1e-14 * (kw["bin_time"] * dark + signal.max()))
    got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **dict(FIG3B, bin_time=0.5)))
    ref = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **FIG3B))
    np.testing.assert_allclose(got, 50.0 * ref, rtol=1e-14)


def test_counts_broadcast_over_data_and_parameters():
    """A (batch, 1) parameter array against (points,) data gives (batch, points)."""
    eta = np.array([[0.2], [0.5]])
    lc = np.array([[0.1], [0.2]])
    kw = dict(FIG3B, eta=eta, Lc=lc)
    got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, spectrum="closed_form", **kw))
    assert got.shape == (2, 6)
    for i in range(2):
        row = jaxqpc.photon_counts_from_conductance(N6, **dict(kw, eta=eta[i, 0], Lc=lc[i, 0]),
                                                    spectrum="closed_form")
        np.testing.assert_allclose(got[i], row, rtol=1e-14)


# ---------------------------------------------------------------------------
# 4. heat fraction and the downstream share of the power
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.5, 0.25, 0.9])
def test_heat_fraction_scales_theta(fraction):
    """Te^2 - TL^2 is proportional to heat_fraction (checked through the yield)."""
    kw = dict(FIG3B, h=0.3, Lc=0.5)
    got = np.asarray(jaxqpc.photon_counts_from_conductance(N6, heat_fraction=fraction, **kw))
    want = _composed_counts(N6, heat_fraction=fraction, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    full = np.asarray(jaxqpc.photon_counts_from_conductance(N6, **kw))
    assert np.all(got < full)
    assert np.all(np.asarray(jaxqpc.photon_counts_from_conductance(N6, heat_fraction=1.0, **kw)) == full)


_WINDOW = dict(mu=5.53, bias_V=0.6, temperature_K=300.0, energy_unit_eV=1.0)
# mu_R - 36 kT = 4.30 eV and mu_L + 36 kT = 6.76 eV: both tables below cover the thermal window
_TABLE_E = np.linspace(0.0, 10.0, 21)  # one static grid for every tabulated model (one compile)


def test_downstream_fraction_tabulated():
    """Energy-independent transmission: 1/2 to 1e-9; falling across the window: < 1/2."""
    for value in (0.3, 1.0, 2.0):
        model = jaxqpc.TabulatedTransmission(_TABLE_E, np.full(_TABLE_E.size, value))
        assert float(jaxqpc.downstream_fraction(model, **_WINDOW)) == pytest.approx(0.5, abs=1e-9)
    falling = jaxqpc.TabulatedTransmission(_TABLE_E, 2.0 / (1.0 + np.exp((_TABLE_E - 5.53) / 0.5)))
    assert 0.0 < float(jaxqpc.downstream_fraction(falling, **_WINDOW)) < 0.5


def _saddle_counts(x):
    """(downstream fraction, counts at N = 4 with that heat fraction) for a saddle QPC.

    Steps at v0 + 0.5, 1.5, 2.5 eV (1 eV energy unit), width omega_x = x[1]; with
    v0 = 5 the first one rises through the window [5.23, 5.83] eV. grid_step 0.05
    (ħω_x/6) keeps the Landauer table at ~1e-13 (ħω_x/2 gives only ~1e-7, see the report).
    """
    model = jaxqpc.SaddlePointQPC(omega_x=x[1], omega_y=1.0, v0=x[0], n_channels=3, max_energy=8.0,
                                  grid_step=0.05)
    frac = jaxqpc.downstream_fraction(model, **_WINDOW)
    counts = jaxqpc.photon_counts_from_conductance(4.0, heat_fraction=frac, spectrum="eq17",
                                                   **dict(FIG3B, dark_rate=0.0))
    return frac, counts


@pytest.fixture(scope="module")
def saddle():
    """Values and forward-mode derivatives of _saddle_counts, one jitted batch (one compile).

    Rows: (v0, omega_x) = (5, 0.3) with tangents e_v0 and e_omega_x; the four central-difference
    neighbours (step 1e-4); v0 = 0.5 (all steps far below the window).
    """
    x, d = np.array([5.0, 0.3]), 1e-4
    rows = np.array([x, x, x + [d, 0], x - [d, 0], x + [0, d], x - [0, d], [0.5, 0.3]])
    tangents = np.zeros_like(rows)
    tangents[0, 0] = tangents[1, 1] = 1.0
    jvp = jax.jit(jax.vmap(lambda p, t: jax.jvp(_saddle_counts, (p,), (t,))))
    (frac, counts), (dfrac, dcounts) = jvp(rows, tangents)
    return d, np.asarray(frac), np.asarray(counts), np.asarray(dfrac), np.asarray(dcounts)


def test_downstream_fraction_rising_saddle(saddle):
    """A step rising through the window: 0.7123 of the power to the drain (> 1/2)."""
    _, frac, counts, _, _ = saddle
    assert 0.5 < frac[0] < 1.0
    assert frac[0] == pytest.approx(0.71227639482, abs=1e-10)  # scipy quad of Eqs. 2-5: 0.7122763948201
    assert frac[-1] == pytest.approx(0.5, abs=1e-6)  # the same steps far below the window: flat T
    assert 0 < counts[-1] < counts[0]  # less of the power at the drain: cooler, fewer photons


def test_counts_derivative_through_downstream_fraction(saddle):
    """d counts/d (v0, omega_x) of the transmission model, through heat_fraction = P_R/P:
    finite, nonzero and equal to central differences (rtol 1e-5)."""
    d, frac, counts, dfrac, dcounts = saddle
    deriv = dcounts[:2]
    assert np.all(np.isfinite(deriv)) and np.all(deriv != 0) and np.all(np.isfinite(dfrac[:2]))
    fd = np.array([counts[2] - counts[3], counts[4] - counts[5]]) / (2 * d)
    np.testing.assert_allclose(deriv, fd, rtol=1e-5)
    fd_frac = np.array([frac[2] - frac[3], frac[4] - frac[5]]) / (2 * d)
    np.testing.assert_allclose(dfrac[:2], fd_frac, rtol=1e-5)
    # raising the step moves more of its rise into the window: more heat to the drain
    assert deriv[0] > 0 and dfrac[0] > 0


def _saddle_fraction_quad(n, v, kT=8.617333262e-5 * T_LATTICE):  # k_B in eV/K (CODATA 2018)
    """P_R/P of drain_heat_fraction's 'saddle' contact by scipy.integrate.quad (Eqs. 2-5 written out).

    T(e) = sum_k 1/(1 + exp(-2 pi (e - E_k)/w)), E_k = e_F - n w + w (k - 1/2), k = 1..24, w = 0.125 eV;
    P_R = int T (e - mu_R)(f_L - f_R) de, P_L = int T (mu_L - e)(f_L - f_R) de (common factors cancel).
    """
    from scipy.integrate import quad
    from scipy.special import expit

    ef, w = jaxqpc.GOLD.fermi_energy_eV, jaxqpc.SADDLE_SPACING_EV
    levels = ef - n * w + w * (np.arange(1, 25) - 0.5)
    mu_l, mu_r = ef + v / 2, ef - v / 2

    def weight(e):
        return np.sum(expit(2 * np.pi * (e - levels) / w)) * (expit((mu_l - e) / kT) - expit((mu_r - e) / kT))

    lo, hi = mu_r - 40 * kT, mu_l + 40 * kT
    opts = dict(limit=400, epsabs=0.0, epsrel=1e-12, points=list(levels[(levels > lo) & (levels < hi)]))
    p_r = quad(lambda e: weight(e) * (e - mu_r), lo, hi, **opts)[0]
    p_l = quad(lambda e: weight(e) * (mu_l - e), lo, hi, **opts)[0]
    return p_r / (p_l + p_r)


def test_drain_heat_fraction_saddle_against_quad():
    """The per-point Landauer share of the 'saddle' contact equals a scipy evaluation (1e-8);
    'constant' gives 1/2, as the Landauer integrals of a flat transmission do (1e-9)."""
    n, v = np.array([1.0, 3.5, 8.0]), np.array([0.68, 0.5, 0.3])
    got = np.asarray(jaxqpc.drain_heat_fraction(n, v, transmission="saddle"))
    want = np.array([_saddle_fraction_quad(*nv) for nv in zip(n, v)])
    np.testing.assert_allclose(got, want, atol=1e-8)
    assert np.all(got > 0.5) and np.all(np.diff(got) < 0)  # a steeper rise for fewer channels
    # 'constant' returns 1/2 without integrating: the Landauer integrals of a flat T(ε) = N agree
    energies = np.array([0.0, 8.0])
    for n_i, v_i in zip(n, v):
        model = jaxqpc.TabulatedTransmission(energies, np.array([n_i, n_i]))
        integral = float(jaxqpc.downstream_fraction(model, mu=jaxqpc.GOLD.fermi_energy_eV, bias_V=v_i,
                                                    temperature_K=T_LATTICE, energy_unit_eV=1.0))
        assert float(jaxqpc.drain_heat_fraction(n_i, v_i)) == 0.5 == pytest.approx(integral, abs=1e-9)


def test_drain_heat_fraction_domain_and_gradient():
    """N beyond the saddle's channels: ValueError eagerly, NaN under jit; d/dN and d/dV_c equal
    central differences."""
    with pytest.raises(ValueError, match="`conductance`"):
        jaxqpc.drain_heat_fraction(13.0, 0.5, transmission="saddle")
    with pytest.raises(ValueError, match="`contact_voltage`"):
        jaxqpc.drain_heat_fraction(1.0, -0.5)
    with pytest.raises(ValueError, match="`transmission`"):
        jaxqpc.drain_heat_fraction(1.0, 0.5, transmission="step")
    # one compiled function: values and gradients at a point, its central-difference neighbours and
    # two points outside (N beyond the channels, N < 0)
    f = lambda p: jaxqpc.drain_heat_fraction(p[0], p[1], transmission="saddle")
    x, d = np.array([2.3, 0.55]), 1e-5
    points = np.array([x, x + [d, 0], x - [d, 0], x + [0, d], x - [0, d], [13.0, 0.5], [-1.0, 0.5]])
    values, grads = (np.asarray(a) for a in jax.jit(jax.vmap(jax.value_and_grad(f)))(jnp.asarray(points)))
    assert np.all(np.isfinite(values[:5])) and np.all(np.isnan(values[5:]))
    assert np.all(np.isfinite(grads))  # zero outside, finite inside
    fd = [(values[1] - values[2]) / (2 * d), (values[3] - values[4]) / (2 * d)]
    np.testing.assert_allclose(grads[0], fd, rtol=1e-5)


# ---------------------------------------------------------------------------
# 5./6. gradients: one batched, jitted value-and-gradient per spectrum
# ---------------------------------------------------------------------------
# Row layout of a point: the 8 differentiated parameters, then a flag.
COLUMNS = ("eta", "R0", "Lc", "h", "source_voltage", "series_resistance", "power", "n")
ETA, R0_, LC, H, VS, RS, POW, N_ = range(8)
BIN_TIME = 0.01
P_UNUSED = 1e-6  # W: any valid power for rows that enter by conductance (keeps both branches finite)


def _point_counts(x, by_power, spectrum):
    """Counts of one point; by conductance x[N_] or (by_power) by the power x[POW] through the circuit."""
    g = jnp.where(by_power, jaxqpc.conductance_from_power(x[POW], x[VS], x[RS]), x[N_])
    return jaxqpc.photon_counts_from_conductance(
        g, eta=x[ETA], R0=x[R0_], Lc=x[LC], h=x[H], source_voltage=x[VS], series_resistance=x[RS],
        bin_time=BIN_TIME, dark_rate=0.0, spectrum=spectrum)


def _batched_counts(spectrum, rows, by_power):
    fn = jax.jit(jax.vmap(jax.value_and_grad(_point_counts), in_axes=(0, 0, None)), static_argnums=2)
    vals, grads = fn(jnp.asarray(rows), jnp.asarray(by_power), spectrum)
    return np.asarray(vals), np.asarray(grads)


def _row(n=4.0, eta=0.43, R0=1.04, Lc=0.52, h=1.0, source_voltage=0.7, series_resistance=470.0,
         power=P_UNUSED):
    return [eta, R0, Lc, h, source_voltage, series_resistance, power, n]


# interior points; Lc/R0 large enough that h matters
INTERIOR = [
    _row(4.0, 0.43, 1.04, 0.52, 1.0, 0.7, 470.0),
    _row(2.5, 0.8, 1.5, 1.2, 0.1, 0.9, 100.0),
    _row(1.0, 0.2, 0.7, 0.35, 20.0, 0.5, 0.0),
]
# entered by power (N = 5 in the Fig. 3B circuit, and N = 2 at 1 V, 1000 ohm)
BY_POWER = [
    _row(eta=0.43, R0=1.04, Lc=0.3, h=1.0, source_voltage=0.7, series_resistance=470.0,
         power=_circuit_power(5.0, 0.7, 470.0)),
    _row(eta=0.7, R0=1.2, Lc=0.6, h=3.0, source_voltage=1.0, series_resistance=1000.0,
         power=_circuit_power(2.0, 1.0, 1000.0)),
]
EDGES = {  # six rows (the eager validation check below reuses the shape-(6,) compilation)
    "h=0": _row(4.0, 0.43, 1.04, 0.52, 0.0, 0.7, 470.0),
    "h=inf": _row(4.0, 0.43, 1.04, 0.52, math.inf, 0.7, 470.0),
    "zeta=1-1e-9": _row(4 * 1.04 / LAMBDA_F * (1 - 1e-9), 0.43, 1.04, 0.13, 1.0, 0.7, 470.0),
    "zeta=1-1e-9,h=0": _row(4 * 1.5 / LAMBDA_F * (1 - 1e-9), 1.0, 1.5, 1.5, 0.0, 1.0, 0.0),
    "zeta=1-1e-9,h=inf": _row(4 * 0.5 / LAMBDA_F * (1 - 1e-9), 0.01, 0.5, 0.05, math.inf, 0.2, 1000.0),
    "tiny zeta": _row(0.2, 0.5, 3.0, 3.0, 1e-4, 0.2, 0.0),
}
ZETA1 = _row(4 * 1.04 / LAMBDA_F, 0.43, 1.04, 0.13, 1.0, 0.7, 470.0)  # zeta = 1 (to rounding)
REL_STEP = 1e-4
ONE_SIDED_STEP = 1e-6


def _central_rows(x, columns):
    """x, then x +- step along each column (step REL_STEP |x_i|)."""
    x = np.asarray(x, dtype=float)
    rows, steps = [x], []
    for c in columns:
        d = REL_STEP * abs(x[c])
        steps.append(d)
        for sign in (1, -1):
            y = x.copy()
            y[c] += sign * d
            rows.append(y)
    return rows, np.array(steps)


def _one_sided_rows(x, column, step):
    rows = []
    for k in range(3):
        y = np.asarray(x, dtype=float).copy()
        y[column] += k * step
        rows.append(y)
    return rows


def _random_domain(rng, size):
    """Random rows of the domain: N in [0.2, 8], R0 in [0.5, 3] nm (zeta <= 1), Lc/R0 in [0.1, 1],
    h log-uniform in [1e-4, 1e4] (5 % exactly 0, 5 % inf), eta in (0.01, 1], V_s in [0.2, 1] V,
    R_s in [0, 1000] ohm (5 % exactly 0)."""
    r0 = rng.uniform(0.5, 3.0, size)
    n_max = np.minimum(8.0, 4.0 * r0 / LAMBDA_F * (1 - 1e-12))  # zeta <= 1
    n = rng.uniform(0.2, n_max)
    n[-5:] = n_max[-5:]
    lc = r0 * rng.uniform(0.1, 1.0, size)
    h = 10.0 ** rng.uniform(-4.0, 4.0, size)
    special = rng.choice(size, size // 10, replace=False)
    h[special[: size // 20]] = 0.0
    h[special[size // 20:]] = np.inf
    eta = 1.0 - rng.uniform(0.0, 0.99, size)  # (0.01, 1]
    eta[:3] = 1.0
    vs = rng.uniform(0.2, 1.0, size)
    rs = rng.uniform(0.0, 1000.0, size)
    rs[rng.choice(size, size // 20, replace=False)] = 0.0
    rows = np.stack([eta, r0, lc, h, vs, rs, np.full(size, P_UNUSED), n], axis=1)
    return rows


SWEEP = {"eq17": (12_000, 20200), "exact": (500, 2020)}


def _gradient_batch(spectrum):
    """Every row the gradient tests need, evaluated in one call: {group: (rows, by_power, vals, grads)}."""
    groups = {}
    for i, x in enumerate(INTERIOR):
        groups[f"interior{i}"] = (_central_rows(x, range(5))[0], False)
    for i, x in enumerate(BY_POWER):
        groups[f"power{i}"] = (_central_rows(x, (VS, RS, POW))[0], True)
    groups["edges"] = (list(EDGES.values()), False)
    groups["h0"] = (_one_sided_rows(EDGES["h=0"], H, ONE_SIDED_STEP), False)
    groups["zeta1"] = (_one_sided_rows(ZETA1, R0_, ONE_SIDED_STEP * ZETA1[R0_]), False)
    size, seed = SWEEP[spectrum]
    groups["sweep"] = (list(_random_domain(np.random.default_rng(seed), size)), False)
    rows = np.concatenate([np.asarray(r, dtype=float) for r, _ in groups.values()])
    flags = np.concatenate([np.full(len(r), p) for r, p in groups.values()])
    vals, grads = _batched_counts(spectrum, rows, flags)
    out, start = {}, 0
    for name, (r, p) in groups.items():
        stop = start + len(r)
        out[name] = (rows[start:stop], flags[start:stop], vals[start:stop], grads[start:stop])
        start = stop
    return out


@pytest.fixture(scope="module", params=["eq17", "exact"])
def batch(request):
    return request.param, _gradient_batch(request.param)


def test_eager_validation_accepts_gradient_points():
    """The batched rows are evaluated inside jit (no checks): make sure the library accepts them."""
    rows = np.array(list(EDGES.values()))
    cols = {c: rows[:, i] for i, c in enumerate(COLUMNS)}
    values = jaxqpc.photon_counts_from_conductance(
        cols["n"], eta=cols["eta"], R0=cols["R0"], Lc=cols["Lc"], h=cols["h"],
        source_voltage=cols["source_voltage"], series_resistance=cols["series_resistance"],
        bin_time=BIN_TIME, spectrum="closed_form")
    assert np.all(np.isfinite(values))
    zeta1 = float(jaxqpc.photon_counts_from_conductance(
        ZETA1[N_], eta=0.43, R0=ZETA1[R0_], Lc=0.13, h=1.0, source_voltage=0.7, bin_time=BIN_TIME,
        spectrum="closed_form"))
    assert np.isfinite(zeta1)
    assert ZETA1[N_] * LAMBDA_F / (4 * ZETA1[R0_]) == pytest.approx(1.0, abs=1e-15)


def test_batched_values_equal_eager_calls(batch):
    spectrum, out = batch
    rows, flags, vals, _ = out["interior0"]
    x = rows[0]
    eager = jaxqpc.photon_counts_from_conductance(
        x[N_], eta=x[ETA], R0=x[R0_], Lc=x[LC], h=x[H], source_voltage=x[VS],
        series_resistance=x[RS], bin_time=BIN_TIME, spectrum=spectrum)
    assert vals[0] == pytest.approx(float(eager), rel=1e-13)
    rows, flags, vals, _ = out["power0"]
    x = rows[0]
    eager = jaxqpc.photon_counts(x[POW], eta=x[ETA], R0=x[R0_], Lc=x[LC], h=x[H], source_voltage=x[VS],
                                 series_resistance=x[RS], bin_time=BIN_TIME, spectrum=spectrum)
    assert vals[0] == pytest.approx(float(eager), rel=1e-13)


@pytest.mark.parametrize("i", range(len(INTERIOR)))
def test_counts_gradients_match_finite_differences(batch, i):
    """d counts/d (eta, R0, Lc, h, V_s) at interior points: = central differences to 1e-5."""
    spectrum, out = batch
    rows, _, vals, grads = out[f"interior{i}"]
    steps = REL_STEP * np.abs(rows[0][:5])
    fd = (vals[1::2] - vals[2::2]) / (2 * steps)
    grad = grads[0][:5]
    assert np.all(np.isfinite(grads[0]))
    np.testing.assert_allclose(grad, fd, rtol=1e-5)
    assert grad[ETA] > 0 and grad[VS] > 0  # more efficiency, more voltage: more light
    assert grad[H] < 0  # better side-wall exchange: cooler, fewer photons


@pytest.mark.parametrize("i", range(len(BY_POWER)))
def test_counts_gradients_by_power_match_finite_differences(batch, i):
    """Through the power entry point (fixed P): d/dV_s, d/dR_s, d/dP = central differences to 1e-5."""
    spectrum, out = batch
    rows, _, vals, grads = out[f"power{i}"]
    cols = (VS, RS, POW)
    steps = REL_STEP * np.abs(rows[0][list(cols)])
    fd = (vals[1::2] - vals[2::2]) / (2 * steps)
    np.testing.assert_allclose(grads[0][list(cols)], fd, rtol=1e-5)
    assert grads[0][N_] == 0.0  # the conductance column is unused by power rows
    assert np.all(np.isfinite(grads[0]))


@pytest.mark.parametrize("name", list(EDGES))
def test_gradients_finite_at_edges(batch, name):
    spectrum, out = batch
    rows, _, vals, grads = out["edges"]
    i = list(EDGES).index(name)
    assert np.isfinite(vals[i]) and vals[i] > 0
    assert np.all(np.isfinite(grads[i])), grads[i]
    if math.isinf(rows[i][H]):
        assert grads[i][H] == 0.0


def test_one_sided_differences_at_edges(batch):
    """At h = 0 the h-derivative and at zeta = 1 the R0-derivative equal one-sided differences."""
    spectrum, out = batch
    for group, col, step in (("h0", H, ONE_SIDED_STEP), ("zeta1", R0_, ONE_SIDED_STEP * ZETA1[R0_])):
        _, _, vals, grads = out[group]
        fd = (-3 * vals[0] + 4 * vals[1] - vals[2]) / (2 * step)
        assert np.all(np.isfinite(grads)) and np.all(np.isfinite(vals))
        assert grads[0][col] == pytest.approx(fd, rel=1e-4), group
    assert out["h0"][3][0][H] < 0


def test_property_sweep_values_and_gradients_finite(batch):
    """Seeded sweep (12000 points with "eq17", 500 with "exact"): no NaN/inf in values or gradients."""
    spectrum, out = batch
    rows, _, vals, grads = out["sweep"]
    assert rows.shape[0] == SWEEP[spectrum][0]
    eta, r0, lc, h, vs, rs, _, n = rows.T
    zeta = n * LAMBDA_F / (4 * r0)
    assert np.all(zeta <= 1.0) and zeta.max() > 1 - 1e-9
    assert np.isinf(h).sum() > 0 and (h == 0).sum() > 0 and (rs == 0).sum() > 0 and (eta == 1).sum() > 0
    assert np.all(np.isfinite(vals)) and np.all(vals > 0)
    bad = ~np.all(np.isfinite(grads), axis=1)
    assert not np.any(bad), [dict(zip(COLUMNS, r)) for r in rows[bad][:5]]
    # structure that must hold everywhere: counts = eta (...) exactly; more voltage at
    # fixed N means more light; better side-wall exchange never heats
    np.testing.assert_allclose(grads[:, ETA] * eta, vals, rtol=1e-12)
    assert np.all(grads[:, VS] > 0)
    assert np.all(grads[:, H] <= 0)
    assert np.all(grads[np.isinf(h), H] == 0)
    assert np.all(grads[:, POW] == 0)


# Te gradients (R0, Lc, h, bias) through jaxqpc.peak_temperature
def _point_te(x):
    return jaxqpc.peak_temperature(x[4], R0=x[0], Lc=x[1], h=x[2], contact_voltage=x[3])


@pytest.fixture(scope="module")
def te_batch():
    points = [[x[R0_], x[LC], x[H], x[VS] / (1 + x[RS] * x[N_] * G0_S), x[N_]] for x in INTERIOR]
    edges = [[x[R0_], x[LC], x[H], x[VS], x[N_]] for x in EDGES.values()]
    rows = []
    for x in points:
        rows += _central_rows(x, range(4))[0]
    rows += edges
    rows = np.array(rows)
    vals, grads = jax.jit(jax.vmap(jax.value_and_grad(_point_te)))(rows)
    return rows, np.asarray(vals), np.asarray(grads), len(points)


def test_temperature_gradients(te_batch):
    """d Te/d (R0, Lc, h, bias): = central differences (1e-5) inside, finite at the edges."""
    rows, vals, grads, n_points = te_batch
    for k in range(n_points):
        block = slice(9 * k, 9 * k + 9)
        r, v, g = rows[block], vals[block], grads[block]
        steps = REL_STEP * np.abs(r[0][:4])
        np.testing.assert_allclose(g[0][:4], (v[1::2] - v[2::2]) / (2 * steps), rtol=1e-5)
        assert g[0][0] < 0 and g[0][3] > 0  # T0 ~ V (lambda_F/R0)^(1/2)
    assert np.all(np.isfinite(vals)) and np.all(np.isfinite(grads))


# ---------------------------------------------------------------------------
# 7. validation
# ---------------------------------------------------------------------------
def _call(n=4.0, power=None, **changes):
    kw = dict(FIG3B)
    kw.update(changes)
    kw.setdefault("spectrum", "closed_form")  # validation precedes the spectrum: keep it cheap
    if power is not None:
        return jaxqpc.photon_counts(power, **kw)
    return jaxqpc.photon_counts_from_conductance(n, **kw)


P_OK = float(_circuit_power(5.0, 0.7, 470.0))  # W: N = 5 in the Fig. 3B circuit

INVALID = [
    ("R0", dict(n=4.0, R0=0.5)),  # zeta = 1.04 > 1
    ("R0", dict(n=np.array([1.0, 9.0]), R0=1.04)),  # one point beyond zeta = 1
    ("R0", dict(R0=0.0)),
    ("R0", dict(R0=-1.0)),
    ("R0", dict(R0=math.nan)),
    ("Lc", dict(Lc=0.0)),
    ("Lc", dict(Lc=-0.1)),
    ("Lc", dict(Lc=math.inf)),
    ("h", dict(h=-1e-3)),
    ("h", dict(h=math.nan)),
    ("h", dict(h=-math.inf)),
    ("h", dict(h=np.array([1.0, -1.0]))),
    ("eta", dict(eta=0.0)),
    ("eta", dict(eta=-0.2)),
    ("eta", dict(eta=1.0 + 1e-9)),
    ("eta", dict(eta=math.nan)),
    ("dark_rate", dict(dark_rate=-1.0)),
    ("dark_rate", dict(dark_rate=math.inf)),
    ("bin_time", dict(bin_time=0.0)),
    ("bin_time", dict(bin_time=-0.01)),
    ("source_voltage", dict(source_voltage=0.0)),
    ("series_resistance", dict(series_resistance=-1.0)),
    ("heat_fraction", dict(heat_fraction=0.0)),
    ("heat_fraction", dict(heat_fraction=1.5)),
    ("conductance", dict(n=0.0)),
    ("conductance", dict(n=-1.0)),
    ("spectrum", dict(spectrum="planck")),
]


@pytest.mark.parametrize("name, changes", INVALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INVALID)])
def test_validation_names_argument(name, changes):
    with pytest.raises(ValueError, match=f"`{name}`"):
        _call(**changes)
    if "n" not in changes:  # the same through the power entry point
        with pytest.raises(ValueError, match=f"`{name}`"):
            _call(power=P_OK, **changes)


@pytest.mark.parametrize("power", [0.0, -1e-4, math.nan, math.inf])
def test_validation_power(power):
    with pytest.raises(ValueError, match="`power`"):
        _call(power=power)


def test_validation_zeta_through_power():
    """A power whose conductance puts zeta > 1 for the given R0 is rejected, naming R0."""
    assert np.isfinite(float(_call(power=P_OK)))
    with pytest.raises(ValueError, match="`R0`"):
        _call(power=P_OK, R0=0.6)


def test_validation_length_ratio():
    """Lc > 1.5 R0 is outside the validated range of the heating series: the message names Lc/R0."""
    with pytest.raises(ValueError, match="Lc"):
        _call(n=1.0, Lc=2.0 * FIG3B["R0"])


def test_validation_lattice_temperature():
    with pytest.raises(ValueError, match="`lattice_temperature`"):
        _call(lattice_temperature=-300.0)


@pytest.mark.parametrize("l0", [0.0, -1.0])
def test_validation_L0(l0):
    with pytest.raises(ValueError, match="`L0`"):
        _call(L0=l0)
