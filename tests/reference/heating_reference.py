"""Independent high-precision reference for the peak electron temperature of
Buret et al. 2020 (Sec. 4.2, Eqs. 1-5), with the corrections of
``docs/errata-buret2020.md`` (Eq. 5 has zeta*ell/2, mu_0 ~ sqrt(2h)).

Nothing here imports :mod:`jaxqpc`; only NumPy, SciPy and mpmath.

Dimensionless problem (lengths in R0, Theta = Te**2 - TL**2 in units of T0**2)::

    lap(Theta) - alpha**2 Theta = 0            in 0 < r < 1, 0 < z < ell
    Theta(z = ell) = 0
    dTheta/dr + h Theta = 0                     at r = 1
    -dTheta/dz = 1/(2 zeta) for r < zeta, 0 for r > zeta   at z = 0

with zeta = r_N/R0 = N lambda_F/(4 R0), ell = Lc/R0, alpha = R0/L0.  The peak
value Theta(0, 0) is

    S(zeta, ell, h, alpha) = sum_n mu_n J1(mu_n zeta) tanh(lambda_n ell)
                             / (lambda_n mu_n**2 (J1(mu_n)**2 + J0(mu_n)**2))

over the roots of mu J1(mu) = h J0(mu) (n = 0, 1, ...), lambda_n = sqrt(mu_n**2
+ alpha**2).  Then Te**2 = TL**2 + T0**2 S.

Two independent methods are implemented:

``peak_sum`` (the reference)
    the radial (Bessel) series above with ``n_terms`` (default 1e5) roots,
    followed by smooth averaging of the partial sums S_k over k in [K/2, K]
    (weight w proportional to sin(pi x)**8, x = 2k/K - 1), which cancels the
    oscillating O(mu^-3/2) tail.  Roots: ``scipy.special.jn_zeros`` for
    h = 0 (mu_0 = 0 plus the J1 zeros) and h = inf (J0 zeros); for finite h
    each root is bracketed between consecutive zeros of J1 and J0 (the
    interlacing 0 < j0_1 < j1_1 < j0_2 < ... is verified), started from an
    asymptotic (McMahon-type) expansion and polished by a safeguarded,
    vectorised Newton iteration inside the bracket.

``peak_sum_axial`` (the check)
    the same boundary-value problem solved by expanding in the *axial*
    direction: Theta = Theta_p + sum_m cos(k_m z) R_m(r), k_m = (m + 1/2) pi/ell,
    with the 1D particular solution Theta_p = q sinh(alpha (ell - z))/(alpha
    cosh(alpha ell)) for r < zeta (q = 1/(2 zeta)) and 0 outside, and radial
    parts A I0(kappa r) (inside) / B I0 + C K0 (outside), kappa_m = sqrt(k_m**2
    + alpha**2), matched at r = zeta (value and flux) and subject to the Robin
    condition at r = 1.  The result is

        S = sum_m f_m [1 + g_m],  g_m = kappa zeta ((P/Q) I1(kappa zeta) - K1(kappa zeta))

    with f_m = 2 q/(ell kappa_m**2), P = kappa K1(kappa) - h K0(kappa),
    Q = kappa I1(kappa) + h I0(kappa); for zeta = 1: g_m = -h/Q.  The 1D part
    sum_m f_m = q tanh(alpha ell)/alpha is taken in closed form, and the
    corrections f_m g_m decay like exp(-kappa_m zeta), so the series converges
    exponentially; it is summed in double precision with exponentially scaled
    Bessel functions (``peak_sum_axial``) or in arbitrary precision with mpmath
    (``peak_sum_axial_mp``, for a few points).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np
from scipy import optimize, special

__all__ = [
    "DEFAULT_TERMS",
    "robin_roots",
    "robin_roots_asymptotic",
    "robin_root_brentq",
    "averaged_partial_sum",
    "series_terms",
    "peak_sum",
    "peak_sum_axial",
    "peak_sum_axial_mp",
    "peak_sum_eq4",
    "peak_sum_eq5",
    "peak_sum_eq5_printed",
    "hot_electron_T0",
    "peak_temperature",
    "GOLD_EF_EV",
    "GOLD_LAMBDA_F_NM",
]

DEFAULT_TERMS = 100_000

# free-electron gold (docs/errata-buret2020.md: E_F = 5.53 eV, lambda_F = 0.52 nm)
GOLD_EF_EV = 5.53
GOLD_LAMBDA_F_NM = 0.52


# ---------------------------------------------------------------------------
# eigenvalues mu_n of  mu J1(mu) = h J0(mu)
# ---------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _bessel_zeros(order, count):
    z = special.jn_zeros(order, count)
    z.setflags(write=False)
    return z


def _zeros(order, count):
    """First ``count`` positive zeros of J_order (cached in blocks)."""
    block = max(count, 1)
    block = 1 << (block - 1).bit_length()  # round up to a power of two
    return _bessel_zeros(order, block)[:count]


def robin_roots_asymptotic(h, n):
    """Large-n (McMahon-type) expansion of the n-th root of mu J1 = h J0.

    With the Hankel phases theta_0 = mu - pi/4 - 1/(8 mu), theta_1 = theta_0 -
    pi/2 + 1/(2 mu) and moduli ratio M1/M0 = 1 + 1/(4 mu**2) the equation reads
    mu' sin(theta_0 + d) = h cos(theta_0) (mu' = mu M1/M0, d = 1/(2 mu)), i.e.
    theta_0 = n pi + atan((h - mu' sin d)/(mu' cos d)); this is iterated as a
    fixed point.  Reduces to McMahon's (n + 1/4) pi - 3/(8 beta) for h = 0 and
    (n + 3/4) pi + 1/(8 beta) for h = inf.  Error O(mu**-3).
    """
    n = np.asarray(n, dtype=float)
    mu = (n + 0.5) * np.pi
    for _ in range(6):
        d = 0.5 / mu
        mup = mu * (1.0 + 0.25 / mu**2)
        if np.isinf(h):
            th = n * np.pi + 0.5 * np.pi
        else:
            th = n * np.pi + np.arctan2(h - mup * np.sin(d), mup * np.cos(d))
        mu = th + 0.25 * np.pi + 0.125 / mu
    return mu


def _robin_F(mu, h):
    # F = mu J1 - h J0, F' = mu J0 + h J1 (using J0' = -J1, (mu J1)' = mu J0);
    # for large h use the equivalent J0 - mu J1/h (same zeros, same Newton step)
    if h > 1.0:
        return special.j0(mu) - mu * special.j1(mu) / h, -(special.j1(mu) + mu * special.j0(mu) / h)
    return mu * special.j1(mu) - h * special.j0(mu), mu * special.j0(mu) + h * special.j1(mu)


@lru_cache(maxsize=16)
def _robin_roots_cached(h, count):
    if h == 0.0:
        mu = np.concatenate(([0.0], _zeros(1, count - 1)))
    elif np.isinf(h):
        mu = np.array(_zeros(0, count))
    else:
        j0 = _zeros(0, count)
        j1 = _zeros(1, count)
        # interlacing 0 < j0_1 < j1_1 < j0_2 < j1_2 < ...
        if not (np.all(j0 < j1) and np.all(j1[:-1] < j0[1:])):
            raise AssertionError("zeros of J0 and J1 do not interlace")
        lo = np.concatenate(([0.0], j1[:-1]))  # root n lies in (j1_n, j0_{n+1})
        hi = np.array(j0)
        n = np.arange(count, dtype=float)
        x = robin_roots_asymptotic(h, n)
        bad = ~((x > lo) & (x < hi))
        x[bad] = 0.5 * (lo[bad] + hi[bad])
        # sign of F just above lo = j1_n: J0(j1_n) has the sign (-1)**n (J0(0) = 1), so
        # F = mu J1 - h J0 -> -(-1)**n and G = J0 - mu J1/h -> (-1)**n.  Taken analytically:
        # for tiny h the root is within rounding of j1_n and a computed F(lo) is noise.
        parity = np.where(np.arange(count) % 2 == 0, 1.0, -1.0)
        s_lo = parity if h > 1.0 else -parity
        # narrow the brackets around the asymptotic guess where it is accurate (n >= 1000:
        # error < 1e-8), keeping the full bracket where the sign change is not confirmed
        delta = np.where(n >= 1000, 1e-7, np.inf)
        lo2 = np.maximum(lo, x - delta)
        hi2 = np.minimum(hi, x + delta)
        f_lo2, _ = _robin_F(lo2, h)
        f_hi2, _ = _robin_F(hi2, h)
        ok_lo = (lo2 == lo) | (np.sign(f_lo2) == s_lo)
        ok_hi = (hi2 == hi) | (np.sign(f_hi2) == -s_lo)
        narrow = ok_lo & ok_hi
        lo = np.where(narrow, lo2, lo)
        hi = np.where(narrow, hi2, hi)
        done = np.zeros(count, dtype=bool)
        for _ in range(200):
            f, df = _robin_F(x, h)
            done |= f == 0.0
            same = np.sign(f) == s_lo
            lo = np.where(same, x, lo)
            hi = np.where(same, hi, x)
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = x - f / df
            done |= xn == x  # Newton step below rounding: converged (x is now a bracket end)
            out = ~((xn > lo) & (xn < hi)) | ~np.isfinite(xn)
            xn = np.where(out, 0.5 * (lo + hi), xn)
            xn = np.where(done, x, xn)  # converged roots are frozen
            step = np.abs(xn - x)
            x = xn
            # a Newton step of a few ulp means the root is reached to rounding (the
            # evaluation noise of J0, J1 at large argument is a few ulp of mu)
            done |= step <= 8.0 * np.spacing(x)
            if np.all(done):
                break
        else:  # pragma: no cover
            raise RuntimeError("Robin roots did not converge")
        # gross-misplacement guard: large-n roots must match the asymptotic expansion
        big = n >= 1000
        if np.any(np.abs(x[big] - robin_roots_asymptotic(h, n[big])) > 1e-6):  # pragma: no cover
            raise RuntimeError("Robin roots disagree with their asymptotic expansion")
        mu = x
    mu = np.asarray(mu, dtype=float)
    mu.setflags(write=False)
    return mu


def robin_roots(h, count):
    """The first ``count`` roots mu_0 < mu_1 < ... of mu J1(mu) = h J0(mu), h in [0, inf]."""
    h = float(h)
    if not (h >= 0.0):
        raise ValueError("h must be >= 0")
    return _robin_roots_cached(h, int(count))


def robin_root_brentq(h, n):
    """The n-th root by ``scipy.optimize.brentq`` in its bracket (slow; for checks)."""
    j0 = _zeros(0, n + 1)
    j1 = _zeros(1, n) if n > 0 else np.zeros(0)
    lo = j1[n - 1] if n > 0 else 0.0
    hi = j0[n]
    if h == 0.0:
        return lo
    if np.isinf(h):
        return hi
    f = lambda m: m * special.j1(m) - h * special.j0(m)
    return optimize.brentq(f, lo + 1e-300 if n == 0 else lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)


# ---------------------------------------------------------------------------
# the radial series
# ---------------------------------------------------------------------------
def _tanh_over(lam, ell):
    """tanh(lam ell)/lam, with the limit ell at lam = 0."""
    lam = np.asarray(lam, dtype=float)
    x = lam * ell
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 1e-8, np.tanh(x) / np.where(lam > 0, lam, 1.0), ell * (1.0 - x * x / 3.0))
    return out


@lru_cache(maxsize=16)
def _series_base(h, alpha, n_terms):
    """mu_n, lambda_n and 1/(J1(mu_n)**2 + J0(mu_n)**2) (independent of zeta and ell)."""
    mu = robin_roots(h, n_terms)
    lam = np.sqrt(mu * mu + alpha * alpha)
    inv_norm = 1.0 / (special.j1(mu) ** 2 + special.j0(mu) ** 2)
    for a in (lam, inv_norm):
        a.setflags(write=False)
    return mu, lam, inv_norm


def series_terms(zeta, ell, h, alpha=0.0, n_terms=DEFAULT_TERMS):
    """The individual terms t_n of the radial series for S (n = 0 .. n_terms-1)."""
    mu, lam, inv_norm = _series_base(float(h), float(alpha), int(n_terms))
    t = np.empty(n_terms)
    # n >= 1 (and n = 0 when mu_0 > 0): J1(mu zeta)/mu * tanh(lam ell)/lam / (J1^2 + J0^2)
    m = mu[1:]
    t[1:] = special.j1(m * zeta) / m * _tanh_over(lam[1:], ell) * inv_norm[1:]
    m0 = mu[0]
    if m0 == 0.0:  # h = 0: J1(mu zeta)/mu -> zeta/2, J0^2 + J1^2 -> 1
        t[0] = 0.5 * zeta * _tanh_over(lam[0], ell)
    else:
        # J1(x)/x for small x by its series (mu_0 ~ sqrt(2h) can be tiny)
        x = m0 * zeta
        j1_over = zeta * (special.j1(x) / x if x > 1e-4 else 0.5 - x * x / 16.0)
        t[0] = j1_over * _tanh_over(lam[0], ell) * inv_norm[0]
    return t


@lru_cache(maxsize=8)
def _window_weights(count):
    """Smooth weights sin(pi x)**8 on count points of (0, 1), normalised.

    The weight and its first 7 derivatives vanish at both ends, so its Fourier
    transform falls like (omega L)**-9: the oscillating tail of frequency
    omega = pi zeta per term is cancelled to ~1e-14 even at zeta = 1e-3 with
    K = 1e5 (plain sin**2 leaves ~2e-9 there, a C-infinity bump ~1e-11).
    Returned together with the reversed cumulative sums W_j = sum_{k >= j} w_k.
    """
    x = (np.arange(count) + 0.5) / count
    w = np.sin(np.pi * x) ** 8
    w /= w.sum()
    tail = np.cumsum(w[::-1])[::-1].copy()
    w.setflags(write=False)
    tail.setflags(write=False)
    return w, tail


def averaged_partial_sum(t, K=None):
    """Smoothly weighted average of the partial sums S_k, k in [K/2, K].

    sum_k w_k S_k with S_k = S_{K/2} + sum_{K/2 < j <= k} t_j equals
    S_{K/2} + sum_j t_j W_j, W_j = sum_{k >= j} w_k (sum w = 1).
    """
    t = np.asarray(t, dtype=float)
    K = len(t) if K is None else int(K)
    k0 = K // 2
    head = math.fsum(t[:k0].tolist())  # S_{k0}, exactly rounded
    _, tail_weights = _window_weights(K - k0)
    return float(head + np.sum(tail_weights * t[k0:K]))  # (no BLAS dot: slow under load)


def peak_sum(zeta, ell, h, alpha=0.0, n_terms=DEFAULT_TERMS):
    """Reference S(zeta, ell, h, alpha) (radial series + smooth tail averaging).

    Relative accuracy ~1e-13 over zeta in [1e-3, 1], ell in [0.1, 1], h in [0, inf]
    with the default 1e5 terms (checked against ``peak_sum_axial`` and against
    2e5 terms in ``tests/test_heating.py``).
    """
    zeta = float(zeta)
    ell = float(ell)
    alpha = float(alpha)
    if not (0.0 < zeta <= 1.0):
        raise ValueError("zeta must lie in (0, 1]")
    if not (ell > 0.0):
        raise ValueError("ell must be > 0")
    if not (alpha >= 0.0):
        raise ValueError("alpha must be >= 0")
    return averaged_partial_sum(series_terms(zeta, ell, h, alpha, n_terms))


def peak_sum_eq4(zeta, ell, n_terms=DEFAULT_TERMS):
    """Eq. 4 as printed (h = inf, alpha = 0), coded directly from its own form:
    sum over the zeros mu of J0 of J1(mu zeta) tanh(mu ell)/(mu J1(mu))**2."""
    mu = _zeros(0, n_terms)
    t = special.j1(mu * zeta) * np.tanh(mu * ell) / (mu * special.j1(mu)) ** 2
    return averaged_partial_sum(t)


def peak_sum_eq5(zeta, ell, n_terms=DEFAULT_TERMS):
    """Corrected Eq. 5 (h = 0, alpha = 0), coded directly from its own form:
    zeta ell/2 + sum over the nonzero zeros mu of J1 of J1(mu zeta) tanh(mu ell)/(mu J0(mu))**2."""
    mu = _zeros(1, n_terms - 1)
    t = special.j1(mu * zeta) * np.tanh(mu * ell) / (mu * special.j0(mu)) ** 2
    return 0.5 * zeta * ell + averaged_partial_sum(np.concatenate(([0.0], t)))


def peak_sum_eq5_printed(zeta, ell, n_terms=DEFAULT_TERMS):
    """The paper's printed Eq. 5 (first term zeta*ell instead of zeta*ell/2), alpha = 0."""
    return peak_sum_eq5(zeta, ell, n_terms) + 0.5 * zeta * ell


