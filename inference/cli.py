"""``jaxqpc fit``: a Bayesian (default) or MAP fit of (η, Lc, R0, h), and its report.

:mod:`jaxqpc.cli` parses the arguments and calls :func:`run_fit` (imported only
when the command runs). Every method starts with the multi-start MAP
(``inference.optimize``); ``--method map`` stops there and reports Laplace
draws, ``aies`` (default), ``ess`` and ``nuts`` sample the posterior with
NumPyro (``inference.sample``), report ArviZ diagnostics and, unless
``--no-compare``, the PSIS-LOO comparison of h free, h → 0 and h → ∞
(``inference.diagnostics``). Output files in ``--out``: summary.json,
predictions.csv, fit.png, corner.png (see :mod:`inference.report`). Progress
goes to stderr, the written paths to stdout. User errors raise
:class:`FitUsageError` (the command prints the message and exits with 2).
"""

import os
import sys
import time

__all__ = ["FitUsageError", "run_fit", "N_DRAWS"]

N_DRAWS = 4000
"""Number of Laplace draws (``--method map``) for the summaries, the band and the corner plot."""


class FitUsageError(Exception):
    """A user-facing error of ``jaxqpc fit`` (message printed, exit code 2)."""


def _progress(msg):
    print(f"jaxqpc fit: {msg}", file=sys.stderr, flush=True)


