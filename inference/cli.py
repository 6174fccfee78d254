"""``jaxqpc fit``: a MAP fit of (η, Lc, R0, h) with Laplace uncertainties, and its report.

:mod:`jaxqpc.cli` parses the arguments and calls :func:`run_fit` (imported only
when the command runs). Output files in ``--out``: summary.json,
predictions.csv, fit.png, corner.png (see :mod:`inference.report`). Progress
goes to stderr, the written paths to stdout. User errors raise
:class:`FitUsageError` (the command prints the message and exits with 2).
"""

import os
import sys
import time

__all__ = ["FitUsageError", "run_fit", "N_DRAWS"]

N_DRAWS = 4000
"""Number of Laplace draws for the summaries, the predictive band and the corner plot."""


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
    if args.method != "map":
        raise FitUsageError(f"--method {args.method}: not implemented yet (MAP only in this release)")
    if args.example and args.data is not None:
        raise FitUsageError("give either a DATA file or --example, not both")
    if not args.example and args.data is None:
        raise FitUsageError("give a DATA file (CSV) or --example")
    if args.starts < 1:
        raise FitUsageError(f"--starts must be >= 1, got {args.starts}")
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

    from .optimize import fit_map, laplace_draws

    table = jaxqpc.YieldTable()
    key_fit, key_draws = jax.random.split(jax.random.PRNGKey(args.seed))
    _progress(f"compiling and fitting: MAP from {args.starts} starts (the first run compiles, "
              "~10 s)")
    try:
        result = fit_map(dataset, key=key_fit, table=table, n_starts=args.starts)
    except ValueError as err:  # e.g. data outside the model's domain
        raise FitUsageError(f"{data_path}: {err}") from None
    _progress(f"fit done in {result.wall_s:.1f} s; log-likelihood {result.log_likelihood:.2f}, "
              f"{100 * result.fraction_near_best:.0f} % of the starts within 1 nat of the best")
    if not result.hessian_ok:
        raise FitUsageError("the Hessian at the MAP is not positive definite: no Laplace "
                            "approximation (try more --starts or check the data)")

    draws = laplace_draws(result, dataset, key_draws, n=N_DRAWS)
    _progress(f"predicting the expected counts for {N_DRAWS} Laplace draws")
    predicted = report.predictive_counts(draws, dataset, table)

    _progress(f"writing to {out}")
    os.makedirs(out, exist_ok=True)
    summary = report.build_summary(data=data_path, dataset=dataset, result=result, draws=draws,
                                   metadata=metadata, n_starts=args.starts, wall_s=result.wall_s,
                                   truth=truth)
    paths = [
        report.write_summary(summary, os.path.join(out, "summary.json")),
        report.write_predictions(dataset, predicted, os.path.join(out, "predictions.csv")),
        report.plot_fit(dataset, predicted, os.path.join(out, "fit.png")),
        report.plot_corner(draws, os.path.join(out, "corner.png"), truth=truth, map_params=result.params),
    ]
    for p in paths:
        print(p, flush=True)
    _progress(f"done in {time.perf_counter() - t_total:.1f} s")
    return 0
