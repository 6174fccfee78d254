"""Pure-JAX likelihoods and priors of photon-count data, shared by every fitter.

Model. Row i of a :class:`~inference.dataset.Dataset` (power P_i, counting time
t_i, detector d_i) has the expected count

    μ_i = t_i ((η/n_det) S Y(T_e(P_i, f_i; R0, Lc, h)) + dark_rate[d_i]),   S = π R0² + 2π R0 Lc

(:func:`jaxqpc.photon_counts`; the conductance N_i = G/G0 follows from P_i and
the circuit, Buret et al. 2020 Eqs. 2–5 and 14–20; f_i is the share of the
power heating the drain, which scales Θ = T_e² − T_L²: 1 in the paper, else
``Dataset.heat_fraction``, see
:meth:`~inference.dataset.Dataset.with_heat_input`). μ is linear in η. The
dark rates are known (dataset metadata), not fitted.

Efficiency convention (shared with ``inference.simulate`` and ``inference.data``):
η is the overall detection efficiency of all detectors together (the paper's
0.43 is for the sum of its two APDs), shared equally, so each of the
n_det = ``len(dataset.dark_rate)`` detectors counts with efficiency η/n_det.

Observation models (``model=``):

* ``"poisson"``: k_i ~ Poisson(μ_i); log p = k log μ − μ − log k!, with the
  exact constant log k! = gammaln(k + 1).
* ``"negbinomial"``: k_i ~ NegBinomial(mean μ_i, concentration φ), variance
  μ + μ²/φ (φ → ∞ is Poisson); log p = lgamma(k + φ) − lgamma(φ) − lgamma(k + 1)
  + φ log(φ/(φ + μ)) + k log(μ/(φ + μ)) — scipy's ``nbinom(n=φ, p=φ/(φ+μ))``.

Priors (:func:`log_prior`, densities in the physical parameters, independent,
restricted to the physical domain that :mod:`inference.params` maps onto):

* η ~ Uniform(0, 1]   (Beta(1, 1): any efficiency is a priori equally likely);
* R0 ~ LogNormal(median 1 nm, σ_log = ln 2): a few Fermi wavelengths, the size
  of a few-atom contact, known to a factor of 2;
* Lc ~ LogNormal(median 0.3 nm, σ_log = ln 3): about one interatomic spacing,
  known only to a factor of 3;
* log₁₀ h ~ Uniform(−3, 3): the side-wall exchange is unknown over six decades
  (beyond them the heating sum is at its h = 0 or h = ∞ limit to ≲ 10⁻³).

The domain restrictions R0 ≥ R0_min = N_max λF/4 (data dependent) and
Lc ≤ 1.5 R0 truncate the joint prior; its normalising constant then depends on
the data but not on the parameters, so it is left out (irrelevant to MAP,
Laplace and MCMC; :func:`inference.model.log_normalizer` computes it). The
same priors and likelihood written as a NumPyro model, for NumPyro's own
inference and for editing: :func:`inference.model.model`. :func:`log_prior` itself does not know the dataset: it
returns −∞ only outside η ∈ (0, 1], R0, Lc > 0, h ∈ [10⁻³, 10³].

Every function here is a pure function of (params, data): jit, vmap and grad
work. The YieldTable is data, passed in (build it once: ``jaxqpc.YieldTable()``).
Call these under ``jax.jit`` in fitters: eagerly, jaxqpc validates concrete
arguments and raises ``ValueError`` outside its domain (useful interactively).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlogy

import jaxqpc

from .params import (LOG10_H_RANGE, MAX_LENGTH_RATIO, min_radius_nm, to_physical, to_physical_and_log_det,
                     to_unconstrained)

__all__ = [
    "PRIOR",
    "expected_counts",
    "signal_counts",
    "log_likelihood",
    "log_likelihood_pointwise",
    "log_prior",
    "log_posterior",
    "log_posterior_unconstrained",
    "log_prior_unconstrained",
    "U_BOUND",
    "sample_prior",
    "counts_log_pmf",
    "replicate_counts",
]

PRIOR = {
    "eta": ("uniform", 0.0, 1.0),
    "Lc": ("lognormal", 0.3, math.log(3.0)),   # (median nm, σ of ln Lc)
    "R0": ("lognormal", 1.0, math.log(2.0)),   # (median nm, σ of ln R0)
    "h": ("log10uniform",) + LOG10_H_RANGE,
}
"""The priors (kind, then parameters) keyed by parameter name; see the module docstring.