# ---------------------------------------------------------------------------
# second method: axial expansion (exponentially convergent)
# ---------------------------------------------------------------------------
def peak_sum_axial(zeta, ell, h, alpha=0.0, x_max=60.0, max_terms=5_000_000):
    """S by the axial-mode expansion, double precision (see module docstring)."""
    zeta, ell, h, alpha = float(zeta), float(ell), float(h), float(alpha)
    k_zeta = math.pi * zeta / ell
    m_count = int(min(max_terms, max(64, math.ceil(x_max / k_zeta) + 16)))
    m = np.arange(m_count, dtype=float)
    k = (m + 0.5) * math.pi / ell
    kap = np.sqrt(k * k + alpha * alpha)
    q = 0.5 / zeta
    f = 2.0 * q / (ell * kap * kap)
    # Q = kap I1(kap) + h I0(kap) = e^kap Qs ;  P = kap K1(kap) - h K0(kap) = e^-kap Ps
    if np.isinf(h):
        Qs = special.i0e(kap)
        Ps = -special.k0e(kap)
        h_over_Q = np.exp(-kap) / Qs  # h/Q -> 1/I0
    else:
        Qs = kap * special.i1e(kap) + h * special.i0e(kap)
        Ps = kap * special.k1e(kap) - h * special.k0e(kap)
        h_over_Q = h * np.exp(-kap) / Qs
    if zeta == 1.0:
        g = -h_over_Q
    else:
        x = kap * zeta
        # x (P/Q) I1(x) - x K1(x)
        g = x * (np.exp(x - 2.0 * kap) * Ps / Qs * special.i1e(x) - np.exp(-x) * special.k1e(x))
    # sum_m f_m = q tanh(alpha ell)/alpha exactly (the cosine series of the 1D
    # solution at z = 0); the remaining corrections f_m g_m decay exponentially
    total_1d = q * ell if alpha == 0.0 else q * math.tanh(alpha * ell) / alpha
    return total_1d + math.fsum((f * g).tolist())


