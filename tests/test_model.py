"""The NumPyro model (inference.model) against the fast path of inference.likelihood.

The two must define the same posterior: the model's joint log density equals
``log_posterior`` minus the data-dependent constant ``log_normalizer(data)``
(the truncated prior's normalisation) at every parameter point; the model's
prior draws are those of ``sample_prior``; NumPyro's inference runs on it.
Compilation dominates the cost, so each jitted function is built once per module.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS, Predictive, init_to_value
from scipy import integrate, stats

import jaxqpc
from inference import likelihood
from inference.data import example_metadata, load_example
from inference.likelihood import log_posterior, sample_prior
from inference.model import RadiusPrior, log_density, log_normalizer, model
from inference.params import MAX_LENGTH_RATIO, min_radius_nm, to_physical, to_unconstrained

TRUTH = example_metadata()["truth"]


@pytest.fixture(scope="module")
def table():
    return jaxqpc.YieldTable()


@pytest.fixture(scope="module")
def data():
    return load_example()


def _points(data, seed, h=None, n_near=24, n_prior=10, n_wide=6):
    """Parameter dicts inside the domain, through the bijection of inference.params: u near the
    example's truth (±0.2), u ~ N(0, 1.5²) (prior-like spread) and u ~ Uniform(−4, 4) (far out)."""
    rng = np.random.default_rng(seed)
    n_u = 3 if h is not None else 4
    u_truth = np.asarray(to_unconstrained(TRUTH, data, h))
    u = np.concatenate([u_truth + 0.2 * rng.standard_normal((n_near, n_u)),
                        1.5 * rng.standard_normal((n_prior, n_u)),
                        rng.uniform(-4.0, 4.0, (n_wide, n_u))])
    return to_physical(u, data, h)


def _log_phi_prior(phi):
    """1/√φ ~ HalfNormal(1), as a density in φ (independent of the model's code)."""
    return stats.halfnorm.logpdf(phi ** -0.5) + math.log(0.5) - 1.5 * np.log(phi)


CASES = {  # name: (h, observation, concentration); "negbinomial" with concentration None: φ fitted
    "poisson-h_free": (None, "poisson", None),
    "poisson-h=0": (0.0, "poisson", None),
    "negbinomial-h=inf": (math.inf, "negbinomial", 5.0),
    "negbinomial-h_free-phi_fitted": (None, "negbinomial", None),
}


