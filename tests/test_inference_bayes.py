"""inference.sample and inference.diagnostics: NumPyro fits, ArviZ output, diagnostics, LOO.

1. fixed-h coordinates: three entries, exact h = 0 / ∞, log-Jacobian against a
   finite-difference determinant; the density wall beyond |u| = 30 keeps the
   value and gradient finite where the physics would give NaN;
2. recovery (small and fast): the bundled example and a second simulated
   experiment, sampled together in one vmapped AIES call; every true parameter
   inside its central 95 % interval, R-hat and ESS computed, the MAP on the
   well-measured combination;
3. the three kernels agree: ESS and NUTS (short runs) against AIES quantiles;
4. ArviZ output: groups and shapes, the pointwise log-likelihood against
   scipy.stats.poisson on the stored expected counts;
5. diagnostics: no warning for independent draws, R-hat and divergence
   warnings when chains disagree; the LOO comparison and its conclusion;
6. errors: unknown sampler, odd walker counts, datasets of different shapes.
"""

import math

import jax


import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import jaxqpc
from inference import likelihood as lik
from inference import params as prm
from inference.data import example_metadata, load_example
from inference.diagnostics import (_conclusion, compare_h_models, diagnose, thin,
                                   to_inference_data)
from inference.optimize import fit_map
from inference.quadrature import fit_quadrature, merge_rows
from inference.sample import Posterior, expected_counts_draws, fit_posterior, fit_posterior_batch
from inference.simulate import simulate_experiment

PARAMS = ("eta", "Lc", "R0", "h")
SHORT = dict(num_warmup=1000, num_samples=3000)  # ~3 s per AIES run after compilation


@pytest.fixture(scope="module")
def table():
    return jaxqpc.YieldTable()


@pytest.fixture(scope="module")
def example():
    return load_example()


@pytest.fixture(scope="module")
def truth():
    return example_metadata()["truth"]


@pytest.fixture(scope="module")
def second(truth):
    """Another experiment at the example's truth (other seed), same shape as the example."""
    return simulate_experiment(jax.random.PRNGKey(11), truth)[1]


@pytest.fixture(scope="module")
def maps(example, second, table):
    return [fit_map(d, key=jax.random.PRNGKey(i), table=table, n_starts=16)
            for i, d in enumerate((example, second))]


@pytest.fixture(scope="module")
def posteriors(example, second, table, maps):
    return fit_posterior_batch([example, second], key=jax.random.PRNGKey(3), table=table, maps=maps,
                               **SHORT)


# 1. fixed-h coordinates and the density wall ---------------------------------------------------

@pytest.mark.parametrize("h", [0.0, math.inf, 2.5])
def test_fixed_h_coordinates(example, h):
    u = jnp.array([0.3, -1.2, 0.4])
    p = prm.to_physical(u, example, h)
    assert float(p["h"]) == h
    back = prm.to_unconstrained(p, example, h)
    np.testing.assert_allclose(back, u, rtol=1e-12)
    # log|det J| of the 3x3 map (η, Lc, R0)(u) by central differences
    f = lambda v: np.array([float(prm.to_physical(jnp.asarray(v), example, h)[k])
                            for k in ("eta", "Lc", "R0")])
    eps = 1e-6
    jac = np.stack([(f(np.asarray(u) + eps * e) - f(np.asarray(u) - eps * e)) / (2 * eps)
                    for e in np.eye(3)], axis=1)
    assert float(prm.log_abs_det_jacobian(u, example, h)) == pytest.approx(
        math.log(abs(np.linalg.det(jac))), abs=1e-7)
    with pytest.raises(ValueError, match="3 entries"):
        prm.to_physical(jnp.zeros(4), example, h)


