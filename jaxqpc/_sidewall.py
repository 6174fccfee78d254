"""Radial eigenvalues of the side-wall heat-exchange problem (Buret et al. 2020).

The temperature series of Buret et al. (Eqs. 2-3) runs over the non-negative
roots mu_0 < mu_1 < ... of the Robin condition

    mu J1(mu) = h J0(mu),        h in [0, inf].

Root n lies in [z1_n, z0_{n+1}], where z1_0 = 0, z1_n (n >= 1) are the positive
zeros of J1 and z0_n those of J0 (they interlace: 0 < z0_1 < z1_1 < z0_2 < ...);
on that interval mu J1/J0 increases from 0 to +inf, so the root is unique and
moves from z1_n (h = 0) to z0_{n+1} (h = inf). For small h, mu_0 ~ sqrt(2h);
for large h, mu_n ~ z0_{n+1} (1 - 1/h).

Method: with a = 1/(1+h), b = h/(1+h) (so h = inf is a = 0, b = 1) and s = mu^2,
solve F(s) = a s J1(mu)/mu - b J0(mu) = 0. In s the n = 0 root is simple even
at h = 0 (F ~ a s/2 - b), so tiny h keeps full relative precision. Safeguarded
Newton (bisection whenever a step leaves the current bracket) from an
asymptotic initial guess, a fixed number of iterations inside ``lax.fori_loop``.
The Bessel zeros bounding the brackets are tabulated once per ``n_roots`` in
NumPy float64 (McMahon's expansion polished by Newton with the same Cephes
approximations as ``jaxqpc._special``).

Derivatives in h use the implicit function theorem (``jax.custom_jvp``), never
the iterations: dmu/dh = J0/(mu J0 + h J1) = mu/(mu^2 + h^2) at a root, so
d(mu^2)/dh = 2 mu^2/(mu^2 + h^2): finite everywhere, = 2 at h = 0 for every n,
-> 0 like 2 z0^2/h^2 as h -> inf and exactly 0 at h = inf. dmu_n/dh is
therefore finite except for n = 0 at h = 0 exactly, where mu_0 = sqrt(2h) + ...
has an infinite one-sided slope; there the finite stand-in 1/sqrt(2 tiny)
(~4.7e153 in float64, the slope at the smallest normal h) is returned, so that a
zero cotangent on mu_0 gives 0 and not NaN. Use ``sidewall_eigenvalues_squared``
(smooth at h = 0, second derivatives included) when differentiating mu_0 through
h = 0. Higher derivatives work (the rules are built from differentiable parts).
"""

import functools
import operator

import jax
import jax.numpy as jnp
import numpy as np

from jaxqpc._special import _j0_j1x_of_z, _j0_np, _j1_np
from jaxqpc._validate import check_nonnegative, nan_outside, substitute

__all__ = ["sidewall_eigenvalues", "sidewall_eigenvalues_squared"]

# Safeguarded Newton iterations. From the initial guesses below, every root of
# a dense test grid (2000 values of h from 0 to inf, n < 3000) is converged to
# 1 ulp after 4 iterations; the other 4 are margin.
_N_ITER = 8


# ---------------------------------------------------------------------------
# Bessel zeros (NumPy, trace time)
# ---------------------------------------------------------------------------


def _mcmahon(nu, s):
    """McMahon's asymptotic expansion of the s-th positive zero of J_nu."""
    m = 4.0 * nu * nu
    b = (s + 0.5 * nu - 0.25) * np.pi
    e = 8.0 * b
    return (
        b
        - (m - 1) / e
        - 4 * (m - 1) * (7 * m - 31) / (3 * e**3)
        - 32 * (m - 1) * (83 * m**2 - 982 * m + 3779) / (15 * e**5)
        - 64 * (m - 1) * (6949 * m**3 - 153855 * m**2 + 1585743 * m - 6277237) / (105 * e**7)
    )


@functools.lru_cache(maxsize=16)
def _bessel_zero_tables(n_roots):
    """Brackets of the first ``n_roots`` roots, as read-only float64 arrays.

    Returns ``(z1, z0)``: ``z1[n]`` is the n-th zero of J1 counting
    z1[0] = 0, ``z0[n]`` the (n+1)-th positive zero of J0; root n of the Robin
    problem lies in ``[z1[n], z0[n]]``. Accurate to about 1 ulp.
    """
    s = np.arange(1, n_roots + 1, dtype=np.float64)
    z0 = _mcmahon(0.0, s)
    for _ in range(5):
        z0 = z0 + _j0_np(z0) / _j1_np(z0)  # J0' = -J1
    z1 = _mcmahon(1.0, s[:-1])
    for _ in range(5):
        z1 = z1 - _j1_np(z1) / (_j0_np(z1) - _j1_np(z1) / z1)  # J1' = J0 - J1/x
    z1 = np.concatenate([[0.0], z1])
    z1.flags.writeable = False
    z0.flags.writeable = False
    return z1, z0


