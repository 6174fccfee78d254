"""The NumPyro model of photon-count data: priors and likelihood, defined once.

:func:`model` is the generative model behind every fit of this package
(Buret et al. 2020, Eqs. 2–5 and 14–20 for the physics; docs/fitting.md for
the fitting pages). It reads its hyper-parameters from
:data:`inference.likelihood.PRIOR`, the one table that
:func:`~inference.likelihood.log_prior` and
:func:`~inference.likelihood.sample_prior` (the fast path the fitters use)
read as well, so editing a number there changes all of them; the test
``tests/test_model.py`` checks that the model and the fast path define the
same posterior.

Use it with NumPyro's inference directly::

    from numpyro.infer import MCMC, NUTS, Predictive
    from inference.model import model
    mcmc = MCMC(NUTS(model), num_warmup=500, num_samples=500)
    mcmc.run(key, data)                                        # condition on data.counts
    prior = Predictive(model, num_samples=1000)(key, data, counts=None)   # prior predictive

The joint log density of the model and the fast path
:func:`inference.likelihood.log_posterior` differ by a constant (module
function :func:`log_normalizer`; see :func:`log_density`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import log_ndtr, ndtr
from numpyro.distributions import constraints
from numpyro.distributions.transforms import ExpTransform
from numpyro.infer.util import log_density as _numpyro_log_density

import jaxqpc

from .likelihood import PRIOR, counts_log_pmf, expected_counts
from .params import MAX_LENGTH_RATIO, min_radius_nm

__all__ = [
    "fleet_model",
    "model",
    "log_density",
    "log_normalizer",
    "truncated_lognormal",
    "RadiusPrior",
    "AccurateNegativeBinomial2",
    "CONCENTRATION_PRIOR_SCALE",
    "default_table",
]

CONCENTRATION_PRIOR_SCALE = 1.0
"""Prior of the negative-binomial concentration φ when it is fitted: 1/√φ ~ HalfNormal(this).

