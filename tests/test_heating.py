"""Peak electron temperature of Buret et al. 2020 (Sec. 4.2, Eqs. 1-5).

The package's ``peak_heating_sum`` / ``peak_temperature`` / ``hot_electron_T0``
are checked against ``tests/reference/heating_reference.py``: the radial Bessel
series with 1e5 eigenvalues (Robin roots bracketed by the interlaced zeros of
J0 and J1, Newton-polished) and smooth averaging of its partial sums, which is
itself checked here against 2e5 terms, against a second method (the axial-mode
expansion, double precision and mpmath) and against the exact 1D cases.

Report the accuracy from a shell with::

    PYTHONPATH=. python -c "from tests.test_heating import report_accuracy; report_accuracy()"

or ``pytest tests/test_heating.py -s -k max_relative``.

Findings pinned here (see the test docstrings):

* jaxqpc agrees with the reference to ~1e-13 relative over the whole grid;
* Fig. 5A/B (R0 = 2.5 lambda_F, N = 1..10, correct formula): Te decreases with N for
  every length Lc = R0/6 ... 3R0/4 in both h limits and for Lc = R0 with h = inf,
  but NOT for Lc = R0 with h -> 0: there Te has a shallow minimum at N ~ 6 and
  Te(N = 10) exceeds Te(N = 1) by 0.5 % (S(zeta = 1) = ell/2 = S(zeta -> 0) = 1/2
  at ell = 1, with S < 1/2 in between).  The printed Eq. 5 instead makes Te
  grow with N by 35 % there (maximum at N = 10), and its maximum moves from
  N = 1 (Lc <= R0/3) to N = 10 (Lc >= R0/2).  Neither formula has an interior
  maximum in N on these curves.
* Fig. 3B geometry (R0 = 2 lambda_F, Lc = R0/8, N = 4..8): the two h limits differ by
  at most 1.1e-5 relative in Te.
"""

import itertools
import math

import jax


import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from tests.reference import heating_reference as ref

LAMBDA_F = 0.52  # nm, gold (free electrons), docs/emission.md
BIAS = 0.7  # V

ZETAS = (1e-3, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0)
ELLS = (0.1, 0.125, 0.3, 0.6, 1.0)
HS = (0.0, 1e-3, 1.0, 1e3, math.inf)
GRID = tuple(itertools.product(ZETAS, ELLS, HS))
SCREENED = ((0.01, 0.3, 1.0), (0.5, 1.0, 0.0), (1.0, 0.6, math.inf), (0.2, 0.125, 1e3),
            (1e-3, 0.1, 1e-3), (1.0, 1.0, 0.0))
ALPHA = 0.05

ACCURACY = 1e-6  # required relative accuracy of peak_heating_sum


# ---------------------------------------------------------------------------
# reference values (computed once per module)
# ---------------------------------------------------------------------------
def reference_values():
    """{(zeta, ell, h, alpha): S} from the radial-series reference (1e5 terms)."""
    out = {(z, ell, h, 0.0): ref.peak_sum(z, ell, h) for z, ell, h in GRID}
    out.update({(z, ell, h, ALPHA): ref.peak_sum(z, ell, h, ALPHA) for z, ell, h in SCREENED})
    return out


@pytest.fixture(scope="module")
def reference():
    return reference_values()


def max_relative_error(values=None):
    """(max relative error of jaxqpc.peak_heating_sum vs the reference, worst point).

    ``values`` is the dict of ``reference_values()`` (recomputed if omitted).
    """
    values = reference_values() if values is None else values
    keys = list(values)
    z, ell, h, a = (np.array(c, dtype=float) for c in zip(*keys))
    got = np.asarray(jaxqpc.peak_heating_sum(z, ell, h, a))
    want = np.array([values[k] for k in keys])
    err = np.abs(got - want) / np.abs(want)
    i = int(np.argmax(err))
    return float(err[i]), keys[i]


def report_accuracy():
    """Print (and return) the measured accuracy of peak_heating_sum over the test grid."""
    err, worst = max_relative_error()
    print(f"peak_heating_sum: max relative error {err:.2e} over {len(GRID) + len(SCREENED)} points "
          f"(worst at zeta, ell, h, alpha = {worst})")
    return err, worst