The one table of hyper-parameters: :func:`log_prior`, :func:`sample_prior` and
the NumPyro model :func:`inference.model.model` all read it, so a change here
changes them alike (``tests/test_model.py`` checks that they stay one posterior).
"""

_MODELS = ("poisson", "negbinomial")


def expected_counts(params, dataset, table):
    """Expected counts μ_i per row (Poisson mean), including the dark counts.

    Each row's detector has efficiency η/len(dataset.dark_rate) (module docstring).

    Args:
        params: dict with ``eta``, ``Lc``, ``R0``, ``h`` (scalars; vmap for batches).
        dataset: :class:`~inference.dataset.Dataset`.
        table: a prebuilt :class:`jaxqpc.YieldTable` (detector response and metal fixed).
    Returns:
        Array of shape ``(n_rows,)``.
    """
    return jaxqpc.photon_counts(
        dataset.power,
        eta=params["eta"] / len(dataset.dark_rate), R0=params["R0"], Lc=params["Lc"], h=params["h"],
        source_voltage=dataset.source_voltage, series_resistance=dataset.series_resistance,
        bin_time=dataset.bin_time, dark_rate=dataset.dark_rate_per_row, spectrum=table,
        lattice_temperature=dataset.lattice_temperature, heat_fraction=heat_fraction(dataset))


def signal_counts(params, dataset, table, n_detectors=None):
    """Signal counts per row at η = 1, dark counts excluded: the s_i of μ_i = η s_i + t_i d_i, on which
    the η-structured fitters (:mod:`inference.quadrature`, :func:`inference.optimize.fit_map_batch`)
    build.

    Args:
        params: dict with ``Lc``, ``R0``, ``h`` (scalars; vmap for batches).
        dataset, table: as :func:`expected_counts`.
        n_detectors: the number of detectors sharing η (default ``len(dataset.dark_rate)``; given
            where the dark rates are padded).
    """
    n = len(dataset.dark_rate) if n_detectors is None else n_detectors
    return jaxqpc.photon_counts(
        dataset.power, eta=1.0 / n, R0=params["R0"], Lc=params["Lc"], h=params["h"],
        source_voltage=dataset.source_voltage, series_resistance=dataset.series_resistance,
        bin_time=dataset.bin_time, dark_rate=0.0, spectrum=table,
        lattice_temperature=dataset.lattice_temperature, heat_fraction=heat_fraction(dataset))


def heat_fraction(dataset):
    """The share of each row's power heating the drain in the model (1: all of it, the paper)."""
    return 1.0 if dataset.heat_fraction is None else dataset.heat_fraction


def _concentration(params, concentration):
    if concentration is None:
        if "concentration" not in params:
            raise ValueError("model='negbinomial' needs `concentration` (φ > 0): pass it, "
                             "or put it in params['concentration']")
        concentration = params["concentration"]
    return jnp.asarray(concentration, dtype=float)


def counts_log_pmf(counts, mean, *, model="poisson", concentration=None):
    """Per-row log-probability of ``counts`` given ``mean`` (exact, with the log k! constant)."""
    if model not in _MODELS:
        raise ValueError(f"`model` must be one of {_MODELS}, got {model!r}")
    k = jnp.asarray(counts, dtype=float)
    mu = jnp.asarray(mean, dtype=float)
    if model == "poisson":
        return xlogy(k, mu) - mu - gammaln(k + 1.0)
    phi = jnp.asarray(concentration, dtype=float)
    log_total = jnp.log(phi + mu)
    return (gammaln(k + phi) - gammaln(phi) - gammaln(k + 1.0)
            + phi * (jnp.log(phi) - log_total) + xlogy(k, mu) - k * log_total)


def replicate_counts(key, mean, *, model="poisson", concentration=None):
    """Replicated data: one draw of the observation model per expected count (same shape, NumPy).

    ``"negbinomial"`` draws a Gamma(φ, φ/μ) rate, then Poisson counts (its mixture representation).
    Drawn by NumPy's generator seeded with the ``jax.random`` key's data (reproducible; NumPy's
    Poisson sampler needs no compilation, jax.random's a program per shape).
    """
    if model not in _MODELS:
        raise ValueError(f"`model` must be one of {_MODELS}, got {model!r}")
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    mean = np.asarray(mean, dtype=float)
    if model == "poisson":
        return rng.poisson(mean)
    phi = np.asarray(concentration, dtype=float)
    return rng.poisson(rng.gamma(phi, 1.0, mean.shape) * mean / phi)


