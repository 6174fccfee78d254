"""jaxqpc._sidewall: roots of mu J1(mu) = h J0(mu) (Buret et al. 2020, Eqs. 2-3)."""

import functools

import jax


import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.special as sc
from scipy.optimize import brentq

from jaxqpc._sidewall import _bessel_zero_tables, sidewall_eigenvalues, sidewall_eigenvalues_squared

N = 2000  # roots computed in the value tests
H_CHECK = [0.0, 1e-300, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6, 1e12, 1e300, np.inf]
H_TINY = list(np.logspace(-300, -8, 25))
H_FD = [1e-3, 0.1, 1.0, 10.0, 1e3]  # finite-difference checks, relative step 1e-3
FD_K = (-2, -1, 1, 2)
Z0 = sc.jn_zeros(0, N)  # z0[n]: (n+1)-th zero of J0 = upper end of root n
Z1 = np.concatenate([[0.0], sc.jn_zeros(1, N - 1)])  # lower end of root n


SOLVE = jax.jit(sidewall_eigenvalues, static_argnums=1)
H_ALL = H_CHECK + H_TINY + [v * (1 + 1e-3 * k) for v in H_FD for k in FD_K]


@functools.cache
def values():
    """All the root values the tests need, from one compiled call."""
    mu = np.asarray(SOLVE(jnp.asarray(H_ALL), N))
    out, i = {}, 0
    for key, size in (("check", len(H_CHECK)), ("tiny", len(H_TINY)), ("fd", len(H_FD) * len(FD_K))):
        out[key] = mu[i : i + size]
        i += size
    out["fd"] = out["fd"].reshape(len(H_FD), len(FD_K), N)
    return out


def _brentq_root(h, n):
    f = lambda m: m * sc.j1(m) - h * sc.j0(m)
    a, b = Z1[n], Z0[n]
    fa, fb = f(a), f(b)
    if np.sign(fa) == np.sign(fb):  # h so small (or large) that the root is the end point to rounding
        return a if abs(fa) < abs(fb) else b
    return brentq(f, a, b, xtol=1e-300, rtol=8.9e-16, maxiter=500)


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------


def test_zero_tables_and_interlacing():
    z1, z0 = _bessel_zero_tables(N)
    np.testing.assert_allclose(z0, Z0, rtol=4.5e-16)
    np.testing.assert_allclose(z1, Z1, rtol=4.5e-16)
    # 0 = z1_0 < z0_1 < z1_1 < z0_2 < ...: root n lies in [z1_n, z0_{n+1}]
    assert np.all(z1 < z0) and np.all(z0[:-1] < z1[1:])


@pytest.mark.parametrize("ih", range(1, len(H_CHECK) - 1), ids=lambda i: f"h={H_CHECK[i]:g}")
def test_roots_against_brentq(ih):
    h = H_CHECK[ih]
    mu = values()["check"][ih]
    ns = list(range(101)) + list(range(101, N, 97)) + [N - 1]
    ref = np.array([np.sqrt(2 * h) if (n == 0 and h < 1e-200) else _brentq_root(h, n) for n in ns])
    # (brentq cannot resolve f ~ 1e-300 near mu = 0; there mu_0 = sqrt(2h) (1 - h/8 + ...))
    np.testing.assert_allclose(mu[ns], ref, rtol=2e-15)


def test_limits():
    mu = values()["check"]
    assert mu[0, 0] == 0.0
    np.testing.assert_allclose(mu[0], Z1, rtol=4.5e-16)  # h = 0: 0 and the zeros of J1
    np.testing.assert_allclose(mu[-1], Z0, rtol=4.5e-16)  # h = inf: the zeros of J0
    np.testing.assert_allclose(mu[-2], Z0, rtol=4.5e-16)  # h = 1e300: indistinguishable
    # deviation from the h = inf limit is -z0/h (to O(1/h^2))
    np.testing.assert_allclose((Z0 - mu[H_CHECK.index(1e6)])[:50] * 1e6, Z0[:50], rtol=5e-6)


def test_small_h_full_relative_precision():
    h = np.array(H_TINY)
    mu0 = values()["tiny"][:, 0]
    np.testing.assert_allclose(mu0, np.sqrt(2 * h) * (1 - h / 8), rtol=4.5e-16)
    m = h < 1e-17  # mu_n - z1_n ~ h/z1_n for n >= 1
    np.testing.assert_allclose(values()["tiny"][m, 1:], np.broadcast_to(Z1[1:], (m.sum(), N - 1)), rtol=4.5e-16)