def te(n, R0, Lc, h, bias=BIAS, **kw):
    return jaxqpc.peak_temperature(n, R0=R0, Lc=Lc, h=h, contact_voltage=bias, **kw)


# ---------------------------------------------------------------------------
# 1. the reference itself
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("h", [1e-5, 1e-3, 1.0, 1e3, 1e5])
def test_reference_robin_roots(h):
    """Robin roots: interlacing brackets, brentq agreement, asymptotics, mu_0 ~ sqrt(2h)."""
    count = ref.DEFAULT_TERMS
    mu = ref.robin_roots(h, count)
    j0 = ref._zeros(0, count)
    j1 = ref._zeros(1, count)
    assert np.all(j0[:-1] < j1[:-1]) and np.all(j1[:-1] < j0[1:])  # 0 < j0_1 < j1_1 < j0_2 < ...
    assert 0 < mu[0] < j0[0]
    # mu_n in (j1_n, j0_{n+1}); for tiny h, mu_n - j1_n ~ h/mu_n is below rounding at large n
    assert np.all(mu[1:] >= j1[:-1]) and np.all(mu[1:] < j0[1:])
    assert np.all(np.diff(mu) > 0)
    for n in (0, 1, 2, 7, 100, 1234, count - 1):
        assert mu[n] == pytest.approx(ref.robin_root_brentq(h, n), rel=1e-13)
    n = np.arange(1000, count)
    assert np.max(np.abs(ref.robin_roots_asymptotic(h, n.astype(float)) - mu[n])) < 1e-8
    if h <= 1e-3:
        assert mu[0] == pytest.approx(math.sqrt(2 * h), rel=h)  # mu_0^2 = 2h (1 - h/4 + ...)


def test_reference_converged_in_terms():
    """1e5 and 2e5 terms agree to < 1e-10 (measured 5e-15; plain sin^2 weights: 2e-9)."""
    worst = 0.0
    for z, ell, h in itertools.product((1e-3, 0.01, 0.2, 1.0), (0.1, 1.0), HS):
        a = ref.peak_sum(z, ell, h, n_terms=100_000)
        b = ref.peak_sum(z, ell, h, n_terms=200_000)
        worst = max(worst, abs(a - b) / abs(b))
    print(f"\nreference: max |S(1e5) - S(2e5)|/S = {worst:.1e}")
    assert worst < 1e-10


def test_reference_against_axial_expansion(reference):
    """Second method (axial modes, exponentially convergent) agrees to < 1e-11 (measured 4e-13)."""
    worst = 0.0
    for (z, ell, h, a), s in reference.items():
        worst = max(worst, abs(ref.peak_sum_axial(z, ell, h, a) - s) / s)
    print(f"\nreference: max |radial - axial|/S = {worst:.1e}")
    assert worst < 1e-11


@pytest.mark.parametrize("zeta, ell, h, alpha", [
    (0.1, 0.3, 1.0, 0.0), (0.5, 0.6, math.inf, 0.0), (0.2, 0.125, 1e-3, 0.05), (1.0, 0.3, 1.0, 0.0),
    (0.9, 1.0, 0.0, 0.0),
])
def test_reference_against_mpmath(zeta, ell, h, alpha):
    """The axial expansion in 30-digit mpmath agrees with the radial series to 1e-13."""
    exact = float(ref.peak_sum_axial_mp(zeta, ell, h, alpha))
    assert ref.peak_sum(zeta, ell, h, alpha) == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("ell", [0.1, 0.3, 1.0])
@pytest.mark.parametrize("alpha", [0.0, 0.05, 2.0])
def test_reference_uniform_flux_is_one_dimensional(ell, alpha):
    """zeta = 1, h = 0: flux over the whole section, no side loss -> S = tanh(alpha ell)/(2 alpha)."""
    exact = ell / 2 if alpha == 0 else math.tanh(alpha * ell) / (2 * alpha)
    assert ref.peak_sum(1.0, ell, 0.0, alpha) == pytest.approx(exact, rel=1e-13)
    assert ref.peak_sum_axial(1.0, ell, 0.0, alpha) == pytest.approx(exact, rel=1e-14)