def test_fixed_h_prior_drops_the_h_term():
    p = {"eta": 0.5, "Lc": 0.2, "R0": 1.2, "h": 10.0}
    ref = (scipy.stats.lognorm(math.log(3.0), scale=0.3).logpdf(0.2)
           + scipy.stats.lognorm(math.log(2.0), scale=1.0).logpdf(1.2))
    assert float(lik.log_prior(p, h_fixed=True)) == pytest.approx(ref, rel=1e-13)
    assert float(lik.log_prior(dict(p, h=math.inf), h_fixed=True)) == pytest.approx(ref, rel=1e-13)
    free = float(lik.log_prior(p))
    assert free - ref == pytest.approx(-math.log(10.0 * 6.0 * math.log(10.0)), rel=1e-12)


def test_density_wall_keeps_values_and_gradients_finite(example, table):
    f = jax.jit(jax.value_and_grad(lambda u: lik.log_posterior_unconstrained(u, example, table)))
    inside = jnp.array([0.2, -2.5, -0.2, 0.1])
    for i in range(4):
        for v in (-800.0, 800.0):
            u = inside.at[i].set(v)
            val, grad = f(u)
            assert np.isfinite(val) and np.all(np.isfinite(grad)), (i, v)
            assert float(grad[i]) * v < 0  # pushed back towards the domain
    # inside |u| ≤ 30 nothing changes: equal to likelihood + prior + log-Jacobian
    p, log_det = prm.to_physical_and_log_det(inside, example)
    parts = lik.log_likelihood(p, example, table) + lik.log_prior(p) + log_det
    assert float(f(inside)[0]) == pytest.approx(float(parts), rel=1e-12)


# 2. recovery ------------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("name", PARAMS)
def test_truth_inside_95_percent_interval(posteriors, truth, index, name):
    x = posteriors[index].params[name].reshape(-1)
    lo, hi = np.percentile(x, [2.5, 97.5])
    assert lo <= truth[name] <= hi, (index, name, lo, truth[name], hi)


def test_posterior_shapes_and_domain(posteriors, example):
    post = posteriors[0]
    assert post.sampler == "aies" and post.h_model == "free"
    assert post.u.shape == (32, SHORT["num_samples"], 4)
    for k in PARAMS:
        assert post.params[k].shape == (32, SHORT["num_samples"])
    r0_min = float(prm.min_radius_nm(example))
    assert np.all(post.params["R0"] > r0_min)
    assert np.all(post.params["Lc"] <= 1.5 * post.params["R0"])
    assert np.all((post.params["eta"] > 0) & (post.params["eta"] <= 1))
    assert not post.diverging.any()


def test_diagnostics_of_the_recovery_fit(posteriors):
    d = diagnose(posteriors[0])
    assert set(d["r_hat"]) == set(PARAMS)
    # short chains: not yet the 1.01 of the defaults, but clearly mixing
    assert max(d["r_hat"].values()) < 1.1
    assert d["min_ess_bulk"] > 200
    assert d["divergences"] == 0
    assert d["ess_per_second"] == pytest.approx(d["min_ess_bulk"] / posteriors[0].wall_s)  # definition


def test_map_on_the_well_measured_combination(maps, posteriors):
    """The combination −0.15 ln η − 0.80 ln Lc + 0.58 ln R0 is measured to < 1 %: MAP ≈ posterior median."""
    def combo(p):
        return -0.15 * np.log(p["eta"]) - 0.80 * np.log(p["Lc"]) + 0.58 * np.log(p["R0"])
    for m, post in zip(maps, posteriors):
        draws = combo(post.flat())
        assert np.std(draws) < 0.03
        assert combo(m.params) == pytest.approx(np.median(draws), abs=2 * np.std(draws))


# 3. the kernels agree with the default (quadrature) posterior ---------------------------------

@pytest.fixture(scope="module")
def quadrature_posterior(example, table):
    # the command line's number of draws (inference.cli.N_DRAWS): its draw programs, compiled once
    return fit_quadrature(example, key=jax.random.PRNGKey(6), table=table, n_draws=4000)


def _quantiles_in_reference_cdf(reference, draws, name, levels=(0.16, 0.5, 0.84)):
    """The draws' quantiles located in the reference's CDF: F_ref(q_draws(p)) for each level p."""
    ref = np.sort(np.asarray(reference[name]).reshape(-1))
    q = np.quantile(np.asarray(draws[name]).reshape(-1), levels)
    return np.searchsorted(ref, q, side="right") / ref.size


