"""Transmission models against the independent reference (tests/reference/qpc_reference.py).

AbruptQPC: Eqs. 18-20 of Blaas-Anselmi et al. 2022 (see docs/errata-blaas-anselmi2022.md);
SaddlePointQPC: Buttiker's formula; TabulatedTransmission: scipy's PCHIP.
"""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

import jaxqpc
from tests.reference import qpc_reference as ref

LENGTHS = (0.3, 1.0, 2.5)
N_CHANNELS = 10
ATOL_T = 1e-10
THRESHOLDS = np.arange(1, 6) ** 2.0  # 1, 4, 9, 16, 25: all inside (0, 30]


def _energies():
    """~200 well-spread energies in (0, 30]: a seeded random draw, a coarse grid,
    the thresholds n^2, points within 1e-6 and 1e-9 of them, the bottom of the
    band and the ends of the K-bar averaging intervals."""
    rng = np.random.default_rng(20220301)
    e = [
        rng.uniform(0.0, 30.0, 80),
        np.linspace(0.01, 30.0, 61),
        THRESHOLDS,
        THRESHOLDS + 1e-6,
        THRESHOLDS - 1e-6,
        THRESHOLDS + 1e-9,
        THRESHOLDS - 1e-9,
        [1e-12, 1e-8, 1e-4, 1e-2, 0.5, 30.0],
    ]
    return np.unique(np.concatenate([np.ravel(x) for x in e]))


ENERGIES = _energies()


def _ref_channels(energies, ell, n_channels=N_CHANNELS):
    return np.array([ref.abrupt_channel_transmissions(e, ell, n_channels) for e in energies])


# ---------------------------------------------------------------------------
# The reference itself (so that a disagreement below can be attributed)
# ---------------------------------------------------------------------------


def test_reference_kbar_matches_mpmath():
    """The quad K-bar of the reference agrees with a 30-digit mpmath quadrature."""
    mpmath.mp.dps = 30

    def kbar_mp(n, eps):
        k = mpmath.sqrt(eps)

        def f(q):
            d = eps - q * q
            return mpmath.sqrt(d) if d >= 0 else 1j * mpmath.sqrt(-d)

        pts = [n - 1] + ([k] if n - 1 < k < n + 1 else []) + [n + 1]
        return complex(mpmath.quad(f, pts)) / 2

    worst = 0.0
    for n in (1, 2, 3, 5):
        for eps in (0.01, 0.7, 1.0, 1.0 + 1e-6, 3.3, 4.0, 9.0 - 1e-6, 12.5, 16.0, 29.0):
            worst = max(worst, abs(ref.kbar(n, eps) - kbar_mp(n, mpmath.mpf(eps))))
    assert worst < 1e-13


def _tau_cancellation_free(n, eps, ell):
    """tau_n from D_n/K_n = 4 Kb cos(phi) - 2i (K^2 + Kb^2) sin(phi)/K, phi = pi ell K.

    Algebraically identical to Eq. 20 divided by K_n, with no cancellation near
    K_n = 0 (used only to validate the reference's straight-from-the-paper form)."""
    kb = ref.kbar(n, eps)
    K = np.sqrt(complex(eps - n * n, 0.0))
    phi = math.pi * ell * K
    sinc = math.pi * ell * (np.sin(phi) / phi if phi != 0 else 1.0)
    d_over_k = 4 * kb * np.cos(phi) - 2j * (K * K + kb * kb) * sinc
    return 4 * kb.real / abs(d_over_k) if kb.real > 0 else 0.0


@pytest.mark.parametrize("ell", LENGTHS)
def test_reference_near_threshold_is_consistent(ell):
    """Reference (straight Eq. 20, limit formula only at K_n = 0) vs a cancellation-free
    rewrite: agreement to 1e-11 also within 1e-9 of the thresholds."""
    for eps in np.concatenate([ENERGIES[::7], THRESHOLDS, THRESHOLDS + 1e-9, THRESHOLDS - 1e-9]):
        if eps <= 0:
            continue
        nmax = int(math.isqrt(int(eps))) + 2
        a = ref.abrupt_channel_transmissions(eps, ell, nmax)
        b = np.array([_tau_cancellation_free(n, eps, ell) ** 2 for n in range(1, nmax + 1)])
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-11, err_msg=f"eps={eps!r}")


def test_reference_unitarity_and_paper_value():
    es = np.linspace(1e-3, 30.0, 1500)
    for ell in LENGTHS:
        tn = _ref_channels(es, ell)
        assert tn.min() >= 0.0 and tn.max() <= 1.0 + 1e-12
    assert abs(ref.abrupt_transmission(1.0, 1.0) - 0.09) < 0.005