def _prepare_out(out, force):
    out = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise FitUsageError(f"--out {out!r} exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out) and not force:
        raise FitUsageError(f"refusing to write into the non-empty directory {out} "
                            "(use --force to overwrite, or choose another --out)")
    return out


def run_fit(args):
    """Run a fit from parsed arguments (attributes as in :func:`jaxqpc.cli.build_parser`)."""
    if args.example and args.data is not None:
        raise FitUsageError("give either a DATA file or --example, not both")
    if not args.example and args.data is None:
        raise FitUsageError("give a DATA file (CSV) or --example")
    if args.starts < 1:
        raise FitUsageError(f"--starts must be >= 1, got {args.starts}")
    for name in ("warmup", "samples", "walkers", "chains"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            raise FitUsageError(f"--{name} must be positive, got {value}")
    out = _prepare_out(args.out, args.force)

    t_total = time.perf_counter()
    import jax

    from . import report
    from .data import DataError, example_metadata, example_path, load_csv, load_example
    from .data import _metadata_dict

    truth = None
    try:
        if args.example:
            overrides = [n for n in ("bias", "series_resistance", "dark_rate", "lattice_temperature")
                         if getattr(args, n) is not None]
            if overrides:
                raise FitUsageError("--example uses the metadata bundled with it; drop "
                                    + ", ".join("--" + n.replace("_", "-") for n in overrides))
            data_path = example_path()
            _progress(f"loading the bundled example {data_path}")
            dataset = load_example()
            truth = example_metadata().get("truth")
        else:
            data_path = os.path.abspath(args.data)
            _progress(f"loading {data_path}")
            dataset = load_csv(data_path, source_voltage=args.bias,
                               series_resistance=args.series_resistance, dark_rate=args.dark_rate,
                               lattice_temperature=args.lattice_temperature)
    except (DataError, FileNotFoundError) as err:
        raise FitUsageError(str(err)) from None
    metadata = _metadata_dict(dataset)
    _progress(f"{dataset.n_rows} rows, {len(dataset.dark_rate)} detector(s), V_s = "
              f"{dataset.source_voltage:g} V, R_s = {dataset.series_resistance:g} Ω")

    import jaxqpc

    from .likelihood import replicate_counts
    from .optimize import fit_map, laplace_draws
    from .sample import expected_counts_draws

    table = jaxqpc.YieldTable()
    key_fit, key_draws, key_rep = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    _progress(f"MAP from {args.starts} starts (the first run compiles, ~10 s)")
    try:
        result = fit_map(dataset, key=key_fit, table=table, n_starts=args.starts)
    except ValueError as err:  # e.g. data outside the model's domain
        raise FitUsageError(f"{data_path}: {err}") from None
    _progress(f"MAP done in {result.wall_s:.1f} s; log-likelihood {result.log_likelihood:.2f}, "
              f"{100 * result.fraction_near_best:.0f} % of the starts within 1 nat of the best")
    if not result.hessian_ok:
        raise FitUsageError("the Hessian at the MAP is not positive definite: no Laplace "
                            "approximation (try more --starts or check the data)")
    diagnostics = report.map_diagnostics(result, args.starts)
    comparison = None
    if args.method == "map":
        draws = laplace_draws(result, dataset, key_draws, n=N_DRAWS)
        _progress(f"predicting the expected counts for {N_DRAWS} Laplace draws")
        predicted = expected_counts_draws(draws, dataset, table)
        replicated = replicate_counts(key_rep, predicted)
        source, title = "Laplace draws", "MAP fit (Laplace predictive band of the expected counts)"
    else:
        draws, predicted, replicated, diagnostics, comparison = _bayes(
            args, dataset, table, result, key_draws, diagnostics)
        source = f"{args.method.upper()} posterior draws"
        title = f"Bayesian fit ({args.method.upper()}): posterior band of the expected counts"

    _progress(f"writing to {out}")
    os.makedirs(out, exist_ok=True)
    summary = report.build_summary(method=args.method, data=data_path, dataset=dataset,
                                   map_result=result, draws=draws, metadata=metadata,
                                   diagnostics=diagnostics, model_comparison=comparison, truth=truth)
    paths = [
        report.write_summary(summary, os.path.join(out, "summary.json")),
        report.write_predictions(dataset, predicted, replicated, os.path.join(out, "predictions.csv")),
        report.plot_fit(dataset, predicted, os.path.join(out, "fit.png"), title=title),
        report.plot_corner(draws, os.path.join(out, "corner.png"), source=source, truth=truth,
                           map_params=result.params),
    ]
    for p in paths:
        print(p, flush=True)
    for w in diagnostics.get("warnings", []):
        _progress("WARNING: " + w)
    for name, entry in summary["identifiability"].items():
        if entry["posterior_to_prior_width"] > report.H_UNCONSTRAINED_RATIO:
            _progress("note: " + entry["note"])
    _progress(f"done in {time.perf_counter() - t_total:.1f} s")
    return 0


def _bayes(args, dataset, table, result, key, map_diagnostics):
    """The Bayesian fit (draws, expected and replicated counts), its diagnostics and (unless
    --no-compare) the h-model comparison."""
    import jax
    import numpy as np

    from .diagnostics import compare_h_models, diagnose, to_inference_data
    from .sample import fit_posterior

    options = dict(sampler=args.method, num_warmup=args.warmup, num_samples=args.samples,
                   walkers=args.walkers, chains=args.chains, progress=True)
    k_fit, k_idata, k_cmp = jax.random.split(key, 3)
    _progress(f"sampling the posterior with {args.method.upper()} (compiles first, ~5-20 s)")
    post = fit_posterior(dataset, key=k_fit, table=table, maps=result, **options)
    diagnostics = diagnose(post)
    diagnostics["map"] = map_diagnostics
    _progress(f"sampled in {post.wall_s:.1f} s: min bulk ESS {diagnostics['min_ess_bulk']:.0f}, "
              f"max R-hat {max(diagnostics['r_hat'].values()):.3f}, "
              f"{diagnostics['divergences']} divergences")
    idata = to_inference_data(post, dataset, table, key=k_idata)
    draws = {k: np.asarray(idata.posterior[k]).reshape(-1) for k in post.params}
    predicted, replicated = (np.asarray(idata.posterior_predictive[name]).reshape(-1, dataset.n_rows)
                             for name in ("expected_counts", "counts"))
    comparison = None
    if not args.no_compare:
        _progress("model comparison: fitting h -> 0 and h -> inf for PSIS-LOO")
        # the two limits only feed PSIS-LOO (≤ 4000 thinned draws): a quarter of the draws suffice
        options["num_samples"] = max(post.n_draws // 4, 1)
        comparison, _ = compare_h_models(dataset, key=k_cmp, table=table, posteriors={"free": post},
                                         maps=result, **options)
        _progress("model comparison: " + comparison["conclusion"])
    return draws, predicted, replicated, diagnostics, comparison