@pytest.mark.parametrize("zeta, ell", [(1e-3, 0.1), (0.05, 0.6), (0.5, 0.125), (1.0, 1.0)])
def test_reference_printed_limit_forms(zeta, ell):
    """Eq. 4 and the corrected Eq. 5, each summed in its own printed form, equal the general series."""
    assert ref.peak_sum_eq4(zeta, ell) == pytest.approx(ref.peak_sum(zeta, ell, math.inf), rel=1e-13)
    assert ref.peak_sum_eq5(zeta, ell) == pytest.approx(ref.peak_sum(zeta, ell, 0.0), rel=1e-13)


# ---------------------------------------------------------------------------
# (a) accuracy of jaxqpc.peak_heating_sum
# ---------------------------------------------------------------------------
def test_peak_heating_sum_max_relative_error(reference):
    """|S_jaxqpc/S_ref - 1| <= 1e-6 on 175 + 6 points (measured ~1e-13)."""
    err, worst = max_relative_error(reference)
    print(f"\npeak_heating_sum: max relative error {err:.2e} (worst at zeta, ell, h, alpha = {worst})")
    assert err <= ACCURACY


def test_peak_heating_sum_pointwise_scalar(reference):
    """Scalar calls (h = jnp.inf as a JAX scalar included) give the same numbers."""
    for z, ell, h in [(1e-3, 0.1, 0.0), (0.2, 0.6, 1e-3), (1.0, 1.0, math.inf), (0.9, 0.125, 1e3)]:
        s = jaxqpc.peak_heating_sum(z, ell, jnp.inf if math.isinf(h) else h)
        assert float(s) == pytest.approx(reference[(z, ell, h, 0.0)], rel=ACCURACY)


@pytest.mark.parametrize("ell", [0.1, 0.6, 1.0])
@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_peak_heating_sum_one_dimensional_limit(ell, alpha):
    exact = ell / 2 if alpha == 0 else math.tanh(alpha * ell) / (2 * alpha)
    assert float(jaxqpc.peak_heating_sum(1.0, ell, 0.0, alpha)) == pytest.approx(exact, rel=1e-12)


# ---------------------------------------------------------------------------
# (b) the h limits
# ---------------------------------------------------------------------------
def _slope(h, dev):
    return np.polyfit(np.log(h), np.log(dev), 1)[0]


@pytest.mark.parametrize("zeta, ell", [(0.05, 1.0), (0.5, 1.0), (1.0, 1.0), (1.0, 0.125), (0.2, 0.6)])
def test_large_h_tends_to_eq4_like_one_over_h(zeta, ell):
    h = np.logspace(3, 5, 5)
    eq4 = ref.peak_sum_eq4(zeta, ell)
    dev = np.abs(np.asarray(jaxqpc.peak_heating_sum(zeta, ell, h)) - eq4)
    assert dev[-1] > 1e-11 and dev[0] < 1e-2 * eq4
    assert abs(_slope(h, dev) + 1.0) < 0.1
    assert float(jaxqpc.peak_heating_sum(zeta, ell, jnp.inf)) == pytest.approx(eq4, rel=1e-12)


@pytest.mark.parametrize("zeta, ell", [(0.05, 1.0), (0.5, 1.0), (1.0, 1.0), (0.2, 0.6), (0.9, 0.3)])
def test_small_h_tends_to_corrected_eq5_like_h(zeta, ell):
    h = np.logspace(-5, -3, 5)
    eq5 = ref.peak_sum_eq5(zeta, ell)
    dev = np.abs(np.asarray(jaxqpc.peak_heating_sum(zeta, ell, h)) - eq5)
    assert dev[0] > 1e-11 and dev[-1] < 1e-2 * eq5
    assert abs(_slope(h, dev) - 1.0) < 0.1
    assert float(jaxqpc.peak_heating_sum(zeta, ell, 0.0)) == pytest.approx(eq5, rel=1e-12)
    # the printed Eq. 5 is off by zeta*ell/2, i.e. not the h -> 0 limit
    assert ref.peak_sum_eq5_printed(zeta, ell) - eq5 == pytest.approx(zeta * ell / 2, rel=1e-12)


