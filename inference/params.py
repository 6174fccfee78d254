"""Fit parameters of the atomic-contact photon-count model and their unconstrained coordinates.

Physical parameters (a dict, the PyTree every fitter passes around; the names
are the keyword arguments of :func:`jaxqpc.photon_counts` with units added):

    eta     overall detection efficiency η ∈ (0, 1]
    Lc   length of the hot cylinder Lc (nm), 0 < Lc ≤ 1.5 R0 (jaxqpc's MAX_LENGTH_RATIO)
    R0   its radius R0 (nm), R0 ≥ R0_min = N_max λF/4 (the heated disk of the
            largest conductance N_max in the data must fit: ζ = N λF/(4 R0) ≤ 1)
    h       side-wall exchange parameter, 10⁻³ ≤ h ≤ 10³ (see below)

Unconstrained coordinates ``u`` (an array ``(..., 4)``, order :data:`PARAM_NAMES`)
map onto that domain one to one, so no optimiser or sampler can leave it:

    η  = sigmoid(u₀)
    Lc = 1.5 R0 · sigmoid(u₁)
    R0 = R0_min (1 + exp(u₂))
    h  = 10^(−3 + 6 sigmoid(u₃))

The Jacobian is triangular (Lc depends on u₁ and, through R0, on u₂), so
log|det ∂(η, Lc, R0, h)/∂u| is the sum of the four diagonal log-derivatives
(:func:`log_abs_det_jacobian`).

Why h is bounded to [10⁻³, 10³] instead of using log h on the whole real
line: the prior is log₁₀ h ~ Uniform(−3, 3) (``inference.likelihood``), and an
unbounded log h would let fitters walk onto the prior's zero-density region or
drift along the flat direction for ever. The limits h → 0 (corrected Eq. 5)
and h → ∞ (Eq. 4) are therefore approached, not reached: the heating sum
deviates from them ∝ h and ∝ 1/h (docs/emission.md), ≲ 10⁻³ relative at the
bounds, far below what counting data resolve. In these coordinates the uniform
prior on log₁₀ h becomes the logistic density of u₃, which is smooth and proper.

R0_min depends on the data (through N_max, from the circuit: the power of
each row and ``source_voltage``/``series_resistance``), so the bijection takes
the :class:`~inference.dataset.Dataset`. Everything here is pure JAX: jit,
vmap and grad work, also over batches of ``u`` (leading axes) for one dataset.

Fixed h (the model-comparison limits h → 0 and h → ∞, or any known value):
pass ``h=`` to the functions below; ``u`` then has three entries (u₀, u₁, u₂),
h is that constant (0 and ``inf`` are exact: corrected Eq. 5 and Eq. 4), and
the log-Jacobian has no h term.
"""

import functools

import jax
import jax.numpy as jnp

import jaxqpc
from jaxqpc._heating import MAX_LENGTH_RATIO

__all__ = [
    "PARAM_NAMES",
    "MAX_LENGTH_RATIO",
    "LOG10_H_RANGE",
    "max_conductance",
    "min_radius_nm",
    "to_physical",
    "to_unconstrained",
    "log_abs_det_jacobian",
    "to_physical_and_log_det",
    "as_array",
    "from_array",
    "n_free",
]

PARAM_NAMES = ("eta", "Lc", "R0", "h")
"""Names of the fit parameters; also the order of the unconstrained vector ``u``."""

LOG10_H_RANGE = (-3.0, 3.0)
"""Support of log₁₀ h (the prior is uniform on it; the bijection maps onto it)."""

_LN10 = 2.302585092994046


def max_conductance(dataset):
    """Largest conductance N_max = G/G0 in the data (from each row's power and the circuit)."""
    n = jaxqpc.conductance_from_power(dataset.power, dataset.source_voltage,
                                      dataset.series_resistance)
    return jnp.max(n, axis=-1)


def min_radius_nm(dataset, material=jaxqpc.GOLD):
    """R0_min = N_max λF/4 (nm): the smallest R0 whose heated disks all fit (ζ ≤ 1)."""
    return max_conductance(dataset) * material.fermi_wavelength_nm / 4.0


def as_array(params):
    """Stack a parameter dict into an array ``(..., 4)`` in the order :data:`PARAM_NAMES`."""
    return jnp.stack([jnp.asarray(params[k], dtype=float) for k in PARAM_NAMES], axis=-1)