def test_ordering_and_brackets():
    mu = values()["check"]
    assert np.all(np.diff(mu, axis=1) > 0)  # mu_0 < mu_1 < ...
    assert np.all(np.diff(mu, axis=0) >= -4.5e-16 * mu[1:])  # nondecreasing in h (to rounding)
    assert np.all(mu >= Z1 * (1 - 4.5e-16)) and np.all(mu <= Z0 * (1 + 4.5e-16))


# ---------------------------------------------------------------------------
# derivatives
# ---------------------------------------------------------------------------

ND = 101  # roots in the derivative tests
H_D = jnp.array([0.0, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6, np.inf])


@functools.cache
def jac():
    """mu, dmu/dh (forward and reverse mode), mu^2 and d(mu^2)/dh at H_D: one compile."""
    f = lambda h: sidewall_eigenvalues(h, ND)
    g = lambda h: sidewall_eigenvalues_squared(h, ND)

    @jax.jit
    @jax.vmap
    def all_(h):
        mu, dmu = jax.jvp(f, (h,), (jnp.ones_like(h),))
        s, ds = jax.jvp(g, (h,), (jnp.ones_like(h),))
        return mu, dmu, jax.jacrev(f)(h), s, ds

    return dict(zip(("mu", "fwd", "rev", "s", "sq"), map(np.asarray, all_(H_D))))


def test_derivative_matches_implicit_formula():
    """dmu/dh = J0/(mu J0 + h J1): scipy at the roots for moderate h, mpmath for large h
    (there J0(mu) ~ mu J1/h is tiny and double-precision J0 loses digits)."""
    d = jac()
    for i, h in enumerate(np.asarray(H_D)):
        if not 0 < h <= 10:
            continue
        mu = d["mu"][i]
        ref = sc.j0(mu) / (mu * sc.j0(mu) + h * sc.j1(mu))
        np.testing.assert_allclose(d["fwd"][i], ref, rtol=1e-13, err_msg=f"h={h}")
        np.testing.assert_allclose(d["sq"][i], 2 * mu * ref, rtol=1e-13, err_msg=f"h={h}")
    with mpmath.workdps(40):
        for h in (1e3, 1e6):
            i = list(np.asarray(H_D)).index(h)
            for n in (0, 1, 10, 100):
                f = lambda m: m * mpmath.besselj(1, m) - h * mpmath.besselj(0, m)
                m = mpmath.findroot(f, mpmath.mpf(float(d["mu"][i, n])))
                j0m, j1m = mpmath.besselj(0, m), mpmath.besselj(1, m)
                ref = float(j0m / (m * j0m + h * j1m))
                assert abs(float(m) / d["mu"][i, n] - 1) < 5e-16
                assert d["fwd"][i, n] == pytest.approx(ref, rel=1e-14), (h, n)
    np.testing.assert_allclose(d["rev"], d["fwd"], rtol=1e-15)


def test_derivative_against_finite_differences():
    fd = values()["fd"]  # (len(H_FD), 4, N) at h (1 + 1e-3 k), k = -2, -1, 1, 2
    d = jac()
    for j, h in enumerate(H_FD):
        step = 1e-3 * h
        num = ((-fd[j, 3] + 8 * fd[j, 2] - 8 * fd[j, 1] + fd[j, 0]) / (12 * step))[:ND]
        i = list(np.asarray(H_D)).index(h)
        got, mu = d["fwd"][i], d["mu"][i]
        noise = 2e-16 * mu / step  # rounding of the roots, amplified by the difference quotient
        assert np.all(np.abs(got - num) <= 1e-8 * np.abs(got) + noise), h


def test_derivative_at_h_zero():
    d = jac()
    # n >= 1: dmu_n/dh = 1/z1_n; d(mu_n^2)/dh = 2 for every n, including n = 0
    np.testing.assert_allclose(d["fwd"][0, 1:], 1 / Z1[1:ND], rtol=1e-15)
    np.testing.assert_allclose(d["sq"][0], 2.0, rtol=1e-15)
    # n = 0: infinite one-sided slope, returned as the finite stand-in 1/sqrt(2 tiny)
    tiny = np.finfo(np.float64).tiny
    assert d["fwd"][0, 0] == pytest.approx(1 / np.sqrt(2 * tiny), rel=1e-12)
    # reverse mode: the rows n >= 1 carry a zero cotangent for mu_0 and must stay clean
    np.testing.assert_allclose(d["rev"][0], d["fwd"][0], rtol=1e-15)


