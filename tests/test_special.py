"""jaxqpc._special: Bessel J0, J1 and scaled I0, I1, K0, K1 against scipy/mpmath.

To keep compile time low, every function is evaluated (value, first and second
derivative) once on one array that concatenates all the point sets the tests
need; the tests then check slices of it.
"""

import functools

import jax


import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.special as sc

from jaxqpc.special import i0e, i1e, j0, j1, j1x, k0e, k1e

FUNCS = {"j0": j0, "j1": j1, "i0e": i0e, "i1e": i1e, "k0e": k0e, "k1e": k1e}
SCIPY = {"j0": sc.j0, "j1": sc.j1, "i0e": sc.i0e, "i1e": sc.i1e, "k0e": sc.k0e, "k1e": sc.k1e}
MPMATH = {
    "j0": lambda v: mpmath.besselj(0, v),
    "j1": lambda v: mpmath.besselj(1, v),
    "i0e": lambda v: mpmath.besseli(0, v) * mpmath.exp(-v),
    "i1e": lambda v: mpmath.besseli(1, v) * mpmath.exp(-v),
    "k0e": lambda v: mpmath.besselk(0, v) * mpmath.exp(v),
    "k1e": lambda v: mpmath.besselk(1, v) * mpmath.exp(v),
}
LOWER = {"j0": 1e-8, "j1": 1e-8, "i0e": 1e-6, "i1e": 1e-6, "k0e": 1e-3, "k1e": 1e-3}
SWITCH = {"j0": 5.0, "j1": 5.0, "i0e": 8.0, "i1e": 8.0, "k0e": 2.0, "k1e": 2.0}
NAMES = list(FUNCS)


def _ulps(p):
    return [np.nextafter(p, -np.inf), p, np.nextafter(p, np.inf)]


@functools.cache
def evaluated(name):
    """Segments of points and f, f', f'' on all of them (one compile each)."""
    lo = LOWER[name]
    rng = np.random.default_rng(1)
    seg = {}
    seg["grid"] = np.unique(
        np.concatenate(
            [np.logspace(np.log10(lo), 4, 100_000), np.linspace(lo, 1e4, 100_000), np.linspace(lo, 20.0, 50_000)]
        )
    )
    mp = np.concatenate([rng.uniform(0.0, 30.0, 30), 10 ** rng.uniform(np.log10(lo), 4, 30), rng.uniform(9e3, 1e4, 10)])
    seg["mp"] = mp[mp >= lo]
    d = np.concatenate([np.linspace(0.01, 40.0, 3001), np.logspace(-2, 4, 1001)])
    step = 1e-3 * np.minimum(d, 1.0)
    seg["fd"] = d
    for k in (-2, -1, 1, 2):
        seg[f"fd{k:+d}"] = d + k * step
    seg["deriv"] = np.concatenate([np.logspace(-3, np.log10(600.0), 10_001), np.linspace(1e-3, 30.0, 10_001)])
    if name.startswith("k"):
        seg["switch"] = np.array(_ulps(1e-90) + _ulps(1e-3) + _ulps(2.0))
    else:
        s = SWITCH[name]
        seg["switch"] = np.array(_ulps(0.0) + _ulps(s) + _ulps(-s) + [1e-300, 1e-8])
        seg["neg"] = -np.linspace(0.0, 50.0, 2001)
        seg["pos"] = np.linspace(0.0, 50.0, 2001)
    keys = list(seg)
    x = np.concatenate([seg[k] for k in keys])
    f = FUNCS[name]
    f1 = jax.grad(f)
    f2 = jax.grad(f1)
    out = [np.asarray(o) for o in jax.jit(lambda x: (f(x), jax.vmap(f1)(x), jax.vmap(f2)(x)))(x)]
    res, i = {}, 0
    for k in keys:
        n = len(seg[k])
        res[k] = (seg[k], *(o[i : i + n] for o in out))
        i += n
    return res


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_values_against_scipy(name):
    """J: absolute error over [1e-8, 1e4]; I: relative over [1e-6, 1e4]; K: over [1e-3, 1e4]."""
    x, v, _, _ = evaluated(name)["grid"]
    r = SCIPY[name](x)
    if name.startswith("j"):
        # scipy itself is off by up to ~5e-15 near x = 1e4 (it rounds the phase x - pi/4)
        assert np.abs(v - r).max() <= 1e-14
    else:
        assert np.abs(v / r - 1).max() <= 5e-15