def peak_sum_axial_mp(zeta, ell, h, alpha=0, dps=30, tol=None):
    """S by the axial-mode expansion in mpmath arithmetic (a few points only).

    ``zeta``, ``ell``, ``h``, ``alpha`` may be strings/mpf for exact input;
    h = mpmath.inf is allowed.  Summed until the terms' correction part drops
    below ``tol`` (default 10**-(dps-5)) and the 1D remainder added exactly.
    """
    with mpmath.workdps(dps):
        zeta, ell, alpha = mpmath.mpf(zeta), mpmath.mpf(ell), mpmath.mpf(alpha)
        h = mpmath.inf if (isinstance(h, float) and math.isinf(h)) else mpmath.mpf(h)
        tol = mpmath.mpf(10) ** (-(dps - 5)) if tol is None else mpmath.mpf(tol)
        q = 1 / (2 * zeta)
        total_1d = q * ell if alpha == 0 else q * mpmath.tanh(alpha * ell) / alpha  # = sum_m f_m
        corr = mpmath.mpf(0)
        m = 0
        while True:
            k = (m + mpmath.mpf(1) / 2) * mpmath.pi / ell
            kap = mpmath.sqrt(k * k + alpha * alpha)
            f = 2 * q / (ell * kap * kap)
            if mpmath.isinf(h):
                P, Q, hq = -mpmath.besselk(0, kap), mpmath.besseli(0, kap), 1 / mpmath.besseli(0, kap)
            else:
                P = kap * mpmath.besselk(1, kap) - h * mpmath.besselk(0, kap)
                Q = kap * mpmath.besseli(1, kap) + h * mpmath.besseli(0, kap)
                hq = h / Q
            if zeta == 1:
                g = -hq
            else:
                x = kap * zeta
                g = x * (P / Q * mpmath.besseli(1, x) - mpmath.besselk(1, x))
            term = f * g
            corr += term
            if abs(term) < tol * abs(total_1d) and m > 4:
                break
            m += 1
        return total_1d + corr


