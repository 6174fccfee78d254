"""The quadrature posterior (inference.quadrature): η integrated out exactly, θ on grids.

Independent checks:
1. the η integral against scipy's adaptive quadrature (counts large and small, mode inside
   (0, 1) or on η = 1, with and without dark counts);
2. merging rows with the same mean is exact (the log-likelihood of the merged data plus the
   offset equals the original's);
3. the evidence against a brute-force integral of exp(log_likelihood + log_prior) over
   (η, ln R0, ln Lc) on a fine uniform grid (the package's unnormalised density from
   inference.likelihood, normalised with a truncation mass computed here with scipy);
4. η draws follow the exact conditional p(η | θ, k) (KS test);
5. draws respect the domain; the accuracy check and edge masses are reported;
6. the accuracy check is at least the actual error of the quantiles and of the evidence (also
   of the coarser evidence-only grids), measured against a grid with 9× the cells;
7. without information in the data the posterior is the prior, drawn independently by
   inference.likelihood.sample_prior;
8. the partition of log₁₀ h gives a narrow, skewed marginal of log₁₀ h peaking at a boundary of
   the first partition (its exact CDF from the normal distribution).
"""

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from scipy.special import gammaln

import jaxqpc
from inference import likelihood as lik
from inference import quadrature as quad
from inference.dataset import Dataset

VS, RS, DARK = 0.7, 470.0, 300.0
TRUTH = {"eta": 0.43, "Lc": 0.13, "R0": 1.04, "h": 1.0}


@pytest.fixture(scope="module")
def table():
    return jaxqpc.YieldTable()


def _dataset(table, n=10, bin_time=0.5, seed=0, truth=TRUTH, n_det=2):
    """n powers (N = 3.5 … 7), each measured by n_det detectors with equal dark rates."""
    g0 = jaxqpc.CONDUCTANCE_QUANTUM_S
    n_ch = np.tile(np.linspace(3.5, 7.0, n), n_det)
    power = (VS / (1.0 + RS * n_ch * g0)) ** 2 * n_ch * g0
    ds = Dataset(power=jnp.asarray(power), counts=jnp.zeros(n * n_det), bin_time=jnp.full(n * n_det, bin_time),
                 detector=jnp.repeat(jnp.arange(n_det), n), source_voltage=VS, series_resistance=RS,
                 dark_rate=(DARK,) * n_det)
    mu = jax.jit(lik.expected_counts)(truth, ds, table)
    return eqx.tree_at(lambda d: d.counts, ds, jax.random.poisson(jax.random.PRNGKey(seed), mu).astype(float))


def _scipy_log_marginal(s, d, k):
    ell = lambda eta: float(np.sum(k * np.log(eta * s + d) - eta * s - d - gammaln(k + 1.0)))
    grid = np.linspace(1e-9, 1.0, 20001)
    vals = np.array([ell(x) for x in grid[::200]])
    top = np.max(vals)
    val, _ = scipy.integrate.quad(lambda x: math.exp(ell(x) - top), 0.0, 1.0, epsabs=0, epsrel=1e-12,
                                  limit=400, points=[grid[::200][np.argmax(vals)]])
    return top + math.log(val)


CASES = {
    "many counts, interior mode": (np.linspace(50, 400, 12), np.full(12, 150.0), 0.4),
    "few counts": (np.linspace(0.5, 4, 8), np.full(8, 0.2), 0.6),
    "mode at eta = 1": (np.linspace(5, 40, 10), np.full(10, 20.0), 3.0),
    "no dark counts": (np.linspace(5, 40, 10), np.zeros(10), 0.3),
    "counts below the dark level": (np.linspace(1, 5, 10), np.full(10, 200.0), 0.0),
}


@pytest.mark.parametrize("case", CASES)
def test_eta_integral_matches_scipy(case):
    s, d, eta = CASES[case]
    k = np.random.default_rng(1).poisson(eta * s + d).astype(float)
    got = float(quad.log_marginal_eta(jnp.asarray(s), jnp.asarray(d), jnp.asarray(k))[0])
    assert got == pytest.approx(_scipy_log_marginal(s, d, k), abs=1e-7)