@pytest.mark.parametrize("name", NAMES)
def test_values_against_mpmath(name):
    """True error (30 digits): absolute for J, relative for the scaled functions."""
    x, v, _, _ = evaluated(name)["mp"]
    with mpmath.workdps(30):
        ref = np.array([float(MPMATH[name](mpmath.mpf(float(t)))) for t in x])
    if name.startswith("j"):
        assert np.abs(v - ref).max() <= 1e-15
    else:
        assert np.abs(v / ref - 1).max() <= 3e-15


@pytest.mark.parametrize("name", ["j0", "j1", "i0e", "i1e"])
def test_symmetry(name):
    ev = evaluated(name)
    _, vn, dn, _ = ev["neg"]
    _, vp, dp, _ = ev["pos"]
    parity = 1.0 if name in ("j0", "i0e") else -1.0
    np.testing.assert_array_equal(vn, parity * vp)
    np.testing.assert_array_equal(dn[1:], -parity * dp[1:])  # derivative has the other parity


def test_special_values():
    f = jax.jit(lambda x: jnp.stack([g(x) for g in FUNCS.values()]))
    out = np.asarray(f(jnp.array([0.0, jnp.inf, -jnp.inf, jnp.nan, -1.0])))
    j0v, j1v, i0v, i1v, k0v, k1v = out
    np.testing.assert_array_equal(j0v[:3], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(j1v[:3], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(i0v[:2], [1.0, 0.0])
    np.testing.assert_array_equal(i1v[:2], [0.0, 0.0])
    for k in (k0v, k1v):
        assert k[0] == np.inf and k[1] == 0.0 and np.isnan(k[4])
    assert np.all(np.isnan(out[:, 3]))  # NaN propagates
    np.testing.assert_allclose(k0e(1e-300), sc.k0e(1e-300), rtol=1e-15)


# ---------------------------------------------------------------------------
# derivatives
# ---------------------------------------------------------------------------


def test_j_derivatives_against_scipy():
    for n, name in enumerate(("j0", "j1")):
        x, _, d1, d2 = evaluated(name)["grid"]
        m = x <= 3e3
        np.testing.assert_allclose(d1[m], sc.jvp(n, x[m], 1), rtol=0, atol=2e-15)
        np.testing.assert_allclose(d2[m], sc.jvp(n, x[m], 2), rtol=0, atol=2e-15)
        x, _, d1, d2 = evaluated(name)["deriv"]
        np.testing.assert_allclose(d1, sc.jvp(n, x, 1), rtol=0, atol=2e-15)
        np.testing.assert_allclose(d2, sc.jvp(n, x, 2), rtol=0, atol=2e-15)


@pytest.mark.parametrize("name", ["i0e", "i1e", "k0e", "k1e"])
def test_scaled_derivatives_against_scipy(name):
    x, v, d1, d2 = evaluated(name)["deriv"]
    n = int(name[1])
    if name.startswith("i"):
        ref1 = sc.ivp(n, x) * np.exp(-x) - SCIPY[name](x)
        ref2 = (sc.ivp(n, x, 2) - 2 * sc.ivp(n, x)) * np.exp(-x) + SCIPY[name](x)
    else:
        ref1 = sc.kvp(n, x) * np.exp(x) + SCIPY[name](x)
        ref2 = (sc.kvp(n, x, 2) + 2 * sc.kvp(n, x)) * np.exp(x) + SCIPY[name](x)
    # the identities (i0e' = i1e - i0e, ...) cancel for large x: compare on the scale of f
    assert np.all(np.abs(d1 - ref1) <= 1e-14 * (np.abs(ref1) + np.abs(v)))
    assert np.all(np.abs(d2 - ref2) <= 1e-13 * (np.abs(ref2) + np.abs(v)))


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_against_finite_differences(name):
    ev = evaluated(name)
    x, v, d1, _ = ev["fd"]
    fm2, fm1, fp1, fp2 = (ev[k][1] for k in ("fd-2", "fd-1", "fd+1", "fd+2"))
    step = 1e-3 * np.minimum(x, 1.0)
    fd = (-fp2 + 8 * fp1 - 8 * fm1 + fm2) / (12 * step)
    scale = np.maximum(np.abs(v) / np.maximum(x, 1.0), np.abs(d1))
    assert np.all(np.abs(d1 - fd) <= 1e-8 * scale + 1e-12)


def test_derivative_values_at_zero():
    # segment "switch" = [-ulp, 0, +ulp, ...]; index 1 is x = 0, index 9 is 1e-300
    d = {name: evaluated(name)["switch"] for name in ("j0", "j1", "i0e", "i1e")}
    assert d["j0"][2][1] == 0.0 and d["j0"][3][1] == pytest.approx(-0.5, abs=1e-15)
    assert d["j1"][2][1] == pytest.approx(0.5, abs=1e-15) and d["j1"][3][1] == pytest.approx(0.0, abs=1e-15)
    assert d["i0e"][2][1] == 0.0  # sign(0) = 0: mean of the one-sided slopes -1, +1
    assert d["i1e"][2][1] == pytest.approx(0.5, abs=1e-15)
    assert d["i0e"][2][9] == pytest.approx(-1.0, abs=1e-15)  # right-hand limit
    assert d["i1e"][2][9] == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_finite_at_zero_and_branch_switches(name):
    """Switch points: 5 (J), 8 (I), 2 (K), each exactly and one ulp to either side."""
    x, v, d1, d2 = evaluated(name)["switch"]
    assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
    i = 7 if name.startswith("k") else 4  # the switch point +-1 ulp: i-1, i, i+1
    assert abs(v[i - 1] - v[i + 1]) <= 3e-15 * max(1.0, abs(v[i]))
    assert abs(d1[i - 1] - d1[i + 1]) <= 1e-14 * max(1.0, abs(d1[i]))
    assert abs(d2[i - 1] - d2[i + 1]) <= 1e-13 * max(1.0, abs(d2[i]))


# ---------------------------------------------------------------------------
# transformations, shapes, dtypes
# ---------------------------------------------------------------------------


def test_jit_vmap_jvp_shapes_dtypes():
    x = jnp.linspace(0.1, 30.0, 24).reshape(2, 3, 4)

    @jax.jit
    def all_six(x):
        return jnp.stack([f(x) for f in FUNCS.values()])

    y = all_six(x)
    assert y.shape == (6, 2, 3, 4) and y.dtype == jnp.float64
    for i, name in enumerate(NAMES):
        np.testing.assert_allclose(y[i], SCIPY[name](np.asarray(x)), rtol=5e-15, atol=1e-15)
    np.testing.assert_allclose(jax.vmap(j1, in_axes=1, out_axes=1)(x), y[1], rtol=1e-15)
    # forward mode on an array of any shape (reverse mode is covered above)
    xn = np.asarray(x)
    _, (t1, tk) = jax.jit(lambda x: jax.jvp(lambda v: (j1(v), k1e(v)), (x,), (jnp.ones_like(x),)))(x)
    np.testing.assert_allclose(t1, sc.jvp(1, xn), rtol=0, atol=2e-15)
    np.testing.assert_allclose(tk, sc.k1e(xn) - sc.k0e(xn) - sc.k1e(xn) / xn, rtol=1e-13)
    # dtype follows the input
    y32 = jax.jit(lambda x: jnp.stack([j0(x), i1e(x), k0e(x)]))(x.astype(jnp.float32))
    assert y32.dtype == jnp.float32
    np.testing.assert_allclose(y32, y[jnp.array([0, 3, 4])], rtol=2e-5, atol=2e-6)
    assert j0(3).dtype == jnp.float64  # integers are promoted to the default float


def test_j1x():
    """J1(x)/x: 1/2 at 0, derivative -J2(x)/x (0 at 0)."""
    x = np.concatenate([np.linspace(-30.0, 30.0, 6001), np.logspace(-8, 4, 2001), [0.0, 5.0, np.nextafter(5.0, 6)]])
    v, d1 = map(np.asarray, jax.jit(lambda x: (j1x(x), jax.vmap(jax.grad(j1x))(x)))(x))
    safe = np.where(x == 0, 1.0, x)
    np.testing.assert_allclose(v, np.where(x == 0, 0.5, sc.j1(x) / safe), rtol=0, atol=3e-16)
    np.testing.assert_allclose(d1, np.where(x == 0, 0.0, -sc.jv(2, x) / safe), rtol=0, atol=3e-16)