1/√φ is the relative spread of the count rate beyond Poisson noise (variance
μ + μ²/φ); a scale of 1 says "up to order-one extra-Poisson fluctuations",
with Poisson data (φ → ∞, 1/√φ → 0) at the mode.
"""


@functools.lru_cache(maxsize=1)
def default_table():
    """``jaxqpc.YieldTable()`` (default detector and metal), built once on first use."""
    return jaxqpc.YieldTable()


def _hyper(name, kind):
    """The numbers of ``PRIOR[name]``, after checking that its kind is the one the model implements."""
    found, *numbers = PRIOR[name]
    if found != kind:
        raise NotImplementedError(f"the model implements a {kind!r} prior for {name}, "
                                  f"PRIOR says {found!r}: edit inference.model.model as well")
    return numbers


def truncated_lognormal(median, sigma, *, low=None, high=None):
    """LogNormal(ln median, σ) truncated to [low, high]: exp of a truncated Normal (NumPyro's own).

    ``low``/``high`` (same unit as ``median``) may be None (no bound). The
    support is set to the truncated interval, so NumPyro's samplers map the
    site onto exactly that interval.
    """
    log_low = None if low is None else jnp.log(low)
    log_high = None if high is None else jnp.log(high)
    base = dist.TruncatedNormal(jnp.log(median), sigma, low=log_low, high=log_high)
    if low is None and high is None:
        domain = constraints.real
    elif high is None:
        domain = constraints.greater_than(log_low)
    else:
        domain = constraints.interval(-jnp.inf if low is None else log_low, log_high)
    return dist.TransformedDistribution(base, ExpTransform(domain))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(80)  # more nodes: numpy's weights lose digits


def _log_joint_mass(a, alpha, beta):
    """log ∫_a^∞ φ(z) Φ(αz + β) dz, by Gauss–Legendre in z (relative error ≲ 1e-14).

    The integrand is below φ(z) and, past a > 0, decays like φ(a) e^{−a(z−a)}, so
    the interval [max(a, −12), + 24/(1 + max(a, 0)/2)] holds all but < 1e-30 of it.
    """
    lo = jnp.maximum(a, -12.0)
    half = 12.0 / (1.0 + 0.5 * jnp.maximum(a, 0.0))
    z = lo + half * (1.0 + _GL_NODES)
    terms = (jnp.log(_GL_WEIGHTS * half) - 0.5 * z * z - 0.5 * np.log(2.0 * np.pi)
             + log_ndtr(alpha * z + beta))
    return jax.scipy.special.logsumexp(terms)


class RadiusPrior(dist.Distribution):
    """Prior of R0 (nm) when LogNormal(R0) × LogNormal(Lc) is truncated to R0 ≥ R0_min, Lc ≤ ratio·R0.

    Truncating the joint prior (not R0 and then Lc given R0 separately)
    reweights R0 by the probability that Lc fits, P(Lc ≤ ratio·R0) =
    Φ((ln(ratio·R0) − ln Lc_median)/σ_Lc). This is that marginal:

        p(R0) = LogNormal(R0; ln R0_median, σ_R0) Φ(...) / Z,  R0 ≥ R0_min,

    with Z = P(R0 ≥ R0_min, Lc ≤ ratio·R0) under the untruncated
    log-normals (:meth:`log_normalizer`). Followed by Lc | R0 ~ LogNormal
    truncated to Lc ≤ ratio·R0 (normalised by the same Φ), the joint density
    is LogNormal(R0) LogNormal(Lc) / Z on the domain: the truncated joint
    prior. Samples: log-normal proposals truncated to R0 ≥ R0_min, each kept
    with probability Φ(...) (exact rejection sampling, repeated until every
    draw is kept).
    """

    arg_constraints = {"r0_min": constraints.positive}
    pytree_data_fields = ("r0_median", "r0_sigma", "lc_median", "lc_sigma", "r0_min", "ratio")

    def __init__(self, r0_median, r0_sigma, lc_median, lc_sigma, r0_min, ratio=MAX_LENGTH_RATIO,
                 *, validate_args=None):
        self.r0_median, self.r0_sigma = r0_median, r0_sigma
        self.lc_median, self.lc_sigma = lc_median, lc_sigma
        self.r0_min, self.ratio = jnp.asarray(r0_min, dtype=float), ratio
        super().__init__(jnp.shape(self.r0_min), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than(self.r0_min)

    def _log_fits(self, r0):  # log P(Lc ≤ ratio·R0 | R0)
        return log_ndtr((jnp.log(self.ratio * r0) - jnp.log(self.lc_median)) / self.lc_sigma)

    def log_normalizer(self):
        """log Z, Z = P(R0 ≥ R0_min, Lc ≤ ratio·R0) under the untruncated log-normals."""
        a = (jnp.log(self.r0_min) - jnp.log(self.r0_median)) / self.r0_sigma
        alpha = self.r0_sigma / self.lc_sigma
        beta = (jnp.log(self.r0_median) + jnp.log(self.ratio) - jnp.log(self.lc_median)) / self.lc_sigma
        return _log_joint_mass(a, alpha, beta)

    def log_prob(self, value):
        lognormal = dist.LogNormal(jnp.log(self.r0_median), self.r0_sigma)
        inside = value >= self.r0_min
        safe = jnp.where(inside, value, self.r0_min)
        lp = lognormal.log_prob(safe) + self._log_fits(safe) - self.log_normalizer()
        return jnp.where(inside, lp, -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = sample_shape + self.batch_shape
        proposal = truncated_lognormal(self.r0_median, self.r0_sigma, low=self.r0_min)

        def draw(state):
            key, r0, kept = state
            key, k_r0, k_keep = jax.random.split(key, 3)
            new = proposal.sample(k_r0, shape)
            keep = jax.random.uniform(k_keep, shape) < ndtr(
                (jnp.log(self.ratio * new) - jnp.log(self.lc_median)) / self.lc_sigma)
            return key, jnp.where(kept, r0, new), kept | keep

        init = (key, jnp.full(shape, jnp.nan), jnp.zeros(shape, dtype=bool))
        return jax.lax.while_loop(lambda s: ~jnp.all(s[2]), draw, init)[1]


class AccurateNegativeBinomial2(dist.NegativeBinomial2):
    """NumPyro's ``NegativeBinomial2(mean, concentration)`` with a log-gamma ``log_prob``.

    Same distribution, support and sampler; only ``log_prob`` differs: NumPyro's
    goes through ``jax.scipy.special.betaln``, whose float64 values are off by up
    to ~1e-7 (e.g. betaln(10, 8)), so its log-likelihood of counts of a few is
    off by ~1e-8 per row. This one is :func:`inference.likelihood.counts_log_pmf`
    (lgamma(k + φ) − lgamma(φ) − lgamma(k + 1) + φ log(φ/(φ + μ)) + k log(μ/(φ + μ))),
    the fast path's formula, accurate to ≲ 1e-10 for counts up to 10⁵.
    """

    def log_prob(self, value):
        mean = self.concentration / self.rate
        return counts_log_pmf(value, mean, model="negbinomial", concentration=self.concentration)


def log_normalizer(data):
    """log Z(data): log of the normalisation of the truncated prior of (R0, Lc).

    Z = P(R0 ≥ R0_min, Lc ≤ 1.5 R0) under the untruncated log-normal priors of
    :data:`inference.likelihood.PRIOR`; it depends on the data through
    R0_min = N_max λF/4 only. :func:`inference.likelihood.log_posterior`
    leaves it out, so ``log_density(params, data) = log_posterior(params, data) − log_normalizer(data)``.
    """
    return RadiusPrior(*_hyper("R0", "lognormal"), *_hyper("Lc", "lognormal"),
                       min_radius_nm(data)).log_normalizer()


def model(data, *, counts="data", table=None, h=None, observation="poisson", concentration=None, eta=None):
    """Generative model of photon counts vs power (Buret et al. 2020, Eqs. 2–5 and 14–20).

    Priors (hyper-parameters from :data:`inference.likelihood.PRIOR`; lengths in nm):

    * ``eta``: overall detection efficiency of all detectors together, η ~ Uniform(0, 1);
      each of the ``len(data.dark_rate)`` detectors counts with η/len(data.dark_rate);
    * ``R0`` (nm) and ``Lc`` (nm): LogNormal(ln 1 nm, ln 2) × LogNormal(ln 0.3 nm, ln 3),
      truncated jointly to R0 ≥ R0_min = N_max λF/4 (from the data: the heated disk of the
      largest conductance fits) and Lc ≤ 1.5 R0. Written as R0 from its marginal
      (:class:`RadiusPrior`: the log-normal reweighted by P(Lc ≤ 1.5 R0)), then Lc given R0
      from the log-normal truncated to Lc ≤ 1.5 R0;
    * ``h`` (dimensionless side-wall exchange): log₁₀ h ~ Uniform(−3, 3), i.e.
      h ~ LogUniform(10⁻³, 10³), a sample site in h itself. If ``h`` is given it is a
      constant (0 ≤ h ≤ ∞; 0 and ∞ are the limits of Eqs. 5 and 4) and there is no h site;
    * ``concentration`` φ (``observation="negbinomial"`` with ``concentration=None`` only):
      1/√φ ~ HalfNormal(:data:`CONCENTRATION_PRIOR_SCALE`).

    Likelihood: deterministic site ``expected_counts``, μ_i (counts per row,
    :func:`inference.likelihood.expected_counts`, dark counts included), and
    ``counts`` k_i ~ Poisson(μ_i) or NegativeBinomial2(μ_i, φ) (variance μ + μ²/φ),
    independent over the rows (plate ``rows``).

    Args:
        data: :class:`~inference.dataset.Dataset`: power (W), bin_time (s), detector per row;
            source_voltage (V), series_resistance (Ω), dark_rate (1/s), lattice_temperature (K).
        counts: observed counts; ``"data"`` (default) uses ``data.counts``; None draws them
            (prior or posterior predictive, e.g. ``Predictive(model, …)(key, data, counts=None)``).
        table: a :class:`jaxqpc.YieldTable`; default :func:`default_table`.
        h: None (fitted) or a fixed value in [0, ∞].
        observation: ``"poisson"`` or ``"negbinomial"``.
        concentration: φ > 0 for ``"negbinomial"``; None fits it (prior above).
        eta: None (a site ``eta``, prior above) or a value shared with other contacts, e.g. a
            site of an enclosing model (:func:`fleet_model`).
    """
    if observation not in ("poisson", "negbinomial"):
        raise ValueError(f"`observation` must be 'poisson' or 'negbinomial', got {observation!r}")
    table = default_table() if table is None else table
    counts = data.counts if isinstance(counts, str) and counts == "data" else counts

    if eta is None:
        eta = numpyro.sample("eta", dist.Uniform(*_hyper("eta", "uniform")))
    r0_median, r0_sigma = _hyper("R0", "lognormal")
    lc_median, lc_sigma = _hyper("Lc", "lognormal")
    R0 = numpyro.sample("R0", RadiusPrior(r0_median, r0_sigma, lc_median, lc_sigma,
                                          r0_min=min_radius_nm(data), ratio=MAX_LENGTH_RATIO))
    Lc = numpyro.sample("Lc", truncated_lognormal(lc_median, lc_sigma, high=MAX_LENGTH_RATIO * R0))
    if h is None:
        lo, hi = _hyper("h", "log10uniform")
        h = numpyro.sample("h", dist.LogUniform(10.0**lo, 10.0**hi))

    mu = numpyro.deterministic(
        "expected_counts", expected_counts({"eta": eta, "Lc": Lc, "R0": R0, "h": h}, data, table))
    if observation == "poisson":
        likelihood = dist.Poisson(mu)
    else:
        if concentration is None:
            inv_sqrt_phi = dist.HalfNormal(CONCENTRATION_PRIOR_SCALE)
            concentration = numpyro.sample(   # φ = (1/√φ)^(−2), density in φ
                "concentration", dist.TransformedDistribution(
                    inv_sqrt_phi, dist.transforms.PowerTransform(-2.0)))
        likelihood = AccurateNegativeBinomial2(mu, concentration)  # dist.NegativeBinomial2, exact log_prob
    with numpyro.plate("rows", data.n_rows):
        numpyro.sample("counts", likelihood, obs=counts)


def fleet_model(datasets, *, table=None, h=None, observation="poisson", concentration=None):
    """Contacts measured with the same optics: one ``eta`` site shared by all, the geometry of each
    contact as in :func:`model`, its sites named ``contact<i>/R0``, ``contact<i>/Lc``,
    ``contact<i>/h`` and ``contact<i>/counts``. Extend it like :func:`model` (e.g. replace the shared
    η by a population distribution). Exact inference for it without a sampler:
    :func:`inference.hierarchical.fit_shared_eta`.
    """
    table = default_table() if table is None else table
    eta = numpyro.sample("eta", dist.Uniform(*_hyper("eta", "uniform")))
    for i, data in enumerate(datasets):
        with numpyro.handlers.scope(prefix=f"contact{i}", divider="/"):
            model(data, table=table, h=h, observation=observation, concentration=concentration, eta=eta)


def log_density(params, data, **model_kwargs):
    """The model's joint log density at ``params`` (physical values keyed by site name).

    ``params``: ``eta``, ``Lc`` (nm), ``R0`` (nm), and ``h`` unless ``h=`` is
    given, plus ``concentration`` for a fitted negative-binomial φ.
    ``model_kwargs``: as :func:`model` (``counts`` defaults to ``data.counts``).

    It is properly normalised in the parameters (the truncated prior included)
    and relates to the fast path as

        log_density(params, data) = log_posterior(params, data, table) − log_normalizer(data)
                                    [+ log p(φ) when φ is fitted]

    (``inference.likelihood.log_posterior`` with the same ``model``/``concentration``
    and ``h_fixed=h is not None``): the two define the same posterior.
    Pure JAX: jit and grad work.
    """
    return _numpyro_log_density(model, (data,), model_kwargs, params)[0]