def test_side_loss_and_length_monotonic():
    """More side-wall exchange cools, a longer cylinder heats (comparison principle)."""
    h = jnp.array([0.0, 1e-3, 0.1, 1.0, 10.0, 1e3, jnp.inf])
    for z, ell in [(0.05, 0.3), (0.5, 1.0), (1.0, 0.6)]:
        s = np.asarray(jaxqpc.peak_heating_sum(z, ell, h))
        assert np.all(np.diff(s) < 0)
    s = np.asarray(jaxqpc.peak_heating_sum(0.5, jnp.linspace(0.1, 1.0, 10), 1.0))
    assert np.all(np.diff(s) > 0)


# ---------------------------------------------------------------------------
# physical units: T0 and Te against the reference
# ---------------------------------------------------------------------------
def test_gold_constants():
    g = jaxqpc.GOLD
    assert g.fermi_energy_eV == 5.53
    assert g.fermi_wavelength_nm == 0.52
    assert g.fermi_velocity_m_s == 1.40e6


def test_T0_number():
    """(e) k_B T0 = (6/pi^2) e V (lambda_F/R0)^(1/2): 4938 K at 0.7 V, R0 = lambda_F (paper: 4.92e3)."""
    t0 = float(jaxqpc.hot_electron_T0(0.7, LAMBDA_F))
    assert t0 == pytest.approx(4938.0, rel=1e-3)
    assert t0 == pytest.approx(ref.hot_electron_T0(0.7, LAMBDA_F), rel=1e-9)
    assert t0 == pytest.approx(4.92e3, rel=5e-3)
    # scaling with V and R0
    assert float(jaxqpc.hot_electron_T0(0.35, 4 * LAMBDA_F)) == pytest.approx(t0 / 4, rel=1e-12)
    assert float(jaxqpc.hot_electron_T0(0.7, LAMBDA_F, material=jaxqpc.GOLD)) == t0


@pytest.mark.parametrize("n, R0, Lc, h, kw, alpha", [
    (4.0, 1.04, 0.13, 0.0, {}, 0.0),
    (6.5, 1.04, 0.13, math.inf, {}, 0.0),
    (1.0, 1.3, 1.3, 0.0, {}, 0.0),
    (10.0, 1.3, 0.65, 2.0, {"lattice_temperature": 77.0}, 0.0),
    (3.0, 2.0, 1.0, 0.5, {"L0": 20.0}, 0.1),
])
def test_peak_temperature_against_reference(n, R0, Lc, h, kw, alpha):
    TL = kw.get("lattice_temperature", 300.0)
    want = ref.peak_temperature(n, R0, Lc, h, BIAS, lattice_temperature=TL, alpha=alpha)
    assert float(te(n, R0, Lc, h, **kw)) == pytest.approx(want, rel=1e-9)


def test_printed_eq5_variant():
    """variant="printed_eq5": Te^2 = TL^2 + T0^2 (S(h=0) + zeta ell/2), h ignored."""
    n, R0, Lc = 5.0, 1.3, 1.0
    zeta, ell = n * LAMBDA_F / (4 * R0), Lc / R0
    want = ref.peak_temperature(n, R0, Lc, 0.0, BIAS, printed_eq5=True)
    assert float(te(n, R0, Lc, 0.0, variant="printed_eq5")) == pytest.approx(want, rel=1e-9)
    printed = float(te(n, R0, Lc, 0.0, variant="printed_eq5"))
    assert float(te(n, R0, Lc, 7.0, variant="printed_eq5")) == printed
    t0 = ref.hot_electron_T0(BIAS, R0)
    s_printed = ref.peak_sum(zeta, ell, 0.0) + zeta * ell / 2
    assert want**2 - 300.0**2 == pytest.approx(t0**2 * s_printed, rel=1e-9)
    assert float(te(n, R0, Lc, 0.0)) < want


# ---------------------------------------------------------------------------
# (c) Fig. 5A/B: Te versus N at R0 = 2.5 lambda_F, Lc = R0/6 ... R0
# ---------------------------------------------------------------------------
R0_FIG5 = 2.5 * LAMBDA_F
N_FIG5 = np.arange(1.0, 11.0)  # zeta = N/10, up to 1