# Short runs: the tolerance (in probability) is ≈ 4 Monte Carlo standard errors of the kernel's
# quantiles at its ESS (AIES ≳ 400, the slice sampler's 16 × 300 draws ≳ 100); benchmarks/
# kernels_vs_quadrature.py checks converged default-length runs to 0.02.
@pytest.mark.parametrize("sampler,options,tolerance", [
    ("aies", None, 0.08),
    ("ess", dict(num_warmup=150, num_samples=300, walkers=16), 0.15),
    # NUTS compiles the physics' gradient in its tree builder (~60 s): opt-in; ESS checks the claim
    pytest.param("nuts", dict(num_warmup=150, num_samples=150, chains=2), 0.15, marks=pytest.mark.slow),
])
def test_kernels_agree_with_the_quadrature(example, table, maps, posteriors, quadrature_posterior,
                                           sampler, options, tolerance):
    if options is None:
        post = posteriors[0]
    else:
        post = fit_posterior(example, key=jax.random.PRNGKey(5), table=table, maps=maps[0],
                             sampler=sampler, **options)
    for name in ("eta", "Lc", "R0"):
        cdf = _quantiles_in_reference_cdf(quadrature_posterior.params, post.flat(), name)
        np.testing.assert_allclose(cdf, (0.16, 0.5, 0.84), atol=tolerance, err_msg=f"{sampler} {name}")
    if sampler == "nuts":
        assert post.u.shape == (2, 150, 4)
        assert post.num_steps.min() >= 1 and post.num_steps.dtype.kind == "i"


# 4. ArviZ output --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def idata(posteriors, example, table):
    return to_inference_data(posteriors[0], example, table, key=jax.random.PRNGKey(0))  # ≤ 4000 draws


def test_inference_data_groups(idata, example):
    for group in ("posterior", "log_likelihood", "posterior_predictive", "observed_data",
                  "constant_data", "sample_stats", "prior"):
        assert hasattr(idata, group), group
    n_rows = example.n_rows
    chains, draws = idata.posterior["eta"].shape
    assert chains == 32 and chains * draws <= 4000
    assert idata.log_likelihood["counts"].shape == (chains, draws, n_rows)
    assert idata.posterior_predictive["counts"].shape == (chains, draws, n_rows)
    np.testing.assert_array_equal(idata.observed_data["counts"], np.asarray(example.counts))
    assert np.all(np.asarray(idata.posterior_predictive["counts"]) >= 0)


def test_pointwise_log_likelihood_against_scipy(idata, example):
    mu = np.asarray(idata.posterior_predictive["expected_counts"])
    ref = scipy.stats.poisson.logpmf(np.asarray(example.counts), mu)
    np.testing.assert_allclose(np.asarray(idata.log_likelihood["counts"]), ref, rtol=1e-10, atol=1e-10)


def test_quadrature_expected_counts_are_the_physics(quadrature_posterior, example, table):
    """The quadrature's expected counts of its draws (from the merged rows' signals, the two detectors
    merged) equal the physics evaluated again at the draws."""
    assert merge_rows(example)[0].n_rows < example.n_rows
    np.testing.assert_allclose(quadrature_posterior.expected,
                               expected_counts_draws(quadrature_posterior.params, example, table),
                               rtol=1e-10, atol=0)


def test_expected_counts_of_a_draw(idata, example, table):
    p = {k: float(idata.posterior[k][3, 7]) for k in PARAMS}
    mu = np.asarray(jax.jit(lik.expected_counts)(p, example, table))
    np.testing.assert_allclose(np.asarray(idata.posterior_predictive["expected_counts"][3, 7]), mu,
                               rtol=1e-12)


def test_thin_keeps_chains(posteriors):
    t = thin(posteriors[0], 1000)  # 31 draws per walker at most: every 97th of 3000
    assert t.u.shape[0] == 32 and t.u.shape[0] * t.u.shape[1] <= 1000
    np.testing.assert_array_equal(t.params["eta"], posteriors[0].params["eta"][:, ::97])