def log_likelihood_pointwise(params, dataset, table, *, model="poisson", concentration=None):
    """log p(k_i | params) for every row, shape ``(n_rows,)`` (for LOO/WAIC and diagnostics)."""
    if model == "negbinomial":
        concentration = _concentration(params, concentration)
    mu = expected_counts(params, dataset, table)
    return counts_log_pmf(dataset.counts, mu, model=model, concentration=concentration)


def log_likelihood(params, dataset, table, *, model="poisson", concentration=None):
    """Total log-likelihood Σ_i log p(k_i | μ_i(params)) (a scalar).

    Args:
        params, dataset, table: as :func:`expected_counts`.
        model: ``"poisson"`` or ``"negbinomial"`` (mean μ, concentration φ,
            variance μ + μ²/φ).
        concentration: φ > 0 for ``"negbinomial"``; if None, ``params["concentration"]``.
    """
    return jnp.sum(log_likelihood_pointwise(params, dataset, table, model=model,
                                            concentration=concentration), axis=-1)


def _lognormal_logpdf(x, median, sigma):
    z = (jnp.log(x) - math.log(median)) / sigma
    return -0.5 * z * z - jnp.log(x) - math.log(sigma * math.sqrt(2.0 * math.pi))


def log_prior(params, *, h_fixed=False):
    """log prior density of the physical parameters (see the module docstring).

    −∞ outside η ∈ (0, 1], Lc > 0, R0 > 0, log₁₀ h ∈ [−3, 3]; the data-dependent
    domain limits (R0 ≥ R0_min, Lc ≤ 1.5 R0) are not checked here (the
    bijection of :mod:`inference.params` enforces them). ``h_fixed=True``: h is
    a constant of the model (any value in [0, ∞]), not a parameter; its prior
    term is left out.
    """
    eta = jnp.asarray(params["eta"], dtype=float)
    lc = jnp.asarray(params["Lc"], dtype=float)
    r0 = jnp.asarray(params["R0"], dtype=float)
    h = jnp.asarray(params["h"], dtype=float)
    lo, hi = LOG10_H_RANGE
    inside = (eta > 0) & (eta <= 1) & (lc > 0) & (r0 > 0)
    if not h_fixed:
        inside = inside & (h >= 10.0**lo) & (h <= 10.0**hi)
    safe = lambda x: jnp.where(inside, x, 1.0)  # (keeps gradients finite outside)
    _, lc_med, lc_sig = PRIOR["Lc"]
    _, r0_med, r0_sig = PRIOR["R0"]
    lp = _lognormal_logpdf(safe(lc), lc_med, lc_sig) + _lognormal_logpdf(safe(r0), r0_med, r0_sig)
    if not h_fixed:
        lp = lp - jnp.log(safe(h)) - math.log((hi - lo) * math.log(10.0))
    return jnp.where(inside, lp, -jnp.inf)


def log_posterior(params, dataset, table, *, model="poisson", concentration=None, h_fixed=False):
    """log_likelihood + log_prior in physical coordinates (unnormalised)."""
    return log_likelihood(params, dataset, table, model=model, concentration=concentration) \
        + log_prior(params, h_fixed=h_fixed)


U_BOUND = 30.0
"""|u| beyond which :func:`log_posterior_unconstrained` replaces the density by a wall.

The prior mass beyond |u_j| = 30 is < 10⁻¹³ in every coordinate (logistic
tails e^{−30}; R0 = e³⁰ R0_min or Lc = 10⁻¹³ R0 lie > 25 prior σ out), but
there η, Lc or R0 leave the range of double precision (η = 0, Lc = 0, R0 = ∞
give NaN). So u is clipped to [−30, 30] and −½ Σ (u − clip(u))² is added:
the density stays finite, proper and differentiable, and samplers that step
far out (slice samplers do) are pushed back instead of meeting a NaN.
"""


