"""ArviZ output, convergence diagnostics and LOO model comparison of Bayesian fits.

ArviZ version. The package pins ArviZ 0.23 (``InferenceData``, the last
series that runs on Python 3.11; ArviZ ≥ 1.0 is built on xarray's DataTree
and needs Python ≥ 3.12). One API is supported rather than two: 0.23 also
installs on 3.12+, so every supported Python gets the same code path.

Diagnostics (:func:`diagnose`), on all draws after warm-up, treating each
NUTS chain or ensemble walker as a chain (ArviZ's convention for emcee):

* rank-normalised split R-hat (Vehtari et al. 2021); warning above
  :data:`RHAT_MAX` = 1.01;
* bulk and tail effective sample sizes; warning below :data:`ESS_MIN` = 400;
* divergent NUTS transitions; warning when there is any.

Rank normalisation makes R-hat and bulk ESS invariant under monotone maps,
so they are the same for η, Lc, R0, h and for the unconstrained ``u``.

Model comparison (:func:`compare_h_models`): the three side-wall models of
:data:`inference.sample.H_MODELS` (h free with its log-uniform prior, h → 0,
h → ∞) are fitted and compared by PSIS-LOO (``arviz.compare``): expected log
pointwise predictive density, its standard error and the difference to the
best model with the standard error of that difference. Differences smaller
than ~2 standard errors do not distinguish the models; at Lc/R0 ≈ 1/8 the two
limits differ by < 10⁻⁷ in the counts (docs/errata-buret2020.md), so equal elpd there
means "h is not measurable", which the summary says.
"""

import functools
import math
import warnings

import jax
import numpy as np

with warnings.catch_warnings():  # 0.23 announces the 1.0 migration on import
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

from .likelihood import replicate_counts, sample_prior
from .params import PARAM_NAMES, to_physical
from .quadrature import BOOKKEEPING_XLA
from .sample import H_MODELS, Posterior, expected_counts_draws, fit_posterior, log_likelihood_of_expected

__all__ = [
    "RHAT_MAX",
    "ESS_MIN",
    "MAX_IDATA_DRAWS",
    "thin",
    "to_inference_data",
    "diagnose",
    "compare_h_models",
    "MODEL_LABELS",
]

RHAT_MAX = 1.01
"""R-hat above this is reported as not converged (Vehtari et al. 2021)."""

ESS_MIN = 400
"""Bulk or tail ESS below this is reported as too few effective draws."""

MAX_IDATA_DRAWS = 4000
"""Draws kept (evenly thinned) for the InferenceData, the predictive checks and PSIS-LOO."""

MODEL_LABELS = {"free": "h free (log-uniform 1e-3..1e3)", "zero": "h -> 0 (Eq. 5, corrected)",
                "infinite": "h -> inf (Eq. 4)"}