# 5. diagnostics and model comparison ------------------------------------------------------------

def _fake(u, diverging=None):
    u = np.asarray(u, dtype=float)
    params = {k: np.abs(u[..., i]) + 0.1 for i, k in enumerate(PARAMS)}
    div = np.zeros(u.shape[:2], bool) if diverging is None else diverging
    return Posterior(sampler="nuts", h_model="free", u=u, params=params, diverging=div,
                     num_steps=np.ones(u.shape[:2], np.int32), num_warmup=0, wall_s=1.0)


def test_diagnose_passes_independent_draws():
    rng = np.random.default_rng(0)
    d = diagnose(_fake(rng.normal(size=(4, 2000, 4))))
    assert d["converged"] and d["warnings"] == []
    assert all(abs(r - 1) < 0.01 for r in d["r_hat"].values())
    assert all(e > 4000 for e in d["ess_bulk"].values())


def test_diagnose_warns_when_chains_disagree():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(4, 500, 4))
    u[0] += 3.0  # one chain elsewhere
    div = np.zeros((4, 500), bool)
    div[1, 10] = True
    d = diagnose(_fake(u, div))
    assert not d["converged"]
    assert any("R-hat" in w for w in d["warnings"])
    assert any("1 divergent" in w for w in d["warnings"])


def test_conclusion_rule():
    rows = [{"model": "free", "label": "A", "elpd_diff": 0.0, "dse": 0.0, "pareto_k_max": 0.2},
            {"model": "zero", "label": "B", "elpd_diff": 12.0, "dse": 3.0, "pareto_k_max": 0.9}]
    assert _conclusion(rows).startswith("the data prefer A")
    assert "unreliable for zero" in _conclusion(rows)
    rows[1]["elpd_diff"] = 3.0
    assert "do not distinguish A from B" in _conclusion(rows)


@pytest.mark.slow  # two more fits (~45 s); tests/test_fit_cli.py::test_bayes_summary checks the same comparison
def test_loo_comparison_of_the_h_models(example, table, maps, posteriors):
    comparison, idata = compare_h_models(example, key=jax.random.PRNGKey(2), table=table,
                                         posteriors={"free": posteriors[0]}, maps=maps[0],
                                         num_warmup=500, num_samples=375, progress=True)
    # (lengths and progress as in the CLI test's comparison: one compilation serves both)
    rows = comparison["models"]
    assert {r["model"] for r in rows} == {"free", "zero", "infinite"}
    assert [r["rank"] for r in rows] == [0, 1, 2]
    assert all(np.isfinite(r["elpd_loo"]) and r["se"] > 0 for r in rows)
    # at Lc/R0 ≈ 1/8 the h limits give the same counts (docs/errata-buret2020.md): not distinguishable
    assert max(r["elpd_diff"] for r in rows) < 1.0
    assert "do not distinguish" in comparison["conclusion"]
    assert "h" not in idata["zero"].posterior  # h fixed: not a parameter
    np.testing.assert_allclose(idata["infinite"].posterior["Lc"].shape[0], 32)


# 6. errors --------------------------------------------------------------------------------------

def test_errors(example, second, table):
    with pytest.raises(ValueError, match="sampler"):
        fit_posterior(example, key=jax.random.PRNGKey(0), table=table, sampler="hmc")
    with pytest.raises(ValueError, match="even number of walkers"):
        fit_posterior(example, key=jax.random.PRNGKey(0), table=table, walkers=7)
    with pytest.raises(ValueError, match="h_model"):
        fit_posterior(example, key=jax.random.PRNGKey(0), table=table, h_model="small")
    short = simulate_experiment(jax.random.PRNGKey(1), n_groups=10)[1]
    with pytest.raises(ValueError, match="same"):
        fit_posterior_batch([example, short], key=jax.random.PRNGKey(0), table=table)
    with pytest.raises(ValueError, match="empty"):
        fit_posterior_batch([], key=jax.random.PRNGKey(0), table=table)