def _fig5(frac, h, variant="exact"):
    return np.asarray(te(N_FIG5, R0_FIG5, frac * R0_FIG5, h, variant=variant))


@pytest.mark.parametrize("frac", [1 / 6, 1 / 4, 1 / 3, 1 / 2, 3 / 4])
@pytest.mark.parametrize("h", [0.0, 1e-2, 1e2, math.inf])
def test_fig5_te_decreases_with_n(frac, h):
    """Correct formula: Te falls with N for Lc <= 3R0/4 in both h limits."""
    assert np.all(np.diff(_fig5(frac, h)) < 0)


def test_fig5_longest_cylinder():
    """Lc = R0: with h = inf Te still falls with N, but with h -> 0 it does NOT.

    For h = 0 and ell = 1, S(zeta -> 0) = 1/2 = S(zeta = 1) = ell/2 and S < 1/2
    in between, so Te(N) has a shallow minimum (N ~ 6) and Te(10) is 0.5 %
    above Te(1) (2228.8 K vs 2217.0 K).  The spread is only 2 %; the printed
    Eq. 5 turns the curve into a 35 % rise.
    """
    assert np.all(np.diff(_fig5(1.0, math.inf)) < 0)
    for h in (0.0, 1e-2):
        t = _fig5(1.0, h)
        assert int(np.argmin(t)) + 1 == 6
        assert np.all(np.diff(t[:5]) < 0) and np.all(np.diff(t[6:]) > 0)
        assert 0.0 < t[-1] / t[0] - 1.0 < 0.01
        assert t.max() / t.min() - 1.0 < 0.025
    # zeta = 1, h = 0 is the 1D solution: S = ell/2 exactly
    t0 = ref.hot_electron_T0(BIAS, R0_FIG5)
    assert _fig5(1.0, 0.0)[-1] == pytest.approx(math.sqrt(300.0**2 + t0**2 / 2), rel=1e-10)
    # the whole curve against the reference
    want = [ref.peak_temperature(n, R0_FIG5, R0_FIG5, 0.0, BIAS) for n in N_FIG5]
    np.testing.assert_allclose(_fig5(1.0, 0.0), want, rtol=1e-9)


def test_fig5_printed_eq5_moves_the_maximum_to_large_n():
    """With the printed Eq. 5 the maximum over N = 1..10 moves from N = 1 to N = 10 as Lc grows.

    Lc <= R0/3: maximum at N = 1; Lc >= R0/2: maximum at N = 10 (for Lc >= 3R0/4
    Te rises monotonically, by 35 % at Lc = R0).  With the correct formula the
    maximum stays at N = 1 except for Lc = R0, h -> 0, where Te(10) exceeds
    Te(1) by only 0.5 %.  No curve has an interior maximum.
    """
    fracs = (1 / 6, 1 / 4, 1 / 3, 1 / 2, 3 / 4, 1.0)
    argmax = {f: int(np.argmax(_fig5(f, 0.0, "printed_eq5"))) + 1 for f in fracs}
    assert argmax == {1 / 6: 1, 1 / 4: 1, 1 / 3: 1, 1 / 2: 10, 3 / 4: 10, 1.0: 10}
    for f in (3 / 4, 1.0):
        assert np.all(np.diff(_fig5(f, 0.0, "printed_eq5")) > 0)
    printed, correct = _fig5(1.0, 0.0, "printed_eq5"), _fig5(1.0, 0.0)
    assert printed[-1] / printed[0] > 1.3
    assert correct[-1] / correct[0] < 1.01
    assert np.all(printed > correct)
    for f in (1 / 6, 1 / 4, 1 / 3, 1 / 2, 3 / 4):
        assert int(np.argmax(_fig5(f, 0.0))) == 0 and int(np.argmax(_fig5(f, math.inf))) == 0
    # the printed form differs from the correct one by exactly zeta*ell/2 in S
    t0 = float(jaxqpc.hot_electron_T0(BIAS, R0_FIG5))
    zeta = N_FIG5 * LAMBDA_F / (4 * R0_FIG5)
    np.testing.assert_allclose((printed**2 - correct**2) / t0**2, zeta * 1.0 / 2, rtol=1e-9)