def from_array(x):
    """Inverse of :func:`as_array`: ``(..., 4)`` → dict of arrays ``(...)``."""
    x = jnp.asarray(x)
    return {k: x[..., i] for i, k in enumerate(PARAM_NAMES)}


def n_free(h=None):
    """Number of unconstrained coordinates: 4 with h free (``h=None``), 3 with h fixed."""
    return len(PARAM_NAMES) - (h is not None)


def _check_u(u, h):
    if u.shape[-1] != n_free(h):
        raise ValueError(f"`u` must have {n_free(h)} entries in its last axis "
                         f"({'h fixed' if h is not None else 'h free'}), got shape {u.shape}")


def _r0(u2, r0_min):
    return r0_min * (1.0 + jnp.exp(u2))


def to_physical(u, dataset, h=None):
    """Unconstrained ``u`` (..., 4) → physical parameter dict (arrays of shape ``u.shape[:-1]``).

    With ``h`` given (fixed, 0 ≤ h ≤ ∞), ``u`` is (..., 3) and the dict's ``h`` is that value.
    """
    u = jnp.asarray(u, dtype=float)
    _check_u(u, h)
    lo, hi = LOG10_H_RANGE
    r0 = _r0(u[..., 2], min_radius_nm(dataset))
    if h is None:
        h_value = 10.0 ** (lo + (hi - lo) * jax.nn.sigmoid(u[..., 3]))
    else:
        h_value = jnp.full(u.shape[:-1], h, dtype=float)
    return {
        "eta": jax.nn.sigmoid(u[..., 0]),
        "Lc": MAX_LENGTH_RATIO * r0 * jax.nn.sigmoid(u[..., 1]),
        "R0": r0,
        "h": h_value,
    }


def to_unconstrained(params, dataset, h=None):
    """Physical parameter dict → unconstrained ``u`` (..., 4); inverse of :func:`to_physical`.

    With ``h`` given (fixed), ``params["h"]`` is ignored and ``u`` is (..., 3).

    Values on the closed ends of the domain (η = 1, Lc = 1.5 R0, R0 = R0_min,
    h = 10^±3) map to ±∞; outside the domain the result is NaN.
    """
    return _to_unconstrained(params["eta"], params["Lc"], params["R0"], params["h"], min_radius_nm(dataset),
                             h_free=h is None)


@functools.partial(jax.jit, static_argnames="h_free")
def _to_unconstrained(eta, lc, r0, h, r0_min, h_free):
    """:func:`to_unconstrained` of arrays (one compiled program, also for eager calls)."""
    eta, lc, r0, h = (jnp.asarray(x, dtype=float) for x in (eta, lc, r0, h))
    lo, hi = LOG10_H_RANGE
    u = [jax.scipy.special.logit(eta), jax.scipy.special.logit(lc / (MAX_LENGTH_RATIO * r0)),
         jnp.log(r0 / r0_min - 1.0)]
    if h_free:
        u.append(jax.scipy.special.logit((jnp.log10(h) - lo) / (hi - lo)))
    return jnp.stack(jnp.broadcast_arrays(*u), axis=-1)


def log_abs_det_jacobian(u, dataset, h=None):
    """log|det ∂(η, Lc, R0[, h])/∂u| (shape ``u.shape[:-1]``); numerically stable for any real ``u``."""
    return to_physical_and_log_det(u, dataset, h)[1]


def to_physical_and_log_det(u, dataset, h=None):
    """(:func:`to_physical`, :func:`log_abs_det_jacobian`) in one pass."""
    u = jnp.asarray(u, dtype=float)
    params = to_physical(u, dataset, h)
    lo, hi = LOG10_H_RANGE
    log_sig = jax.nn.log_sigmoid

    def logistic(x):  # log σ(x)(1 − σ(x))
        return log_sig(x) + log_sig(-x)

    r0_min = min_radius_nm(dataset)
    log_det = (
        logistic(u[..., 0])                                                      # dη/du₀
        + jnp.log(MAX_LENGTH_RATIO * params["R0"]) + logistic(u[..., 1])      # ∂Lc/∂u₁
        + jnp.log(r0_min) + u[..., 2]                                            # dR0/du₂
    )
    if h is None:
        log_det = log_det + jnp.log(_LN10 * (hi - lo)) + jnp.log(params["h"]) + logistic(u[..., 3])
    return params, log_det
