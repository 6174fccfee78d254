"""Independent reference for the QPC transmission and Landauer transport.

Blaas-Anselmi, Helluin, Jalabert, Weick, Weinmann, SciPost Phys. 12, 105 (2022),
Eqs. 1-5 (transport) and 18-20 (abrupt constriction), with the symbols restored
in ``docs/errata-blaas-anselmi2022.md``.

Dimensionless units: energies in E1, wavevectors in Q1, so eps = k**2,
Q_n = n, E_n = n**2; ell = L/(2w) so the phase K_n L = pi * ell * K_n.
Currents in 2 e E1 / h, powers in 2 E1**2 / h.

Deliberately written differently from the package:

* the average wavevector Kbar_n (Eq. 18) is obtained by *numerical quadrature*
  (``scipy.integrate.quad`` with the algebraic-endpoint weight at the branch
  point q = k), never by the closed form;
* D_n (Eq. 20) and tau_n (Eq. 19) are evaluated with complex NumPy arithmetic
  straight from the printed formulas; only exactly at a threshold (K_n = 0) the
  continuous limit tau = 4 Re Kbar / |4 Kbar - 2 i pi ell Kbar**2| is used;
* every transport quantity (I, J, P_L, P_R, P_A) is its own adaptive
  ``quad`` integral with its own integrand (P_A is never formed as P_R - P_L),
  with the kinks of T (all integer squares) and mu_L, mu_R, mu passed as
  break points.

It is slow (pure Python, scalar) and meant for a few dozen points.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
from scipy import integrate, special
from scipy.interpolate import PchipInterpolator

__all__ = [
    "kbar",
    "abrupt_channel_transmissions",
    "abrupt_transmission",
    "saddle_channel_transmissions",
    "saddle_transmission",
    "tabulated_transmission",
    "transport",
    "TRANSPORT_QUANTITIES",
]

_QUAD_EPSREL = 1e-13


# --------------------------------------------------------------------------
# Abrupt constriction, Eqs. 18-20
# --------------------------------------------------------------------------
def _quad(f, a, b, **kw):
    # epsabs 1e-16: Kbar is O(1); tiny sub-intervals (k within 1e-9 of an end
    # point) cannot reach a relative 1e-13 but are exact to this absolute level.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, err = integrate.quad(f, a, b, epsabs=1e-16, epsrel=_QUAD_EPSREL, limit=200, **kw)
    return val


@lru_cache(maxsize=None)
def kbar(n: int, eps: float) -> complex:
    """Kbar_n(eps) = (1/2) * int_{n-1}^{n+1} sqrt(eps - q^2) dq  (Eq. 18, |Delta Q_n| = 2).

    Branch: sqrt(eps - q^2) = +i sqrt(q^2 - eps) for q > k = sqrt(eps).
    Real part from q in [n-1, min(n+1, k)], imaginary part from
    q in [max(n-1, k), n+1].  At the branch point the integrand behaves like
    sqrt(|k - q|); it is integrated with QUADPACK's algebraic weight
    (QAWS: weight (q-a)^alpha (b-q)^beta) so the singular factor is exact and
    the remaining factor sqrt(k + q) is smooth.
    """
    n = int(n)
    eps = float(eps)
    a, b = n - 1.0, n + 1.0
    if eps <= 0.0:
        # the whole interval is evanescent; q >= 0 > ... : sqrt(q^2 - eps) smooth
        im = _quad(lambda q: math.sqrt(q * q - eps), a, b) if eps < 0.0 else 0.5 * (b * b - a * a)
        return complex(0.0, 0.5 * im)
    k = math.sqrt(eps)
    re = 0.0
    im = 0.0
    if k > a:
        top = min(b, k)
        if top == k:
            # sqrt(k^2 - q^2) = (k - q)^(1/2) * sqrt(k + q)
            re = _quad(lambda q: math.sqrt(k + q), a, top, weight="alg", wvar=(0.0, 0.5))
        else:
            re = _quad(lambda q: math.sqrt(eps - q * q), a, top)
    if k < b:
        bot = max(a, k)
        if bot == k:
            # sqrt(q^2 - k^2) = (q - k)^(1/2) * sqrt(q + k)
            im = _quad(lambda q: math.sqrt(q + k), bot, b, weight="alg", wvar=(0.5, 0.0))
        else:
            im = _quad(lambda q: math.sqrt(q * q - eps), bot, b)
    return complex(0.5 * re, 0.5 * im)


def _k_inside(n: int, eps: float) -> complex:
    """K_n = sqrt(eps - n^2), principal branch (+i sqrt(n^2 - eps) below threshold)."""
    return complex(np.sqrt(complex(eps - n * n, 0.0)))


def _tau(n: int, eps: float, ell: float) -> float:
    """tau_n (Eq. 19 with Eq. 20); continuous limit exactly at K_n = 0."""
    kb = kbar(n, eps)
    if kb.real <= 0.0:
        return 0.0
    K = _k_inside(n, eps)
    if K == 0:
        return 4.0 * kb.real / abs(4.0 * kb - 2j * math.pi * ell * kb * kb)
    ph = math.pi * ell * K
    D = (K + kb) ** 2 * np.exp(-1j * ph) - (K - kb) ** 2 * np.exp(1j * ph)
    return 4.0 * abs(K) * kb.real / abs(D)


def abrupt_channel_transmissions(eps: float, ell: float, n_channels: int) -> np.ndarray:
    """T_n = tau_n^2 for n = 1..n_channels (zeros for eps <= 0)."""
    eps = float(eps)
    out = np.zeros(n_channels)
    if eps <= 0.0:
        return out
    for n in range(1, n_channels + 1):
        out[n - 1] = _tau(n, eps, float(ell)) ** 2
    return out


@lru_cache(maxsize=None)
def _abrupt_T_cached(eps: float, ell: float) -> float:
    if eps <= 0.0:
        return 0.0
    # channels with n - 1 >= k have Re Kbar_n = 0: exact to stop at floor(k) + 1
    nmax = int(math.floor(math.sqrt(eps))) + 1
    return float(sum(_tau(n, eps, ell) ** 2 for n in range(1, nmax + 1)))


def abrupt_transmission(eps: float, ell: float) -> float:
    """Total T(eps) = sum_n T_n for the abrupt constriction of length ell (all open channels)."""
    return _abrupt_T_cached(float(eps), float(ell))


# --------------------------------------------------------------------------
# Saddle point (Buttiker 1990) and tabulated transmission
# --------------------------------------------------------------------------
def saddle_channel_transmissions(eps, omega_x, omega_y, v0, n_channels) -> np.ndarray:
    """T_n = 1 / (1 + exp(-2 pi (eps - E_n) / omega_x)), E_n = v0 + omega_y (n - 1/2)."""
    eps = float(eps)
    n = np.arange(1, n_channels + 1)
    if eps <= 0.0:
        return np.zeros(n_channels)
    En = v0 + omega_y * (n - 0.5)
    return special.expit(2.0 * math.pi * (eps - En) / omega_x)


def saddle_transmission(eps, omega_x, omega_y, v0, n_channels) -> float:
    return float(np.sum(saddle_channel_transmissions(eps, omega_x, omega_y, v0, n_channels)))


def tabulated_transmission(energies, values, eps):
    """PCHIP interpolation of (energies, values), as scipy does it."""
    return PchipInterpolator(np.asarray(energies, float), np.asarray(values, float))(eps)


# --------------------------------------------------------------------------
# Landauer transport, Eqs. 1-5
# --------------------------------------------------------------------------
TRANSPORT_QUANTITIES = ("current", "heat_current", "power_left", "power_right", "power_asymmetry")


def _window(eps, mu_l, mu_r, kT):
    """f(eps - mu_L) - f(eps - mu_R), evaluated without cancellation in either tail."""
    if kT == 0.0:
        return 1.0 if (mu_r < eps < mu_l) else (0.5 if eps in (mu_r, mu_l) else 0.0)
    if eps >= 0.5 * (mu_l + mu_r):
        # both Fermi factors small: f(x) = expit(-x/kT)
        return special.expit(-(eps - mu_l) / kT) - special.expit(-(eps - mu_r) / kT)
    # both near 1: use 1 - f(x) = expit(x/kT)
    return special.expit((eps - mu_r) / kT) - special.expit((eps - mu_l) / kT)


def transport(
    T, mu, bias, kT, *, epsrel=1e-12, epsabs=1e-16, cutoff=40.0, extra_points=(), return_errors=False
):
    """Reference Landauer integrals for a scalar transmission function ``T(eps)``.

    Returns a dict with current, heat_current, power_left, power_right,
    power_asymmetry (each its own quad integral).  ``T`` must return 0 for
    eps <= 0.  Break points: all integer squares inside the interval, mu_L,
    mu_R, mu, plus ``extra_points``.  With ``return_errors`` also returns
    QUADPACK's error estimates (a second dict).
    """
    mu, bias, kT = float(mu), float(bias), float(kT)
    mu_l, mu_r = mu + 0.5 * bias, mu - 0.5 * bias
    lo = max(0.0, mu_r - cutoff * kT)
    hi = mu_l + cutoff * kT
    if hi <= lo:
        zero = {q: 0.0 for q in TRANSPORT_QUANTITIES}
        return (zero, dict(zero)) if return_errors else zero
    pts = {mu_l, mu_r, mu, *map(float, extra_points)}
    m = 1
    while m * m < hi:
        pts.add(float(m * m))
        m += 1
    pts = sorted(p for p in pts if lo < p < hi)

    cache = {}

    def tw(e):
        v = cache.get(e)
        if v is None:
            v = T(e) * _window(e, mu_l, mu_r, kT)
            cache[e] = v
        return v

    integrands = {
        "current": lambda e: tw(e),
        "heat_current": lambda e: e * tw(e),
        "power_left": lambda e: (mu_l - e) * tw(e),
        "power_right": lambda e: (e - mu_r) * tw(e),
        "power_asymmetry": lambda e: 2.0 * (e - mu) * tw(e),
    }
    out, errs = {}, {}
    for name, f in integrands.items():
        # epsabs 1e-16 (not 0): P_A on a flat plateau is a near-total cancellation
        # (|P_A| << bias * I) where a relative 1e-12 is out of reach in float64.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            val, err = integrate.quad(
                f, lo, hi, epsabs=epsabs, epsrel=epsrel, limit=500, points=pts or None
            )
        out[name] = val
        errs[name] = err
    if return_errors:
        return out, errs
    return out


def abrupt_transport(mu, bias, kT, ell=1.0, **kw):
    """:func:`transport` for the abrupt QPC of length ``ell``."""
    ell = float(ell)
    return transport(lambda e: abrupt_transmission(e, ell), mu, bias, kT, **kw)