# ---------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------


def _weights(h):
    """a = 1/(1+h), b = h/(1+h), with h = inf -> (0, 1); differentiable."""
    fin = h < jnp.inf
    hs = jnp.where(fin, h, 0.0)
    a = jnp.where(fin, 1.0 / (1.0 + hs), 0.0)
    b = jnp.where(fin, hs / (1.0 + hs), 1.0)
    return a, b


def _bessel_of_s(s):
    """(J0(mu), J1(mu)/mu) with mu = sqrt(s), smooth in s >= 0 (also at s = 0)."""
    return _j0_j1x_of_z(s)


def _solve_squared(h, n_roots, n_iter=None):
    """mu_n^2, shape h.shape + (n_roots,), for a float array h >= 0 (inf allowed)."""
    dt = h.dtype
    z1, z0 = _bessel_zero_tables(n_roots)
    lo = jnp.asarray(z1 * z1, dt)
    hi = jnp.asarray(z0 * z0, dt)
    sgn = jnp.asarray(1.0 - 2.0 * (np.arange(n_roots) % 2), dt)  # (-1)^n
    a, b = _weights(h[..., None])

    # Initial guess. n = 0: s = 2h z0_1^2/(z0_1^2 + 2h) (exact to O(h^2) at
    # small h, exact at h = inf). n >= 1: the phase of the large-mu asymptotics,
    # mu - z1_n ~ (z0_{n+1} - z1_n) (2/pi) atan(h/mu).
    m1, m0 = jnp.asarray(z1, dt), jnp.asarray(z0, dt)
    mid = 0.5 * (m1 + m0)
    theta = jnp.arctan2(b, a * mid) * (2.0 / np.pi)
    mu_g = m1 + theta * (m0 - m1)
    s0 = 2.0 * b * hi[0] / (a * hi[0] + 2.0 * b)
    s = jnp.where(jnp.arange(n_roots) == 0, s0, mu_g * mu_g)
    lo = jnp.broadcast_to(lo, s.shape)
    hi = jnp.broadcast_to(hi, s.shape)

    def body(_, carry):
        s, lo, hi = carry
        c0, c1 = _bessel_of_s(s)
        g = sgn * (a * s * c1 - b * c0)  # increasing in s on [lo, hi]
        dg = sgn * (a * c0 + b * c1) * 0.5
        lo = jnp.where(g < 0, s, lo)
        hi = jnp.where(g > 0, s, hi)
        ok = dg > 0
        s_new = s - jnp.where(ok, g, 0.0) / jnp.where(ok, dg, 1.0)
        bad = ~ok | ~(s_new >= lo) | ~(s_new <= hi)
        return jnp.where(bad, 0.5 * (lo + hi), s_new), lo, hi

    s, _, _ = jax.lax.fori_loop(0, _N_ITER if n_iter is None else n_iter, body, (s, lo, hi))
    return s


# jitted so that eager calls reuse the compiled loop (one compile per shape, dtype, n_roots)
_solve_squared_jit = jax.jit(_solve_squared, static_argnums=(1, 2))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _eig_sq(h, n_roots):
    return _solve_squared_jit(jax.lax.stop_gradient(h), n_roots)


def _ds_dh(h, s):
    """d(mu^2)/dh at the root s = mu^2 (implicit function theorem).

    From F = mu J1(mu) - h J0(mu): dmu/dh = -F_h/F_mu = J0/(mu J0 + h J1); with
    J0 = mu J1/h at the root this is mu/(mu^2 + h^2), so d(mu^2)/dh =
    2 s/(s + h^2): no Bessel function, accurate to a few ulp even where J0(mu)
    is tiny (large h). At h = 0 that is 0/0 for n = 0; there the equivalent form
    2 a J0/(a J0 + b J1/mu) (a = 1/(1+h), b = h/(1+h); = 2 for every n) is used,
    which is also what makes second derivatives at h = 0 right. 0 at h = inf.
    """
    hh = h[..., None]
    pos = (hh > 0) & (hh < jnp.inf)
    hs = jnp.where(pos, hh, 1.0)
    ss = jnp.where(pos, s, 1.0)
    at_root = 2.0 * ss / (ss + hs * hs)
    a, b = _weights(hh)
    c0, c1 = _bessel_of_s(s)
    at_zero = 2.0 * a * c0 / (a * c0 + b * c1)  # denominator has the sign (-1)^n, never 0
    return jnp.where(pos, at_root, jnp.where(hh == 0, at_zero, 0.0))


@_eig_sq.defjvp
def _eig_sq_jvp(n_roots, primals, tangents):
    (h,), (hd,) = primals, tangents
    s = _eig_sq(h, n_roots)  # the custom_jvp function again: higher derivatives work
    return s, _ds_dh(h, s) * hd[..., None]


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _eig(h, n_roots):
    return jnp.sqrt(_eig_sq(h, n_roots))