# ---------------------------------------------------------------------------
# (d) Fig. 3B geometry: h is not identifiable
# ---------------------------------------------------------------------------
def test_fig3b_h_limits_indistinguishable():
    """R0 = 2 lambda_F, Lc = R0/8, N = 4..8: Te(h=0) and Te(h=inf) differ by <= 1.1e-5 relative."""
    R0 = 2 * LAMBDA_F
    n = np.linspace(0.2, 8.0, 40)
    cold = np.asarray(te(n, R0, R0 / 8, jnp.inf))
    hot = np.asarray(te(n, R0, R0 / 8, 0.0))
    rel = (hot - cold) / cold
    assert np.all(rel >= 0)
    assert rel.max() < 2e-5
    n48 = np.arange(4.0, 9.0)
    rel48 = np.asarray(te(n48, R0, R0 / 8, 0.0)) / np.asarray(te(n48, R0, R0 / 8, jnp.inf)) - 1
    assert rel48.max() == pytest.approx(1.11e-5, rel=0.02)
    print(f"\nFig. 3B geometry: max (Te(h=0) - Te(h=inf))/Te = {rel48.max():.2e} over N = 4..8")


# ---------------------------------------------------------------------------
# (f) gradients
# ---------------------------------------------------------------------------
ARGS = ("n_channels", "R0", "Lc", "h", "bias")


def _te_fn(n, R0, Lc, h, bias):
    return jaxqpc.peak_temperature(n, R0=R0, Lc=Lc, h=h, contact_voltage=bias)


_grad_te = jax.jit(jax.grad(_te_fn, argnums=(0, 1, 2, 3, 4)))
_grad_s = jax.jit(jax.grad(jaxqpc.peak_heating_sum, argnums=(0, 1, 2, 3)))
_te_jit = jax.jit(_te_fn)


@pytest.mark.parametrize("point", [
    (4.0, 1.04, 0.13, 1.0, 0.7),
    (2.5, 1.3, 0.8, 0.05, 0.4),
    (7.0, 1.1, 0.5, 30.0, 0.9),
    (0.5, 2.5, 1.5, 3.0, 0.2),
])
def test_gradients_match_finite_differences(point):
    g = _grad_te(*point)
    for i, name in enumerate(ARGS):
        x = point[i]
        step = 1e-5 * x

        def f(v):
            p = list(point)
            p[i] = v
            return float(_te_jit(*p))

        fd = (f(x + step) - f(x - step)) / (2 * step)
        assert float(g[i]) == pytest.approx(fd, rel=1e-5, abs=1e-9 * abs(f(x))), name


def _assert_finite_grads(point):
    val = _te_fn(*point)
    g = _grad_te(*point)
    assert np.isfinite(float(val))
    for name, gi in zip(ARGS, g):
        assert np.isfinite(float(gi)), name
    return g


def test_gradients_finite_at_h_limits():
    g0 = _assert_finite_grads((4.0, 1.04, 0.5, 0.0, 0.7))
    ginf = _assert_finite_grads((4.0, 1.04, 0.5, jnp.inf, 0.7))
    assert float(g0[3]) < 0  # side loss cools, linearly in h near 0
    assert float(ginf[3]) == 0.0  # dTe/dh -> 0 like 1/h^2
    # h = 0: the derivative equals the small-h slope
    h = 1e-7
    fd = (float(_te_jit(4.0, 1.04, 0.5, h, 0.7)) - float(_te_jit(4.0, 1.04, 0.5, 0.0, 0.7))) / h
    assert float(g0[3]) == pytest.approx(fd, rel=1e-5)