def thin(posterior, max_draws=MAX_IDATA_DRAWS):
    """The posterior with every k-th draw of each chain kept, so that chains·draws ≤ ``max_draws``."""
    per_chain = max(1, max_draws // posterior.n_chains)
    step = math.ceil(posterior.n_draws / per_chain)
    if step == 1:
        return posterior
    sl = (slice(None), slice(None, None, step))
    return Posterior(sampler=posterior.sampler, h_model=posterior.h_model, u=posterior.u[sl],
                     params={k: v[sl] for k, v in posterior.params.items()},
                     diverging=posterior.diverging[sl], num_steps=posterior.num_steps[sl],
                     num_warmup=posterior.num_warmup, wall_s=posterior.wall_s,
                     expected=None if posterior.expected is None else posterior.expected[sl])


@functools.partial(jax.jit, static_argnums=2, compiler_options=BOOKKEEPING_XLA)
def _prior_draws(key, dataset, n):
    """``n`` draws of the truncated prior, physical (h free: one program serves every h model, whose
    η, Lc and R0 draws are these)."""
    return to_physical(sample_prior(key, dataset, n), dataset)


def to_inference_data(posterior, dataset, table, *, key, model="poisson", concentration=None,
                      max_draws=MAX_IDATA_DRAWS):
    """An ``arviz.InferenceData`` of a fit (evenly thinned to ≤ ``max_draws`` draws).

    Groups: ``posterior`` (eta, Lc, R0, h), ``log_likelihood`` (``counts``,
    per row: PSIS-LOO), ``posterior_predictive`` (``counts``: replicated data;
    ``expected_counts``: μ_i per draw), ``observed_data`` (``counts``),
    ``constant_data`` (``power``, ``bin_time``, ``detector``), ``sample_stats``
    (``diverging``, ``n_steps``) and ``prior`` (draws of the truncated prior).
    """
    p = thin(posterior, max_draws)
    k_rep, k_prior = jax.random.split(key)
    mu = expected_counts_draws(p.params, dataset, table) if p.expected is None else p.expected
    log_lik = log_likelihood_of_expected(mu, dataset, model=model, concentration=concentration)
    free = [k for k in PARAM_NAMES if not (k == "h" and p.h is not None)]  # a fixed h is no parameter
    prior_draws = _prior_draws(k_prior, dataset, max_draws)
    prior = {k: np.asarray(prior_draws[k])[None] for k in free}
    row = {"counts": ["row"], "expected_counts": ["row"], "power": ["row"], "bin_time": ["row"],
           "detector": ["row"]}
    return az.from_dict(
        posterior={k: p.params[k] for k in free},
        log_likelihood={"counts": log_lik},
        posterior_predictive={"counts": replicate_counts(k_rep, mu, model=model,
                                                                   concentration=concentration),
                              "expected_counts": mu},
        observed_data={"counts": np.asarray(dataset.counts)},
        constant_data={"power": np.asarray(dataset.power), "bin_time": np.asarray(dataset.bin_time),
                       "detector": np.asarray(dataset.detector)},
        sample_stats={"diverging": p.diverging, "n_steps": p.num_steps},
        prior=prior,
        dims=row,
        coords={"row": np.arange(dataset.n_rows)},
    )


def diagnose(posterior):
    """R-hat, bulk/tail ESS per parameter, divergences and warnings (a JSON-ready dict).

    Computed on all draws after warm-up; ``ess_per_second`` is the smallest bulk
    ESS divided by the sampling wall time (compilation included).
    """
    names = [k for k in PARAM_NAMES if not (k == "h" and posterior.h is not None)]
    data = az.from_dict(posterior={k: posterior.params[k] for k in names})
    rhat = az.rhat(data)
    bulk = az.ess(data, method="bulk")
    tail = az.ess(data, method="tail")
    out = {
        "sampler": posterior.sampler,
        "chains": posterior.n_chains,
        "chain_kind": "chains" if posterior.sampler == "nuts" else "walkers of one ensemble",
        "draws_per_chain": posterior.n_draws,
        "warmup_per_chain": posterior.num_warmup,
        "wall_s": posterior.wall_s,
        "r_hat": {k: float(rhat[k]) for k in names},
        "ess_bulk": {k: float(bulk[k]) for k in names},
        "ess_tail": {k: float(tail[k]) for k in names},
        "divergences": int(np.sum(posterior.diverging)),
    }
    if posterior.sampler == "nuts":
        out["mean_leapfrog_steps"] = float(np.mean(posterior.num_steps))
    out["min_ess_bulk"] = min(out["ess_bulk"].values())
    out["ess_per_second"] = out["min_ess_bulk"] / posterior.wall_s
    warn = []
    bad = [k for k in names if not out["r_hat"][k] <= RHAT_MAX]
    if bad:
        warn.append(f"R-hat > {RHAT_MAX} for {', '.join(bad)}: the chains disagree; run longer "
                    "(more --samples/--warmup) before trusting the intervals (long curved ridges, "
                    "e.g. a long hot cylinder Lc/R0 > 0.15, can defeat every sampler here: README, "
                    "Calibration)")
    low = [k for k in names if not min(out["ess_bulk"][k], out["ess_tail"][k]) >= ESS_MIN]
    if low:
        warn.append(f"bulk or tail ESS < {ESS_MIN} for {', '.join(low)}: too few effective draws "
                    "for stable 95 % intervals; run longer")
    if out["divergences"]:
        warn.append(f"{out['divergences']} divergent transitions: the sampler missed part of the "
                    "posterior; raise target_accept or use the ensemble sampler")
    out["warnings"] = warn
    out["converged"] = not warn
    return out


def compare_h_models(dataset, *, key, table, posteriors=None, model="poisson", concentration=None,
                     **options):
    """PSIS-LOO comparison of h free, h → 0 and h → ∞ (``arviz.compare``).

    Args:
        dataset, table, model, concentration: as :func:`inference.sample.fit_posterior`.
        key: ``jax.random`` key.
        posteriors: optional dict h_model → :class:`~inference.sample.Posterior` already
            fitted (e.g. the main fit, ``{"free": post}``); the missing models are fitted
            here with ``options`` (passed to :func:`~inference.sample.fit_posterior`).
    Returns:
        (comparison, idata): ``comparison`` is a JSON-ready dict with ``models`` (rows sorted
        best first: ``model``, ``label``, ``rank``, ``elpd_loo``, ``se``, ``p_loo``,
        ``elpd_diff``, ``dse``, ``weight``, ``pareto_k_max``) and ``conclusion`` (a sentence);
        ``idata`` maps h_model → InferenceData.
    """
    posteriors = dict(posteriors or {})
    keys = dict(zip(H_MODELS, jax.random.split(key, len(H_MODELS))))
    idata = {}
    for name in H_MODELS:
        if name not in posteriors:
            posteriors[name] = fit_posterior(dataset, key=keys[name], table=table, h_model=name,
                                             model=model, concentration=concentration, **options)
        idata[name] = to_inference_data(posteriors[name], dataset, table,
                                        key=jax.random.fold_in(keys[name], 7), model=model,
                                        concentration=concentration)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pareto-k warnings are reported in the table instead
        loo = {name: az.loo(idata[name], pointwise=True) for name in idata}
        table_df = az.compare(loo, ic="loo")
    rows = []
    for name, r in table_df.iterrows():
        rows.append({
            "model": name, "label": MODEL_LABELS[name], "rank": int(r["rank"]),
            "elpd_loo": float(r["elpd_loo"]), "se": float(r["se"]), "p_loo": float(r["p_loo"]),
            "elpd_diff": float(r["elpd_diff"]), "dse": float(r["dse"]), "weight": float(r["weight"]),
            "pareto_k_max": float(np.max(loo[name].pareto_k)),
        })
    return {"method": "PSIS-LOO (arviz.compare)", "models": rows, "conclusion": _conclusion(rows)}, idata


def _conclusion(rows):
    """Distinguishable when the best beats every other by > 4 nats and > 2 standard errors."""
    best, others = rows[0], rows[1:]
    bad_k = [r["model"] for r in rows if r["pareto_k_max"] > 0.7]
    note = (f" PSIS-LOO is unreliable for {', '.join(bad_k)} (Pareto k > 0.7)." if bad_k else "")
    if all(r["elpd_diff"] > max(4.0, 2.0 * r["dse"]) for r in others):
        return f"the data prefer {best['label']}." + note
    close = [r["label"] for r in others if not r["elpd_diff"] > max(4.0, 2.0 * r["dse"])]
    return (f"the data do not distinguish {best['label']} from {', '.join(close)} "
            "(elpd difference < 4 or < 2 standard errors): h is not measurable here." + note)