# ---------------------------------------------------------------------------
# AbruptQPC
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ell", LENGTHS)
def test_abrupt_channels_match_reference(ell):
    model = jaxqpc.AbruptQPC(length=ell, n_channels=N_CHANNELS)
    got = np.asarray(model.channel_transmissions(jnp.asarray(ENERGIES)))
    want = _ref_channels(ENERGIES, ell)
    assert got.shape == ENERGIES.shape + (N_CHANNELS,)
    err = np.abs(got - want)
    i, n = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)), err.shape)
    assert np.all(err <= ATOL_T), (
        f"ell={ell}: worst |T_n jax - ref| = {err[i, n]:.3g} at eps={ENERGIES[i]!r}, n={n + 1}: "
        f"jax {got[i, n]!r}, ref {want[i, n]!r}"
    )


@pytest.mark.parametrize("ell", LENGTHS)
def test_abrupt_total_matches_reference(ell):
    model = jaxqpc.AbruptQPC(length=ell, n_channels=N_CHANNELS)
    got = np.asarray(model.transmission(jnp.asarray(ENERGIES)))
    want = np.array([ref.abrupt_transmission(e, ell) for e in ENERGIES])
    assert got.shape == ENERGIES.shape
    err = np.abs(got - want)
    i = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
    assert np.all(err <= ATOL_T), (
        f"ell={ell}: |T jax - ref| = {err[i]:.3g} at eps={ENERGIES[i]!r}: jax {got[i]!r}, ref {want[i]!r}"
    )


@pytest.mark.parametrize("ell", LENGTHS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_abrupt_at_and_near_threshold(ell, n):
    """Exactly at eps = n^2 (K_n = 0: continuous limit, no 0/0) and within 1e-6, 1e-9, 1e-12."""
    e0 = float(n * n)
    es = e0 + np.array([-1e-6, -1e-9, -1e-12, 0.0, 1e-12, 1e-9, 1e-6])
    model = jaxqpc.AbruptQPC(length=ell, n_channels=N_CHANNELS)
    got = np.asarray(model.channel_transmissions(jnp.asarray(es)))
    want = _ref_channels(es, ell)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL_T)
    # scalar input at the threshold itself
    assert abs(float(model.transmission(e0)) - ref.abrupt_transmission(e0, ell)) <= ATOL_T
    # continuity across the threshold
    t = np.asarray(model.transmission(jnp.asarray(es)))
    assert np.ptp(t[1:-1]) < 1e-6


@pytest.mark.parametrize("ell", (0.05, 0.3, 1.0, 2.5, 5.0, 20.0))
def test_abrupt_unitarity_dense(ell):
    """0 <= T_n <= 1 everywhere (the other reading 4|Kbar| Re K reaches 2.5) and
    T <= floor(sqrt(eps)) + 1 (only that many channels have Re Kbar_n > 0)."""
    model = jaxqpc.AbruptQPC(length=ell, n_channels=N_CHANNELS)
    es = np.concatenate([np.linspace(1e-6, 99.999, 40001), np.arange(1, 10) ** 2.0])
    tn = np.asarray(model.channel_transmissions(jnp.asarray(es)))
    assert np.all(np.isfinite(tn))
    assert tn.min() >= 0.0
    assert tn.max() <= 1.0 + 1e-12, f"max T_n = {tn.max()!r} at eps = {es[np.argmax(tn.max(-1))]!r}"
    total = tn.sum(-1)
    assert np.all(total <= np.floor(np.sqrt(es)) + 1 + 1e-12)


@pytest.mark.parametrize("ell", LENGTHS)
def test_abrupt_plateaus(ell):
    """3/4 of the way across plateau n (past the post-step dip), T is within 0.05 of n
    (checked on the reference too: 0.025 at worst for these lengths)."""
    model = jaxqpc.AbruptQPC(length=ell, n_channels=N_CHANNELS)
    for n in range(1, 5):
        e = n * n + 0.75 * (2 * n + 1)
        assert abs(ref.abrupt_transmission(e, ell) - n) < 0.05
        assert abs(float(model.transmission(e)) - n) < 0.05


def test_abrupt_paper_value_foot_of_first_step():
    """docs/errata-blaas-anselmi2022.md: mu = E1 sits at the foot of the first step, T(1) ~ 0.09 for ell = 1."""
    t = float(jaxqpc.AbruptQPC(length=1.0).transmission(1.0))
    assert abs(t - 0.09) < 0.005
    assert abs(t - ref.abrupt_transmission(1.0, 1.0)) <= ATOL_T


def test_abrupt_zero_below_band_bottom():
    model = jaxqpc.AbruptQPC(length=1.0, n_channels=N_CHANNELS)
    es = jnp.asarray([-50.0, -1.0, -1e-12, 0.0])
    assert np.all(np.asarray(model.transmission(es)) == 0.0)
    assert np.all(np.asarray(model.channel_transmissions(es)) == 0.0)