# ---------------------------------------------------------------------------
# physical units
# ---------------------------------------------------------------------------
def hot_electron_T0(bias_V, R0_nm, lambda_F_nm=GOLD_LAMBDA_F_NM):
    """k_B T0 = (6/pi^2) e V (lambda_F/R0)^(1/2), in kelvin (CODATA e/k_B)."""
    e_over_kB = 1.602176634e-19 / 1.380649e-23  # K per V
    return 6.0 / math.pi**2 * bias_V * e_over_kB * math.sqrt(lambda_F_nm / R0_nm)


def peak_temperature(n_channels, R0, Lc, h, bias, lattice_temperature=300.0, alpha=0.0,
                     lambda_F_nm=GOLD_LAMBDA_F_NM, printed_eq5=False, n_terms=DEFAULT_TERMS):
    """Te (K) at the hot-spot centre: Te**2 = TL**2 + T0**2 S(zeta, Lc/R0, h, alpha)."""
    zeta = n_channels * lambda_F_nm / (4.0 * R0)
    ell = Lc / R0
    T0 = hot_electron_T0(bias, R0, lambda_F_nm)
    if printed_eq5:
        S = peak_sum_eq5_printed(zeta, ell, n_terms)
    else:
        S = peak_sum(zeta, ell, h, alpha, n_terms)
    return math.sqrt(lattice_temperature**2 + T0**2 * S)