def log_posterior_unconstrained(u, dataset, table, *, model="poisson", concentration=None, h=None):
    """Unnormalised log posterior density of the unconstrained coordinates ``u``.

    log p(u | data) = log L(θ(u)) + log π(θ(u)) + log|det ∂θ/∂u| (the density
    that optimisers, Laplace approximations and samplers in u-space need), for
    |u_j| ≤ :data:`U_BOUND` (a quadratic wall beyond, see there).

    Args:
        u: shape (4,) with h free; (3,) with ``h`` given (fixed, 0 ≤ h ≤ ∞,
            e.g. ``0.0`` or ``jnp.inf`` for the model-comparison limits).
        dataset, table, model, concentration: as :func:`log_likelihood`.
    """
    u = jnp.asarray(u, dtype=float)
    params = to_physical(jnp.clip(u, -U_BOUND, U_BOUND), dataset, h)
    return log_likelihood(params, dataset, table, model=model, concentration=concentration) \
        + log_prior_unconstrained(u, dataset, h=h)


def log_prior_unconstrained(u, dataset, *, h=None):
    """log π(θ(u)) + log|det ∂θ/∂u|: the prior part of :func:`log_posterior_unconstrained` (no
    physics), with its wall beyond :data:`U_BOUND`."""
    u = jnp.asarray(u, dtype=float)
    inner = jnp.clip(u, -U_BOUND, U_BOUND)
    params, log_det = to_physical_and_log_det(inner, dataset, h)
    wall = -0.5 * jnp.sum((u - inner) ** 2, axis=-1)
    return log_prior(params, h_fixed=h is not None) + log_det + wall


def sample_prior(key, dataset, n, h=None):
    """``n`` draws from the prior restricted to the dataset's domain, as unconstrained ``u`` (n, 4).

    With ``h`` given (fixed), the draws are (n, 3) (η, Lc, R0 only).

    R0 is drawn from its log-normal truncated to R0 ≥ R0_min and Lc from its
    log-normal truncated to Lc ≤ 1.5 R0 (inverse CDF); because that conditional
    truncation reweights R0 by P(Lc ≤ 1.5 R0), each R0 is kept with that
    probability (8 proposals per draw, the first kept one is used; the chance
    that all 8 are rejected is < 10⁻⁸ for R0_min ≥ 0.2 nm), which makes the
    draws exact samples of the truncated joint prior.
    """
    k_eta, k_r0, k_acc, k_lc, k_h = jax.random.split(key, 5)
    proposals = 8
    _, lc_med, lc_sig = PRIOR["Lc"]
    _, r0_med, r0_sig = PRIOR["R0"]
    ndtr, ndtri = jax.scipy.special.ndtr, jax.scipy.special.ndtri
    tiny = 1e-300

    r0_min = min_radius_nm(dataset)
    p_lo = ndtr((jnp.log(r0_min) - math.log(r0_med)) / r0_sig)
    q = jax.random.uniform(k_r0, (n, proposals), minval=0.0, maxval=1.0)
    r0 = jnp.exp(math.log(r0_med) + r0_sig * ndtri(jnp.clip(p_lo + (1.0 - p_lo) * q, tiny, 1 - 1e-16)))
    r0 = jnp.maximum(r0, r0_min * (1.0 + 1e-9))
    accept_p = ndtr((jnp.log(MAX_LENGTH_RATIO * r0) - math.log(lc_med)) / lc_sig)
    accept = jax.random.uniform(k_acc, (n, proposals)) < accept_p
    first = jnp.argmax(accept, axis=1)  # 0 if none accepted (then the first proposal)
    r0 = jnp.take_along_axis(r0, first[:, None], axis=1)[:, 0]

    p_hi = ndtr((jnp.log(MAX_LENGTH_RATIO * r0) - math.log(lc_med)) / lc_sig)
    lc = jnp.exp(math.log(lc_med) + lc_sig * ndtri(jnp.clip(
        p_hi * jax.random.uniform(k_lc, (n,)), tiny, 1.0)))
    lc = jnp.minimum(lc, MAX_LENGTH_RATIO * r0 * (1.0 - 1e-12))

    eta = jax.random.uniform(k_eta, (n,), minval=1e-12, maxval=1.0 - 1e-12)
    lo, hi = LOG10_H_RANGE
    margin = 1e-9 * (hi - lo)
    log10h = jax.random.uniform(k_h, (n,), minval=lo + margin, maxval=hi - margin)
    return to_unconstrained({"eta": eta, "Lc": lc, "R0": r0, "h": 10.0**log10h}, dataset, h)