def test_abrupt_channel_cut_is_exact():
    """Fewer channels change nothing below n_channels**2."""
    es = jnp.asarray(np.linspace(0.01, 24.99, 301))
    a = np.asarray(jaxqpc.AbruptQPC(length=1.0, n_channels=5).transmission(es))
    b = np.asarray(jaxqpc.AbruptQPC(length=1.0, n_channels=10).transmission(es))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    assert jaxqpc.AbruptQPC(length=1.0, n_channels=10).max_energy == 100.0


def test_abrupt_grad_matches_finite_difference_of_reference():
    """dT/deps from JAX vs a central difference of the reference, away from thresholds."""
    model = jaxqpc.AbruptQPC(length=1.0, n_channels=N_CHANNELS)
    dT = jax.grad(lambda e: model.transmission(e))
    h = 1e-5
    for e in (0.6, 1.7, 2.9, 5.3, 7.7, 11.0, 20.2):
        fd = (ref.abrupt_transmission(e + h, 1.0) - ref.abrupt_transmission(e - h, 1.0)) / (2 * h)
        g = float(dT(e))
        assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd)), (e, g, fd)


def test_abrupt_vmap_and_jit_over_lengths():
    e = jnp.asarray([0.5, 1.0, 2.5, 4.0, 7.3, 16.0, 29.0])
    ls = jnp.asarray([0.3, 1.0, 2.5, 4.0])
    vm = jax.vmap(lambda ell: jaxqpc.AbruptQPC(length=ell).transmission(e))(ls)
    jv = jax.jit(jax.vmap(lambda ell: jaxqpc.AbruptQPC(length=ell).transmission(e)))(ls)
    jt = jax.jit(lambda m, x: m.transmission(x))
    assert vm.shape == (4, 7)
    for i, ell in enumerate(np.asarray(ls)):
        want = np.array([ref.abrupt_transmission(x, ell) for x in np.asarray(e)])
        np.testing.assert_allclose(np.asarray(vm[i]), want, rtol=0, atol=ATOL_T)
        np.testing.assert_allclose(np.asarray(jv[i]), want, rtol=0, atol=ATOL_T)
        got = jt(jaxqpc.AbruptQPC(length=float(ell)), e)  # model as a PyTree argument
        np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=ATOL_T)
    # grad with respect to the length runs and is finite
    g = jax.grad(lambda ell: jaxqpc.AbruptQPC(length=ell).transmission(2.5))(1.0)
    assert np.isfinite(float(g))


# ---------------------------------------------------------------------------
# SaddlePointQPC
# ---------------------------------------------------------------------------

SADDLE_PARAMS = [
    dict(omega_x=0.25, omega_y=1.0, v0=0.5, n_channels=10),
    dict(omega_x=0.05, omega_y=2.0, v0=1.3, n_channels=6),
    dict(omega_x=1.5, omega_y=0.7, v0=-0.2, n_channels=12),
]


@pytest.mark.parametrize("p", SADDLE_PARAMS)
def test_saddle_matches_reference(p):
    model = jaxqpc.SaddlePointQPC(**p)
    es = np.concatenate([[-3.0, -1e-9, 0.0], np.linspace(1e-6, 30.0, 301)])
    got_n = np.asarray(model.channel_transmissions(jnp.asarray(es)))
    want_n = np.array([ref.saddle_channel_transmissions(e, **p) for e in es])
    assert got_n.shape == es.shape + (p["n_channels"],)
    np.testing.assert_allclose(got_n, want_n, rtol=0, atol=1e-12)
    got = np.asarray(model.transmission(jnp.asarray(es)))
    want = np.array([ref.saddle_transmission(e, **p) for e in es])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.all(got[:3] == 0.0)