@_eig.defjvp
def _eig_jvp(n_roots, primals, tangents):
    (h,), (hd,) = primals, tangents
    mu = _eig(h, n_roots)
    # (s = mu^2 rather than a second solve: its derivative 2 mu dmu/dh only
    # differs from d(mu^2)/dh for n = 0 at h = 0, where mu's own second
    # derivative is meaningless anyway.)
    s = mu * mu
    # dmu/dh = (ds/dh)/(2 mu). mu_0 = 0 only at h = 0, where the slope is
    # infinite; use its value at the smallest normal h instead (mu_0 =
    # sqrt(2 tiny)), a finite stand-in that keeps zero cotangents zero (an inf
    # would turn them into NaN and poison the other roots' gradients).
    tiny2 = 2.0 * jnp.finfo(s.dtype).tiny
    mu_safe = jnp.sqrt(jnp.where(s > tiny2, s, tiny2))
    return mu, _ds_dh(h, s) / (2.0 * mu_safe) * hd[..., None]


# compiled entry points (eager calls, and eager grad of them, run as one program)
_eig_sq_jit = jax.jit(_eig_sq, static_argnums=1)
_eig_jit = jax.jit(_eig, static_argnums=1)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _prepare(h, n_roots):
    try:
        n_roots = operator.index(n_roots)
    except TypeError as err:
        raise TypeError(f"`n_roots` must be a Python int (static), got {n_roots!r}") from err
    if n_roots < 1:
        raise ValueError(f"`n_roots` must be >= 1, got {n_roots}")
    h = jnp.asarray(h)
    if not jnp.issubdtype(h.dtype, jnp.floating):
        h = h.astype(jnp.result_type(float))
    ok = check_nonnegative("h", h, allow_inf=True)  # NaN fails too
    (h,) = substitute(ok, (h, 1.0))
    return h, n_roots, ok


def _nan_rows(ok, roots):
    """NaN in every root of an ``h`` outside [0, ∞] (under jit; see ``_validate``)."""
    return nan_outside(ok if ok is True else ok[..., None], roots)


def sidewall_eigenvalues_squared(h, n_roots):
    """mu_n^2 for the first ``n_roots`` roots of mu J1(mu) = h J0(mu), h in [0, inf].

    ``h``: scalar or array (``jnp.inf`` allowed); ``n_roots``: static Python int.
    Returns shape ``h.shape + (n_roots,)``. Smooth in h on all of [0, inf]:
    d(mu_n^2)/dh = 2 mu^2/(mu^2 + h^2), = 2 at h = 0 for every n and 0 at
    h = inf (implicit-function derivative, ``jax.custom_jvp``).
    Accuracy: see ``sidewall_eigenvalues``. h < 0 or NaN: ValueError eagerly,
    NaN under jit (the whole row of roots).
    """
    h, n_roots, ok = _prepare(h, n_roots)
    return _nan_rows(ok, _eig_sq_jit(h, n_roots))


def sidewall_eigenvalues(h, n_roots):
    """First ``n_roots`` non-negative roots mu_0 < mu_1 < ... of mu J1(mu) = h J0(mu).

    The Robin side-wall condition of Buret et al. 2020 (Eqs. 2-3), for every
    h in [0, inf]: h = 0 gives 0 and the positive zeros of J1; h = ``jnp.inf``
    the zeros of J0. ``h``: scalar or array; ``n_roots``: static Python int.
    Returns shape ``h.shape + (n_roots,)``, dtype of h (float64 needs x64).

    Accuracy (float64): relative error <= 4.1e-16 against ``scipy.optimize.brentq``
    on the same equation for h in {1e-12, 1e-6, 1e-3, 0.1, 1, 10, 1e3, 1e6, 1e12}
    and n < 3000 (<= 2.3e-16 to 20000); exact Bessel zeros at h = 0 and inf;
    mu_0 = sqrt(2h)(1 - h/8) to 1 ulp down to h = 1e-300. Cost: one compile per
    (shape, dtype, n_roots), then ~2 ms for 2000 roots (13 ms for 20000) on one
    CPU core.

    Derivative (implicit function theorem): dmu_n/dh = J0/(mu J0 + h J1) =
    mu/(mu^2 + h^2); 1/mu_n at h = 0 for n >= 1; -> 0 like z0/h^2 as h -> inf
    and exactly 0 at h = inf. For n = 0 it diverges like 1/sqrt(2h); at h = 0
    exactly the finite stand-in 1/sqrt(2 tiny) (~4.7e153) is returned for the
    infinite one-sided slope. To differentiate mu_0 through h = 0 use
    ``sidewall_eigenvalues_squared`` (d(mu_0^2)/dh = 2 there).

    Outside the domain (h < 0 or NaN): ValueError eagerly, NaN under jit (the
    whole row of roots).
    """
    h, n_roots, ok = _prepare(h, n_roots)
    return _nan_rows(ok, _eig_jit(h, n_roots))