@pytest.mark.parametrize("h", [0.0, 1.0, math.inf])
def test_gradients_finite_at_full_disk(h):
    """zeta -> 1 (r_N -> R0): zeta = 1 - 1e-9 and exactly 1."""
    R0 = 1.3
    n_full = 4 * R0 / LAMBDA_F
    assert n_full * LAMBDA_F / (4 * R0) == 1.0  # zeta is exactly 1 in floating point
    for n in (n_full, n_full * (1 - 1e-9)):
        _assert_finite_grads((n, R0, 0.6, h, 0.7))
    gs = _grad_s
    for z in (1.0, 1.0 - 1e-9):
        for gi in gs(z, 0.6, h, 0.0):
            assert np.isfinite(float(gi))
    if h == 0.0:  # S = ell/2 at zeta = 1: dS/dell = 1/2, dS/dh < 0
        g = gs(1.0, 0.6, 0.0, 0.0)
        assert float(g[1]) == pytest.approx(0.5, rel=1e-10)
        assert float(g[2]) < 0
    # one-sided second-order difference in zeta at zeta = 1
    d = 1e-4
    s = [float(jaxqpc.peak_heating_sum(1.0 - k * d, 0.6, h)) for k in range(3)]
    fd = (3 * s[0] - 4 * s[1] + s[2]) / (2 * d)
    assert float(gs(1.0, 0.6, h, 0.0)[0]) == pytest.approx(fd, rel=1e-5)


def test_gradient_of_printed_variant_and_L0():
    def both(n, R0, L0):  # (exact, printed_eq5)
        kw = dict(R0=R0, Lc=0.5, h=1.0, contact_voltage=0.7, L0=L0)
        return jnp.stack([jaxqpc.peak_temperature(n, **kw),
                          jaxqpc.peak_temperature(n, **kw, variant="printed_eq5")])

    jac = jax.jit(jax.jacrev(both, argnums=(0, 1, 2)))
    for L0 in (50.0, 100.0, jnp.inf):
        g = np.asarray(jac(3.0, 1.2, L0))
        assert np.all(np.isfinite(g))
        if np.isinf(L0):
            assert np.all(g[2] == 0.0)  # dTe/dL0 -> 0 like 1/L0^2
        else:
            assert np.all(g[2] > 0)  # weaker electron-lattice loss: hotter
    assert float(te(3.0, 1.2, 0.5, 1.0, L0=jnp.inf)) == float(te(3.0, 1.2, 0.5, 1.0))


# ---------------------------------------------------------------------------
# (g) seeded property test with vmap(grad)
# ---------------------------------------------------------------------------
def test_random_points_values_and_gradients_finite():
    rng = np.random.default_rng(20200101)
    m = 12_000
    R0 = rng.uniform(0.5, 3.0, m)
    n_max = np.minimum(10.0, 4 * R0 / LAMBDA_F)  # zeta <= 1
    n = rng.uniform(0.2, 1.0, m) * n_max
    n = np.maximum(n, np.minimum(0.2, n_max))
    Lc = rng.uniform(0.1, 1.0, m) * R0
    h = 10.0 ** rng.uniform(-4, 4, m)
    h[::10] = 0.0
    h[5::10] = np.inf
    bias = rng.uniform(0.1, 1.0, m)
    n[::97] = n_max[::97]  # some exactly full disks
    assert np.all(n * LAMBDA_F / (4 * R0) <= 1.0)
    args = tuple(jnp.asarray(a) for a in (n, R0, Lc, h, bias))
    vals, grads = jax.jit(jax.vmap(jax.value_and_grad(_te_fn, argnums=(0, 1, 2, 3, 4))))(*args)
    vals = np.asarray(vals)
    assert np.all(np.isfinite(vals)) and np.all(vals > 300.0)
    for name, g in zip(ARGS, grads):
        g = np.asarray(g)
        assert np.all(np.isfinite(g)), name
    # physical signs: hotter with bias and length, cooler with side-wall exchange
    g = {k: np.asarray(v) for k, v in zip(ARGS, grads)}
    assert np.all(g["bias"] > 0)
    assert np.all(g["Lc"] >= -1e-9 * vals)
    assert np.all(g["h"] <= 1e-9 * vals)
    # eager evaluation agrees with the vmapped one on a sample
    idx = np.arange(0, m, 1000)
    eager = np.asarray(jaxqpc.peak_temperature(n[idx], R0=R0[idx], Lc=Lc[idx], h=h[idx], contact_voltage=bias[idx]))
    np.testing.assert_allclose(vals[idx], eager, rtol=1e-12)


# ---------------------------------------------------------------------------
# (h) validation
# ---------------------------------------------------------------------------
GOOD = dict(R0=1.04, Lc=0.13, h=1.0, contact_voltage=0.7)