def test_saddle_jit_vmap():
    es = jnp.linspace(0.1, 10.0, 17)
    wx = jnp.asarray([0.1, 0.25, 0.6])
    out = jax.jit(jax.vmap(lambda w: jaxqpc.SaddlePointQPC(omega_x=w).transmission(es)))(wx)
    for i, w in enumerate(np.asarray(wx)):
        want = [ref.saddle_transmission(e, w, 1.0, 0.5, 10) for e in np.asarray(es)]
        np.testing.assert_allclose(np.asarray(out[i]), want, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# TabulatedTransmission (PCHIP)
# ---------------------------------------------------------------------------


def _tables():
    rng = np.random.default_rng(7)
    x1 = np.sort(rng.uniform(0.05, 12.0, 40))
    steps = np.array([ref.abrupt_transmission(e, 1.0) for e in x1])  # non-monotone (dips)
    x2 = np.array([0.1, 0.2, 0.5, 0.6, 1.5, 2.0, 2.1, 4.0, 6.0, 6.5])
    y2 = np.array([0.0, 0.0, 0.3, 1.0, 1.0, 1.0, 1.2, 2.0, 1.9, 1.9])  # flat runs, extrema
    x3 = np.linspace(0.5, 9.5, 19)
    y3 = 3.0 / (1.0 + np.exp(-(x3 - 5.0))) + 0.1 * np.sin(3 * x3) ** 2
    return [
        (x1, steps),
        (x2, y2),
        (x3, y3),
        (np.array([0.5, 3.0]), np.array([0.2, 1.7])),  # 2 points: linear
        (np.array([0.5, 1.0, 3.0]), np.array([1.0, 0.0, 2.0])),  # 3 points, sign change
    ]


@pytest.mark.parametrize("table", range(5))
def test_tabulated_matches_scipy_pchip(table):
    x, y = _tables()[table]
    model = jaxqpc.TabulatedTransmission(x, y)
    rng = np.random.default_rng(table)
    es = np.unique(np.concatenate([x, np.linspace(x[0], x[-1], 257), rng.uniform(x[0], x[-1], 64)]))
    got = np.asarray(model.transmission(jnp.asarray(es)))
    want = PchipInterpolator(x, y)(es)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        np.asarray(ref.tabulated_transmission(x, y, es)), want, rtol=0, atol=0
    )


@pytest.mark.parametrize("table", range(5))
def test_tabulated_derivative_matches_scipy(table):
    """Differentiable: d/deps of the interpolant equals scipy's PCHIP derivative (inside pieces)."""
    x, y = _tables()[table]
    model = jaxqpc.TabulatedTransmission(x, y)
    mids = 0.5 * (x[1:] + x[:-1])
    es = np.concatenate([mids, 0.3 * x[1:] + 0.7 * x[:-1]])
    got = np.asarray(jax.vmap(jax.grad(lambda e: model.transmission(e)))(jnp.asarray(es)))
    want = PchipInterpolator(x, y).derivative()(es)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_tabulated_grad_wrt_values_runs():
    x, y = _tables()[2]
    f = lambda v: jaxqpc.TabulatedTransmission(x, v).transmission(jnp.asarray([1.3, 4.4, 7.7])).sum()
    g = np.asarray(jax.grad(f)(jnp.asarray(y)))
    assert g.shape == y.shape and np.all(np.isfinite(g))
    # finite difference on one value (PCHIP is piecewise smooth in the data)
    h = 1e-6
    e = np.zeros_like(y)
    e[8] = h
    fd = (float(f(jnp.asarray(y + e))) - float(f(jnp.asarray(y - e)))) / (2 * h)
    assert abs(g[8] - fd) < 1e-6


# ---------------------------------------------------------------------------
# Invalid input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0.0, -1.0, float("nan"), float("inf")])
def test_abrupt_bad_length(length):
    with pytest.raises(ValueError, match="length"):
        jaxqpc.AbruptQPC(length=length)


def test_abrupt_bad_energy():
    model = jaxqpc.AbruptQPC(length=1.0, n_channels=5)
    with pytest.raises(ValueError, match="energy"):
        model.transmission(float("nan"))
    with pytest.raises(ValueError, match="energy"):
        model.channel_transmissions(jnp.asarray([1.0, float("nan")]))
    with pytest.raises(ValueError, match="energy"):
        model.transmission(25.5)  # beyond n_channels**2: the channel cut is no longer exact


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(omega_x=0.0), "omega_x"),
        (dict(omega_x=-0.1), "omega_x"),
        (dict(omega_y=float("nan")), "omega_y"),
        (dict(v0=float("nan")), "v0"),
    ],
)
def test_saddle_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        jaxqpc.SaddlePointQPC(**kwargs)


def test_tabulated_bad_input():
    with pytest.raises(ValueError, match="energies"):
        jaxqpc.TabulatedTransmission([0.1, 0.3, 0.2], [0.0, 1.0, 2.0])  # unsorted
    with pytest.raises(ValueError, match="energies"):
        jaxqpc.TabulatedTransmission([0.1, 0.2, 0.2], [0.0, 1.0, 2.0])  # repeated
    with pytest.raises(ValueError, match="energies"):
        jaxqpc.TabulatedTransmission([0.1, float("nan"), 0.3], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="values"):
        jaxqpc.TabulatedTransmission([0.1, 0.2, 0.3], [0.0, float("nan"), 2.0])
    model = jaxqpc.TabulatedTransmission([0.5, 1.0, 2.0], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="energy"):
        model.transmission(2.5)  # above the table
    with pytest.raises(ValueError, match="energy"):
        model.transmission(jnp.asarray([0.7, 0.25]))  # below the table
    with pytest.raises(ValueError, match="energy"):
        model.transmission(float("nan"))
