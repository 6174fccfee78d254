"""Many datasets with the default posterior: padded rows, ragged batches, and a shared η.

The checks of inference.quadrature's batch driver (padding changes nothing; a batch equals its
single fits) and of inference.hierarchical (one contact is its own fit; two contacts against a
brute-force grid). A module of its own so that, under pytest-xdist's ``--dist loadfile``, it runs
beside tests/test_quadrature.py. Helpers and data: tests/test_quadrature.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from inference import quadrature as quad
from tests.test_quadrature import TRUTH, _brute_force_log_likelihood_of_eta, _dataset, _log_trapezoid


@pytest.fixture(scope="module")
def table():
    return jaxqpc.YieldTable()


def test_padding_changes_no_result(table, monkeypatch):
    """Rows padded to a larger bucket (mask 0), and a padded third detector, change the log
    posterior by ≤ 1e-12 relative at any θ, and the fit's evidence, quantiles and draws (same key)
    not beyond round-off."""
    ds = _dataset(table)
    points = np.stack(np.meshgrid(np.linspace(0.5, 1.5, 5), np.linspace(-3.0, -0.1, 4), [-1.0, 2.0]),
                      axis=-1).reshape(-1, 3)
    lps = []
    for n_rows, n_det in ((16, 2), (32, 3)):
        data, _, _ = quad._prepare(ds, None, n_rows, n_det)
        lps.append(np.asarray(jax.jit(quad._evaluate)(jnp.asarray(points), data, table)[0]))
    assert np.all(np.isfinite(lps[0]))
    np.testing.assert_allclose(lps[1], lps[0], rtol=1e-12, atol=0)
    small = quad.fit_quadrature(ds, key=jax.random.PRNGKey(3), table=table, h=0.0, n_draws=200)
    monkeypatch.setattr(quad, "MIN_ROWS", 64)  # the example's bucket: its programs are the suite's
    large = quad.fit_quadrature(ds, key=jax.random.PRNGKey(3), table=table, h=0.0, n_draws=200)
    assert large.log_evidence == pytest.approx(small.log_evidence, rel=1e-12)
    for k in ("Lc", "R0"):
        np.testing.assert_allclose(large.quantiles[k], small.quantiles[k], rtol=1e-9)
    for k in small.params:
        np.testing.assert_allclose(large.params[k], small.params[k], rtol=1e-9)


def test_a_ragged_batch_equals_the_single_fits(table):
    """Datasets of different rows (6, 10 and 5 merged rows, padded to 16) fitted in one batch give
    each the result of its own fit with the same key."""
    sets = [_dataset(table, n=6, seed=1), _dataset(table, n=10, seed=2), _dataset(table, n=5, seed=3)]
    key = jax.random.PRNGKey(5)
    batch = quad.fit_quadrature_batch(sets, key=key, table=table, h=0.0, n_draws=200, batch_size=4)
    for ds, k, b in zip(sets, jax.random.split(key, len(sets)), batch):
        single = quad.fit_quadrature(ds, key=k, table=table, h=0.0, n_draws=200)
        assert b.log_evidence == pytest.approx(single.log_evidence, rel=1e-12)
        for name in single.params:
            np.testing.assert_allclose(b.params[name], single.params[name], rtol=1e-9)


def test_shared_eta_of_one_contact_is_its_own_fit(table):
    """One contact: ∫ L(η) dη on the η grid is its own evidence (to 1e-3), the geometry its own
    marginals."""
    from inference.hierarchical import fit_shared_eta

    ds = _dataset(table)
    own = quad.fit_quadrature(ds, key=jax.random.PRNGKey(0), table=table, h=0.0, n_draws=4000)
    shared = fit_shared_eta([ds], key=jax.random.PRNGKey(1), table=table, h=0.0, n_draws=1600)
    assert shared.log_evidence == pytest.approx(own.log_evidence, abs=1e-3)  # 128 η nodes, midpoint rule
    assert shared.ln_bayes_factor == pytest.approx(0.0, abs=1e-3) and not shared.warnings
    # quantiles located among the own fit's 4000 draws (Monte Carlo: ≤ 0.008 at 97.5 %, 3 σ; the η
    # mixture of ETA_BINS conditionals adds its own error), in probability
    for name, q in [("eta", shared.eta_quantiles)] + [(k, shared.contacts[0].quantiles[k]) for k in ("Lc", "R0")]:
        frac = [np.mean(own.params[name] <= x) for x in q]
        np.testing.assert_allclose(frac, quad.QUANTILES, atol=0.02, err_msg=name)
    assert shared.contacts[0].params["Lc"].shape == (1600,)


def test_shared_eta_of_two_contacts_matches_brute_force(table):
    """Two contacts with one η: ln Z_shared and the η posterior against a brute-force grid in
    (η, ln R0, ln(Lc/1.5 R0)) per contact, multiplied over contacts in η."""
    from inference.hierarchical import fit_shared_eta

    sets = [_dataset(table, seed=4), _dataset(table, n=8, seed=5, truth=TRUTH | {"Lc": 0.5, "R0": 1.6})]
    shared = fit_shared_eta(sets, key=jax.random.PRNGKey(2), table=table, h=0.0, n_draws=320)
    eta, log_like = None, 0.0
    for ds in sets:
        eta, ll = _brute_force_log_likelihood_of_eta(ds, table, 0.0)
        log_like = log_like + ll
    assert shared.log_evidence == pytest.approx(_log_trapezoid(eta, log_like), abs=0.03)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * np.diff(eta) * (np.exp(log_like[1:] - log_like.max())
                                                                 + np.exp(log_like[:-1] - log_like.max())))])
    brute_q = np.interp(quad.QUANTILES, cdf / cdf[-1], eta)
    np.testing.assert_allclose(shared.eta_quantiles, brute_q, atol=0.01)
    assert shared.ln_bayes_factor == pytest.approx(
        shared.log_evidence - sum(c.log_evidence for c in shared.contacts), abs=1e-9)