@pytest.fixture(scope="module")
def densities(data, table):
    """Per case: (model log density, log_posterior, log p(φ) or 0, points), all cases in one jit."""
    points = {str(h): _points(data, 0, h=h) for h in (None, 0.0, math.inf)}
    phi = jnp.exp(jax.random.uniform(jax.random.PRNGKey(1), (40,), minval=-1.0, maxval=6.0))

    @jax.jit
    def evaluate(points, phi):
        out = {}
        for name, (h, observation, concentration) in CASES.items():
            params = dict(points[str(h)])
            if observation == "negbinomial" and concentration is None:
                params["concentration"] = phi
            sites = {k: v for k, v in params.items() if not (k == "h" and h is not None)}
            out[name] = (
                jax.vmap(lambda p: log_density(p, data, table=table, h=h, observation=observation,
                                               concentration=concentration))(sites),
                jax.vmap(lambda p: log_posterior(p, data, table, model=observation,
                                                 concentration=concentration,
                                                 h_fixed=h is not None))(params))
        return out

    out = evaluate(points, phi)
    prior_phi = _log_phi_prior(np.asarray(phi))
    return {name: (np.asarray(m), np.asarray(f),
                   prior_phi if CASES[name][1:] == ("negbinomial", None) else 0.0)
            for name, (m, f) in out.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_log_density_is_log_posterior_minus_log_normalizer(case, densities, data):
    """At 40 points: model = log_posterior − log Z (+ log p(φ) when φ is fitted).

    To 1e-10 where |log posterior| ≤ 10³ (at least 20 points: near the truth and
    prior draws); beyond, far out, the log posterior is a sum of terms up to 10⁶
    that the two paths add in different orders, so the rounding allows 1e-13 relative.
    """
    model_lp, fast_lp, log_prior_phi = densities[case]
    residual = model_lp - fast_lp - log_prior_phi + float(log_normalizer(data))
    tolerance = 1e-10 * np.maximum(1.0, np.abs(fast_lp) / 1e3)
    assert np.all(np.isfinite(residual))
    assert np.sum(np.abs(fast_lp) <= 1e3) >= 20
    assert np.all(np.abs(residual) <= tolerance), residual


@pytest.mark.parametrize("case", list(CASES))
def test_difference_is_one_constant(case, densities):
    """model − log_posterior [− log p(φ)] takes the same value at every point: the same posterior."""
    model_lp, fast_lp, log_prior_phi = densities[case]
    diff = model_lp - fast_lp - log_prior_phi
    bulk = np.abs(fast_lp) <= 1e3
    assert np.ptp(diff[bulk]) < 1e-10
    assert np.ptp(diff) < 1e-13 * np.max(np.abs(fast_lp))


def test_normalizer_is_the_truncated_prior_mass(data):
    """log_normalizer = log P(R0 ≥ R0_min, Lc ≤ 1.5 R0) under the untruncated log-normals (quadrature)."""
    r0_min = float(min_radius_nm(data))
    r0_med, r0_sig = likelihood.PRIOR["R0"][1:]
    lc_med, lc_sig = likelihood.PRIOR["Lc"][1:]

    def integrand(x):  # x = ln R0
        return (stats.norm.pdf(x, math.log(r0_med), r0_sig)
                * stats.norm.cdf((math.log(MAX_LENGTH_RATIO) + x - math.log(lc_med)) / lc_sig))

    mass, _ = integrate.quad(integrand, math.log(r0_min), math.log(r0_med) + 40 * r0_sig,
                             epsabs=0, epsrel=1e-12, limit=200)
    assert 0 < mass < 1
    np.testing.assert_allclose(float(log_normalizer(data)), math.log(mass), rtol=0, atol=1e-11)


def test_radius_prior_is_normalised():
    """The R0 marginal integrates to one, for a tiny, the example's and a large R0_min (tail)."""
    x = np.linspace(0.0, 30.0, 30001)  # ln(R0/R0_min)
    r0_mins = jnp.array([0.05, 0.9, 6.0])
    log_p = jax.jit(jax.vmap(lambda m: RadiusPrior(1.0, math.log(2.0), 0.3, math.log(3.0), m)
                             .log_prob(m * jnp.exp(x)) + jnp.log(m) + x))(r0_mins)
    for row in np.asarray(log_p):
        assert integrate.simpson(np.exp(row), x=x) == pytest.approx(1.0, abs=1e-9)


@pytest.fixture(scope="module")
def prior_draws(data, table):
    return Predictive(model, num_samples=3000)(jax.random.PRNGKey(2), data, table=table, counts=None)


def test_prior_draws_lie_in_the_domain(prior_draws, data):
    r0, lc, eta, h = (np.asarray(prior_draws[k]) for k in ("R0", "Lc", "eta", "h"))
    assert np.all(r0 >= float(min_radius_nm(data)))
    assert np.all((lc > 0) & (lc <= MAX_LENGTH_RATIO * r0))
    assert np.all((eta > 0) & (eta <= 1))
    assert np.all((h >= 1e-3) & (h <= 1e3))
    assert prior_draws["counts"].shape == prior_draws["expected_counts"].shape == (3000, data.n_rows)


def test_prior_draws_match_sample_prior(prior_draws, data):
    """Two-sample KS test of each marginal against the fast path's exact prior sampler."""
    fast = jax.jit(lambda k: to_physical(sample_prior(k, data, 3000), data))(jax.random.PRNGKey(3))
    for name in ("R0", "Lc", "h", "eta"):
        p = stats.ks_2samp(np.asarray(prior_draws[name]), np.asarray(fast[name])).pvalue
        assert p > 1e-3, (name, p)


def test_prior_predictive_counts_have_the_expected_mean(prior_draws):
    """Poisson: mean of k − μ over all draws and rows is 0 within 5 standard errors (Var = μ)."""
    excess = np.asarray(prior_draws["counts"] - prior_draws["expected_counts"]).ravel()
    mean_mu = float(np.mean(prior_draws["expected_counts"]))
    assert abs(np.mean(excess)) < 5 * math.sqrt(mean_mu / excess.size)
    assert np.var(excess) == pytest.approx(mean_mu, rel=0.1)


@pytest.mark.slow  # NUTS compiles the gradient of the physics inside its tree builder (~40 s)
def test_nuts_runs_on_the_model(data, table):
    """Usable by NumPyro's inference as is (a handful of short steps; no accuracy claim; the
    model's log density and its gradient are checked by the fast tests)."""
    kernel = NUTS(model, max_tree_depth=4, init_strategy=init_to_value(values=TRUTH))
    mcmc = MCMC(kernel, num_warmup=20, num_samples=20, num_chains=1, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(5), data, table=table)
    draws = mcmc.get_samples()
    for name in ("eta", "Lc", "R0", "h"):
        assert draws[name].shape == (20,) and np.all(np.isfinite(draws[name]))
    assert np.all(np.asarray(draws["R0"]) >= float(min_radius_nm(data)))
    assert np.all(np.asarray(draws["Lc"]) <= MAX_LENGTH_RATIO * np.asarray(draws["R0"]))
    assert draws["expected_counts"].shape == (20, data.n_rows)


def test_log_density_jit_and_grad_are_finite(data, table):
    points = _points(data, 6)
    params = {k: v[0] for k, v in points.items()}
    value, grad = jax.jit(jax.value_and_grad(lambda p: log_density(p, data, table=table)))(params)
    assert np.isfinite(float(value))
    assert set(grad) == {"eta", "Lc", "R0", "h"}
    assert all(np.isfinite(float(g)) for g in grad.values())


def test_prior_table_is_the_single_source(data, table, monkeypatch):
    """Editing PRIOR changes the model and the fast path alike (they stay one posterior)."""
    monkeypatch.setitem(likelihood.PRIOR, "R0", ("lognormal", 2.5, math.log(1.5)))
    monkeypatch.setitem(likelihood.PRIOR, "Lc", ("lognormal", 0.1, math.log(2.0)))
    params = {k: v[:16] for k, v in _points(data, 7).items()}  # near the truth
    model_lp, fast_lp = jax.jit(jax.vmap(lambda p: (log_density(p, data, table=table),
                                                    log_posterior(p, data, table))))(params)
    np.testing.assert_allclose(np.asarray(model_lp - fast_lp), -float(log_normalizer(data)),
                               rtol=0, atol=1e-10)
    monkeypatch.setitem(likelihood.PRIOR, "R0", ("gamma", 2.0, 1.0))
    with pytest.raises(NotImplementedError, match="R0"):
        log_normalizer(data)


def test_observed_counts_default_to_the_data(data, table):
    params = {k: v[0] for k, v in _points(data, 8).items()}
    f = jax.jit(lambda c: jnp.stack([log_density(params, data, table=table),
                                     log_density(params, data, table=table, counts=c)]))
    default, explicit = np.asarray(f(data.counts))
    assert default == pytest.approx(explicit, rel=1e-13, abs=0)
    assert default != pytest.approx(float(f(data.counts + 1.0)[1]), rel=1e-6)
    with pytest.raises(ValueError, match="observation"):
        log_density(params, data, table=table, observation="gaussian")


def test_fleet_model_is_the_contacts_models_with_one_eta(table, data):
    """fleet_model's joint log density = the sum of the contacts' model log densities at the shared η
    (η's uniform prior density is 1, so it adds nothing), with the sites named per contact."""
    import equinox as eqx
    from numpyro.infer.util import log_density as numpyro_log_density

    from inference.model import fleet_model

    other = eqx.tree_at(lambda d: d.counts, data, jnp.round(data.counts * 0.8))  # a second contact
    params = {"eta": 0.5, "contact0/R0": 1.2, "contact0/Lc": 0.2, "contact0/h": 3.0,
              "contact1/R0": 1.6, "contact1/Lc": 0.5, "contact1/h": 0.1}
    got, trace = numpyro_log_density(fleet_model, ([data, other],), {"table": table}, params)
    assert {"contact0/counts", "contact1/counts", "eta"} <= set(trace)
    want = sum(float(log_density({"eta": 0.5, **{k.split("/")[1]: v for k, v in params.items()
                                                  if k.startswith(f"contact{i}/")}}, d, table=table))
               for i, d in enumerate([data, other]))
    assert float(got) == pytest.approx(want, abs=1e-10)