@pytest.mark.parametrize("heat_fraction", [None, "per power"])
def test_merged_rows_give_the_same_log_likelihood(table, heat_fraction):
    """Also with a heat fraction that varies with the power (it is carried with the merged rows)."""
    ds = _dataset(table)
    if heat_fraction is not None:
        ds = dataclasses.replace(ds, heat_fraction=jnp.tile(jnp.linspace(0.5, 0.9, ds.n_rows // 2), 2))
    merged, offset = quad.merge_rows(ds)
    assert merged.n_rows == ds.n_rows // 2
    log_likelihood = jax.jit(lik.log_likelihood)
    for p in [TRUTH, {"eta": 0.9, "Lc": 0.3, "R0": 1.5, "h": 1e-2}]:
        full = float(log_likelihood(p, ds, table))
        assert float(log_likelihood(p, merged, table)) + offset == pytest.approx(full, abs=1e-9)


def _truncation_mass(r0_min):
    """P(R0 >= R0_min, Lc <= 1.5 R0) under the untruncated log-normal priors (scipy)."""
    (_, lc_med, lc_sig), (_, r0_med, r0_sig) = lik.PRIOR["Lc"], lik.PRIOR["R0"]
    f = lambda r0: (scipy.stats.lognorm.pdf(r0, r0_sig, scale=r0_med)
                    * scipy.stats.lognorm.cdf(1.5 * r0, lc_sig, scale=lc_med))
    return scipy.integrate.quad(f, r0_min, np.inf, epsrel=1e-12)[0]


def _brute_force_log_likelihood_of_eta(ds, table, h):
    """(η nodes, log p(k | η) = log ∫ p(k | η, Lc, R0, h) π(Lc, R0) dLc dR0) on a uniform grid in
    (ln R0, ln(Lc/1.5 R0)), trapezoidal, with the truncated prior normalised by scipy."""
    from inference.params import min_radius_nm

    r0_min = float(min_radius_nm(ds))
    a = np.linspace(math.log(r0_min), math.log(r0_min) + 2.5, 101)
    b = np.linspace(-5.0, 0.0, 101)
    eta = np.linspace(0.0, 1.0, 201)[1:]
    A, B = np.meshgrid(a, b, indexing="ij")
    r0, lc = np.exp(A).ravel(), 1.5 * np.exp(A + B).ravel()
    signal = jax.jit(jax.vmap(lambda r, lc_: lik.expected_counts(
        {"eta": 1.0, "R0": r, "Lc": lc_, "h": h}, ds, table) - ds.bin_time * ds.dark_rate_per_row))(r0, lc)
    signal = np.asarray(signal)
    dark = np.asarray(ds.bin_time * ds.dark_rate_per_row)
    k = np.asarray(ds.counts)
    mu = eta[:, None, None] * signal[None] + dark                          # (eta, theta, rows)
    log_like = np.sum(k * np.log(mu) - mu - gammaln(k + 1.0), axis=-1)    # (eta, theta)
    prior = np.asarray(jax.vmap(lambda e, r, lc_: lik.log_prior({"eta": e, "R0": r, "Lc": lc_, "h": h}, h_fixed=True))(
        jnp.full_like(r0, 0.5), r0, lc))
    log_f = log_like + prior[None] + np.log(r0 * lc)[None]                 # density in (eta, a, b)
    top = np.max(log_f, axis=1)
    f = np.exp(log_f - top[:, None]).reshape(eta.size, a.size, b.size)
    integral = np.trapezoid(np.trapezoid(f, b, axis=2), a, axis=1)
    return eta, top + np.log(integral) - math.log(_truncation_mass(r0_min))


def _log_trapezoid(eta, log_f):
    top = np.max(log_f)
    return top + math.log(np.trapezoid(np.exp(log_f - top), eta))


def _brute_force_log_evidence(ds, table, h):
    """log ∫ p(k | η, Lc, R0, h) π(η, Lc, R0) dη dLc dR0 (η uniform on (0, 1])."""
    return _log_trapezoid(*_brute_force_log_likelihood_of_eta(ds, table, h))


@pytest.mark.parametrize("h", [0.0, np.inf])
def test_evidence_matches_brute_force(table, h):
    ds = _dataset(table)
    post = quad.fit_quadrature(ds, key=jax.random.PRNGKey(0), table=table, h=h, n_draws=200)
    brute = _brute_force_log_evidence(ds, table, h)
    assert post.log_evidence == pytest.approx(brute, abs=0.02)
    assert post.log_evidence_error < 0.02


def test_eta_draws_follow_the_exact_conditional(table):
    s = np.linspace(20, 120, 12)
    d = np.full(12, 60.0)
    k = np.random.default_rng(3).poisson(0.35 * s + d).astype(float)
    u = jax.random.uniform(jax.random.PRNGKey(4), (4000,))
    eta = np.asarray(quad._draw_eta(u, jnp.broadcast_to(jnp.asarray(s), (4000, 12)), jnp.asarray(d),
                                    jnp.asarray(k)))
    grid = np.linspace(0.0, 1.0, 4001)[1:]
    log_dens = np.sum(k * np.log(grid[:, None] * s + d) - grid[:, None] * s, axis=1)
    cdf = np.cumsum(np.exp(log_dens - log_dens.max()))
    cdf /= cdf[-1]
    assert scipy.stats.kstest(eta, lambda x: np.interp(x, grid, cdf)).pvalue > 1e-3


def test_example_like_fit_reports_checks_and_respects_the_domain(table):
    from inference.params import min_radius_nm

    ds = _dataset(table, n=16)
    post = quad.fit_quadrature(ds, key=jax.random.PRNGKey(1), table=table, n_draws=4000)
    p = post.params
    assert np.all((p["eta"] > 0) & (p["eta"] <= 1))
    assert np.all(p["R0"] >= float(min_radius_nm(ds)) * (1 - 1e-12))
    assert np.all(p["Lc"] <= 1.5 * p["R0"] * (1 + 1e-12))
    assert np.all((p["h"] >= 1e-3 * (1 - 1e-12)) & (p["h"] <= 1e3 * (1 + 1e-12)))
    grid_warning = any("quantiles of the two grids" in w for w in post.warnings)
    assert grid_warning == (max(post.quantile_shift) > quad.QUANTILE_TOLERANCE)
    assert set(post.edge_mass) == set(quad.EDGES)
    assert post.outer_mass < quad.EDGE_MASS_WARNING
    # grid quantiles and draw quantiles of the same posterior agree (4000 draws: ± ~0.007 in probability)
    for name in ("R0", "Lc"):
        q = post.quantiles[name]
        frac = [np.mean(p[name] <= x) for x in q]
        np.testing.assert_allclose(frac, quad.QUANTILES, atol=0.03)


def _posterior_grid(ds, table, n_rows=None, cells=None):
    """The grids of one dataset (h free), run by the quadrature's own driver."""
    n_rows = n_rows or quad._row_bucket(quad.merge_rows(ds)[0].n_rows)
    data, a_min, _ = quad._prepare(ds, None, n_rows, len(ds.dark_rate))
    return quad._run([quad._posterior_grid(a_min, None, cells)], jax.tree.map(lambda x: x[None], data), table)[0]


def test_grid_check_bounds_the_error_of_the_quantiles(table, monkeypatch):
    """The accuracy check (fine against check grid, in probability) is at least the fine grid's
    actual error, measured against a grid with 9× the cells per slice; so is the evidence's error
    estimate, also that of the coarser grids of an evidence-only fit."""
    ds = _dataset(table, n=16)
    grid = _posterior_grid(ds, table)
    coarse = _posterior_grid(ds, table, cells=quad.EVIDENCE_CELLS)
    monkeypatch.setattr(quad, "FINE_CELLS", (3 * quad.FINE_CELLS[0], 3 * quad.FINE_CELLS[1]))
    ref = _posterior_grid(ds, table)["fine"]
    fine = grid["fine"]
    for i in range(3):  # ln R0, ln Lc, log10 h
        q = quad._soft_quantiles(fine["lo"][:, i], fine["hi"][:, i], fine["w"], quad.QUANTILES)
        cdf = quad._soft_cdf(q, ref["lo"][:, i], ref["hi"][:, i], ref["w"])
        error = np.max(np.abs(cdf - np.asarray(quad.QUANTILES)))
        assert error <= grid["quantile_shift"][i] + 1e-4, i
    for g in (grid, coarse):
        assert abs(g["log_z"] - ref["log_z"]) <= abs(g["log_z"] - g["check_log_z"]) + 1e-4


def test_h_partition_resolves_a_narrow_posterior_at_a_partition_boundary(monkeypatch):
    """A narrow, skewed marginal likelihood of log₁₀ h peaking at 0, a boundary of the first
    partition (sd 0.15 below, 0.07 above): the partition's midpoint rule must give its CDF. (Scoring
    intervals instead of boundaries never split [0, 0.75], judged at +0.375 only: CDF(0) was 1.)"""
    sig_lo, sig_hi = 0.15, 0.07

    def log_z(c):
        return -0.5 * (c / np.where(c < 0, sig_lo, sig_hi)) ** 2

    def zoom(slices, a_min, min_levels):   # the slice evidences, without the physics
        return slices, log_z(np.asarray(slices.c))
        yield

    monkeypatch.setattr(quad, "_zoom_slices", zoom)
    with pytest.raises(StopIteration) as stop:
        next(quad._h_partition(-1.0))
    (slices, lo, hi), _ = stop.value.value
    mass = np.exp(log_z(slices.c)) * (hi - lo)
    x = np.array([-0.3, -0.15, 0.0, 0.07, 0.14])
    cdf = np.interp(x, np.r_[lo, hi[-1]], np.r_[0.0, np.cumsum(mass) / np.sum(mass)])
    w = sig_lo / (sig_lo + sig_hi)
    norm = scipy.stats.norm.cdf
    exact = np.where(x < 0, 2 * w * norm(x / sig_lo), w + (1 - w) * (2 * norm(x / sig_hi) - 1))
    np.testing.assert_allclose(cdf, exact, atol=0.01)


def test_without_data_the_posterior_is_the_prior(table):
    """Counting for 10⁻¹⁸ s sees nothing (zero counts; < 10⁻¹² expected): the likelihood is flat in
    θ, so the quadrature must return the fit's truncated prior, drawn independently by
    inference.likelihood.sample_prior (the prior, its truncation and the coordinates' Jacobian)."""
    from inference.params import to_physical

    ds = _dataset(table)
    ds = eqx.tree_at(lambda d: (d.bin_time, d.counts), ds, (ds.bin_time * 2e-18, ds.counts * 0.0))
    assert float(jnp.max(jax.jit(lik.expected_counts)(TRUTH | {"eta": 1.0}, ds, table))) < 1e-12
    post = quad.fit_quadrature(ds, key=jax.random.PRNGKey(2), table=table, n_draws=200)
    prior = to_physical(lik.sample_prior(jax.random.PRNGKey(3), ds, 200_000), ds)
    for name in ("R0", "Lc", "h"):
        cdf = [np.mean(np.asarray(prior[name]) <= x) for x in post.quantiles[name]]
        np.testing.assert_allclose(cdf, quad.QUANTILES, atol=0.01, err_msg=name)


@pytest.mark.parametrize("kwargs, match", [
    (dict(h=-1.0), "`h` must be None"), (dict(h=float("nan")), "`h` must be None"),
    (dict(n_draws=0), "`n_draws`"), (dict(n_draws=2.5), "`n_draws`"),
])
def test_bad_arguments_are_refused(table, kwargs, match):
    with pytest.raises(ValueError, match=match):
        quad.fit_quadrature(_dataset(table), key=jax.random.PRNGKey(0), table=table, **kwargs)


def test_data_outside_the_domain_are_refused(table):
    ds = _dataset(table)
    ds = eqx.tree_at(lambda d: d.power, ds, ds.power.at[0].set(1.0))  # 1 W > V_s²/4R_s: no conductance gives it
    with pytest.raises(ValueError):
        quad.fit_quadrature(ds, key=jax.random.PRNGKey(0), table=table)


def test_compiled_ahead_programs_are_not_compiled_again(table, monkeypatch, caplog):
    """The grids' and draws' programs compiled ahead of time (:func:`quad._compile_ahead`, which
    jaxqpc fit runs in a thread beside the physics' compilation) are those the fit calls: with cell
    shapes no other test uses, an evidence-only and a full fit after it lower none of them again."""
    import logging

    for name, cells in (("COARSE_CELLS", (12, 14)), ("FINE_CELLS", (34, 46)), ("CHECK_CELLS", (22, 30)),
                        ("EVIDENCE_CELLS", ((22, 30), (18, 22)))):
        monkeypatch.setattr(quad, name, cells)
    monkeypatch.setattr(quad, "_first_of_shape", lambda *args: False)
    ds = _dataset(table)
    n_rows, n_draws, key = quad._row_bucket(quad.merge_rows(ds)[0].n_rows), 321, jax.random.PRNGKey(5)
    quad._compile_ahead(n_rows, n_draws, jax.eval_shape(lambda k: jax.random.split(k)[0], key))
    ahead = ("_zoom", "_grid", "_masses", "_draw_points", "_draw_eta")
    with caplog.at_level(logging.WARNING), jax.log_compiles(True):
        for evidence_only in (True, False):
            quad.fit_quadrature(ds, key=key, table=table, n_draws=n_draws, evidence_only=evidence_only)
    lowered = {m.split("jit(")[1].split(")")[0] for m in caplog.messages if m.startswith("Compiling jit(")}
    assert lowered.isdisjoint(ahead), lowered