@pytest.mark.parametrize("n, kw, name", [
    (9.0, {}, "n_channels|R0"),  # zeta = 9*0.52/4.16 > 1
    (4.0, {"R0": 0.5}, "n_channels|R0"),
    (4.0, {"R0": 0.0}, "R0"),
    (4.0, {"R0": -1.0}, "R0"),
    (4.0, {"R0": float("nan")}, "R0"),
    (4.0, {"Lc": 0.0}, "Lc"),
    (4.0, {"Lc": -0.1}, "Lc"),
    (4.0, {"Lc": float("nan")}, "Lc"),
    (4.0, {"h": -1e-3}, "h"),
    (4.0, {"h": float("nan")}, "h"),
    (4.0, {"contact_voltage": 0.0}, "contact_voltage"),
    (4.0, {"contact_voltage": -0.7}, "contact_voltage"),
    (4.0, {"contact_voltage": float("nan")}, "contact_voltage"),
    (0.0, {}, "n_channels"),
    (float("nan"), {}, "n_channels"),
    (np.array([4.0, 9.0]), {}, "n_channels|R0"),
])
def test_peak_temperature_rejects_bad_input(n, kw, name):
    with pytest.raises(ValueError, match=name):
        jaxqpc.peak_temperature(n, **{**GOOD, **kw})


def test_peak_temperature_rejects_bad_variant():
    with pytest.raises(ValueError, match="variant"):
        jaxqpc.peak_temperature(4.0, **GOOD, variant="eq5")


@pytest.mark.parametrize("args, name", [
    ((1.1, 0.5, 1.0), "zeta"),
    ((0.0, 0.5, 1.0), "zeta"),
    ((float("nan"), 0.5, 1.0), "zeta"),
    ((0.5, 0.0, 1.0), "length_ratio"),
    ((0.5, float("nan"), 1.0), "length_ratio"),
    ((0.5, 0.5, -1.0), "h"),
    ((0.5, 0.5, float("nan")), "h"),
    ((0.5, 0.5, 1.0, -0.1), "screening"),
])
def test_peak_heating_sum_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        jaxqpc.peak_heating_sum(*args)


@pytest.mark.parametrize("args, name", [((0.0, 1.0), "contact_voltage"), ((0.7, 0.0), "R0"),
                                        ((0.7, float("nan")), "R0"), ((float("nan"), 1.0), "contact_voltage")])
def test_T0_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        jaxqpc.hot_electron_T0(*args)


# ---------------------------------------------------------------------------
# (i) jit / vmap / broadcasting
# ---------------------------------------------------------------------------
def test_jit_vmap_and_broadcasting():
    n = jnp.linspace(1.0, 8.0, 8)
    h = jnp.array([0.0, 1e-2, 1.0, 1e2, jnp.inf])
    eager = np.asarray(jaxqpc.peak_temperature(n[:, None], R0=1.04, Lc=0.13, h=h[None, :], contact_voltage=0.7))
    assert eager.shape == (8, 5)
    jitted = jax.jit(lambda n, h: jaxqpc.peak_temperature(n, R0=1.04, Lc=0.13, h=h, contact_voltage=0.7))
    np.testing.assert_allclose(np.asarray(jitted(n[:, None], h[None, :])), eager, rtol=1e-13)
    inner = jax.vmap(_te_fn, in_axes=(None, None, None, 0, None))
    vm = jax.jit(jax.vmap(inner, in_axes=(0, None, None, None, None)))
    np.testing.assert_allclose(np.asarray(vm(n, 1.04, 0.13, h, 0.7)), eager, rtol=1e-13)
    # peak_heating_sum under jit/vmap equals the eager values
    z = jnp.array([1e-3, 0.3, 1.0])
    s_eager = np.asarray(jaxqpc.peak_heating_sum(z[:, None], 0.5, h[None, :]))
    s_jit = jax.jit(jaxqpc.peak_heating_sum)(z[:, None], 0.5, h[None, :])
    s_vmap = jax.jit(jax.vmap(lambda zz: jaxqpc.peak_heating_sum(zz, 0.5, h)))(z)
    np.testing.assert_allclose(np.asarray(s_jit), s_eager, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(s_vmap), s_eager, rtol=1e-13)