def test_derivative_at_large_and_infinite_h():
    d = jac()
    assert np.all(d["fwd"][-1] == 0.0) and np.all(d["sq"][-1] == 0.0) and np.all(d["rev"][-1] == 0.0)
    # mu_n ~ z0 (1 - 1/h): dmu/dh ~ z0/h^2
    i = list(np.asarray(H_D)).index(1e6)
    np.testing.assert_allclose(d["fwd"][i, :20] * 1e12, Z0[:20], rtol=1e-5)


def test_second_derivatives():
    f = lambda h: sidewall_eigenvalues(h, 5)
    g = lambda h: sidewall_eigenvalues_squared(h, 5)

    @jax.jit
    @jax.vmap
    def second(h):  # forward over forward: the cheapest to compile
        one = jnp.ones_like(h)
        df = lambda h: jax.jvp(f, (h,), (one,))[1]
        dg = lambda h: jax.jvp(g, (h,), (one,))[1]
        return jax.jvp(df, (h,), (one,))[1], jax.jvp(dg, (h,), (one,))[1], df(h)

    m2, s2, d1 = map(np.asarray, second(jnp.array([0.0, 1.0, jnp.inf, 1.0 - 1e-4, 1.0 + 1e-4])))
    assert np.all(np.isfinite(s2)) and np.all(np.isfinite(m2))
    # h = 0: s = 2h - h^2/2 + ... for n = 0; s'' = 0 for n >= 1 so mu'' = -1/z1^3
    np.testing.assert_allclose(s2[0], [-1.0, 0, 0, 0, 0], atol=1e-14)
    np.testing.assert_allclose(m2[0, 1:], -1 / Z1[1:5] ** 3, rtol=1e-13)
    np.testing.assert_array_equal(s2[2], 0.0)
    np.testing.assert_array_equal(m2[2], 0.0)
    # h = 1: against central differences of the (exact) first derivative
    np.testing.assert_allclose(m2[1], (d1[4] - d1[3]) / 2e-4, rtol=1e-7)


# ---------------------------------------------------------------------------
# transformations, shapes, dtypes, errors
# ---------------------------------------------------------------------------


def test_vmap_jit_shapes():
    h = jnp.array([[0.0, 0.5, 2.0], [10.0, 1e4, jnp.inf]])
    mu = sidewall_eigenvalues(h, 7)
    assert mu.shape == (2, 3, 7) and mu.dtype == jnp.float64
    np.testing.assert_allclose(jax.jit(jax.vmap(lambda r: sidewall_eigenvalues(r, 7)))(h), mu, rtol=1e-15)
    # integers are promoted (same compiled program as the float call above)
    mi = sidewall_eigenvalues(jnp.array([[0, 1, 2], [10, 10_000, 3]]), 7)
    np.testing.assert_array_equal(mi[0, ::2], mu[0, ::2])
    np.testing.assert_array_equal(mi[1, :2], mu[1, :2])
    assert sidewall_eigenvalues(1.0, 4).shape == (4,)


def test_float32():
    h = jnp.array([0.0, 1e-12, 1.0, jnp.inf], jnp.float32)
    mu = sidewall_eigenvalues(h, 50)
    assert mu.dtype == jnp.float32
    ref = np.array([Z1[:50], [np.sqrt(2e-12)] + list(Z1[1:50]), [_brentq_root(1.0, n) for n in range(50)], Z0[:50]])
    np.testing.assert_allclose(mu, ref, rtol=1e-6)


def test_many_roots_stay_in_their_brackets():
    h = jnp.asarray(H_ALL) * 1.5
    mu = np.asarray(SOLVE(h, N))
    assert np.all(mu >= Z1 * (1 - 4.5e-16)) and np.all(mu <= Z0 * (1 + 4.5e-16))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="h"):
        sidewall_eigenvalues(-1.0, 3)
    with pytest.raises(ValueError, match="h"):
        sidewall_eigenvalues(jnp.array([1.0, jnp.nan]), 3)
    with pytest.raises(ValueError, match="n_roots"):
        sidewall_eigenvalues(1.0, 0)
    with pytest.raises(TypeError, match="n_roots"):
        sidewall_eigenvalues(1.0, 2.5)
