"""The exact transport converges to the paper's expansions with the stated powers."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc

QPC = jaxqpc.AbruptQPC(length=1.0, n_channels=6)


def _slope(x, y):
    """Log-log slope of |y| against x by least squares."""
    return np.polyfit(np.log(x), np.log(np.abs(y)), 1)[0]


@pytest.mark.parametrize("mu", [1.0, 2.3, 4.0, 6.5])
def test_eq7_power_converges_with_bias_cubed_error(mu):
    bias = np.geomspace(1e-3, 2e-2, 6)
    r = jaxqpc.transport(QPC, mu, bias)
    lead = np.asarray(jaxqpc.low_voltage_power(QPC, mu, bias))
    for p in (r.power_left, r.power_right):
        err = np.asarray(p) - lead
        np.testing.assert_allclose(np.asarray(p) / lead, 1.0, rtol=0.05 * bias[-1] / 1e-2)
        assert abs(_slope(bias, err) - 3.0) < 0.1  # error O(bias³): the T′ term


@pytest.mark.parametrize("mu", [1.3, 2.3, 4.6, 9.3])
def test_eq8_asymmetry_over_bias_cubed_tends_to_slope_over_6(mu):
    bias = np.geomspace(2e-3, 4e-2, 6)
    pa = np.asarray(jaxqpc.transport(QPC, mu, bias).power_asymmetry)
    lead = np.asarray(jaxqpc.low_voltage_asymmetry(QPC, mu, bias))
    rel = pa / lead - 1.0  # P_A/bias³ against T′/6
    assert abs(rel[0]) < 1e-3
    # relative deviation shrinks as bias² (the next term is T''' bias⁵ / 480)
    assert abs(_slope(bias, rel) - 2.0) < 0.15


@pytest.mark.parametrize("mu", [1.0, 4.0])
def test_eq8_converges_at_thresholds(mu):
    # At ε = n² T″ is singular ((ε − n²)^{3/2} terms), so the correction is not
    # O(bias²) there, but P_A/bias³ still tends to T′(μ̄)/6.
    bias = np.geomspace(1e-3, 1e-1, 5)
    pa = np.asarray(jaxqpc.transport(QPC, mu, bias).power_asymmetry)
    rel = np.abs(pa / np.asarray(jaxqpc.low_voltage_asymmetry(QPC, mu, bias)) - 1.0)
    assert rel[0] < 1e-4 and rel[-1] > 10 * rel[0]


def test_eq8_sign_follows_transmission_slope():
    mus = np.linspace(0.8, 8.0, 200)
    pa = np.asarray(jaxqpc.transport(QPC, mus, 1e-3).power_asymmetry)
    lead = np.asarray(jaxqpc.low_voltage_asymmetry(QPC, mus, 1e-3))
    big = np.abs(lead) > 1e-3 * np.abs(lead).max()
    assert np.all(np.sign(pa[big]) == np.sign(lead[big]))
    assert np.any(lead[big] < 0)  # plateau oscillations: T decreases somewhere, P_A < 0 there


@pytest.mark.parametrize("mu,bias", [(2.3, 0.3), (4.6, 0.4), (6.5, 0.5), (1.3, 0.2)])
def test_eqs14_16_temperature_corrections_scale_as_kT_squared(mu, bias):
    kT = np.geomspace(2e-3, 1.6e-2, 5)
    cold = jaxqpc.transport(QPC, mu, bias, 0.0)
    warm = jaxqpc.transport(QPC, mu * np.ones_like(kT), bias, kT)
    corr = jaxqpc.low_temperature_correction(QPC, mu, bias, kT)
    for exact, lead in ((np.asarray(warm.power_left) - float(cold.power_left), corr.left),
                        (np.asarray(warm.power_right) - float(cold.power_right), corr.right)):
        dev = np.abs(exact / np.asarray(lead) - 1.0)
        assert dev[0] < 0.01
        # next order is kT⁴: the relative deviation falls as kT²
        assert abs(_slope(kT, dev) - 2.0) < 0.3


def test_eq17_step_between_the_potentials():
    # A sharp saddle-point step (width ~1e-3 E1) between μ_R and μ_L, flat T at both.
    step = jaxqpc.SaddlePointQPC(omega_x=0.01, omega_y=10.0, v0=-3.0, n_channels=1, max_energy=20.0,
                                 grid_step=0.002)
    mu, bias = 2.0, 1.0  # E_1 = v0 + omega_y/2 = 2 sits mid-window
    kT = np.array([0.01, 0.02, 0.04])
    exact = jaxqpc.transport(step, np.full(3, mu), bias, kT)  # one evaluation for both sides
    exact_l, exact_r = np.asarray(exact.power_left), np.asarray(exact.power_right)
    cold = jaxqpc.transport(step, mu, bias, 0.0)
    lead = jaxqpc.step_temperature_correction(kT)
    np.testing.assert_allclose(exact_l - float(cold.power_left), lead.left, rtol=2e-3)
    np.testing.assert_allclose(exact_r - float(cold.power_right), lead.right, rtol=2e-3)
    np.testing.assert_allclose(np.asarray(lead.right), math.pi**2 / 6 * kT**2, rtol=1e-15)


def test_cooling_sign_matches_eq14():
    # On the first step the upstream correction is negative (T increases): cooling.
    corr = jaxqpc.low_temperature_correction(QPC, 1.0, 0.2, 0.02)
    assert float(corr.left) < 0 < float(corr.right)


def test_expansions_reject_bad_input():
    with pytest.raises(ValueError, match="bias"):
        jaxqpc.low_voltage_power(QPC, 1.0, 0.0)
    with pytest.raises(ValueError, match="kT"):
        jaxqpc.low_temperature_correction(QPC, 1.0, 0.1, -0.1)
    with pytest.raises(ValueError, match="mu"):
        jaxqpc.low_voltage_asymmetry(QPC, jnp.nan, 0.1)
