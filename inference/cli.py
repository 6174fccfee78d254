"""The ``jaxqpc`` command: one parser owns every flag and what it means.

Subcommands::

    jaxqpc fit DATA.csv --source-voltage V --series-resistance OHM [--dark-rate R]
               [--lattice-temperature K] [--method quadrature|aies|ess|nuts|map]
               [--heat-input drain|landauer [--transmission constant|saddle]] --out DIR [--force]
    jaxqpc fit --example --out DIR          the bundled simulated dataset
    jaxqpc fit-batch PATH_OR_GLOB [--metadata FILE] [metadata flags] --out DIR [--force] [--resume]
                     [--hierarchical] [--distributed [--coordinator HOST:PORT --num-processes N --process-id I]]
                                            every CSV: results.csv, fleet.png, one directory per contact
    jaxqpc figures qpc --out DIR [--low-res] [--force]        Blaas-Anselmi et al. 2022, Figs. 2-5
    jaxqpc figures emission --out DIR [--low-res] [--force] [--printed-eq5]
                                            Buret et al. 2020, Figs. 3B, 5, 6 and the heat input
    jaxqpc figures qpc-exact --out DIR [--low-res] [--force]  the exact QPC (mode matching) vs Eqs. 18-20
    jaxqpc --version

The command line is the application layer: it imports ``jaxqpc`` (physics)
and the rest of ``inference`` (fitting); neither imports it. Double precision
(``jax_enable_x64``) is switched on here for every command; the library itself
never flips that global flag. Compiled programs are kept on disk between runs
(JAX's persistent compilation cache, ``$JAXQPC_CACHE_DIR`` or
``~/.cache/jaxqpc/xla``; ``JAXQPC_CACHE_DIR=""`` turns it off). Heavy modules (matplotlib, the figure code, the
samplers) are imported only by the subcommand that needs them.

Output directories (``fit`` and ``figures`` alike): ``--out`` is created if
missing; an existing non-empty directory is refused unless ``--force`` is
given, and then only the command's own files in it are replaced.

Exit codes: 0 on success, 2 on a usage error (messages start with
``jaxqpc: error:``). Progress goes to stderr, the written paths to stdout.
Documentation: ``docs/fitting.md`` (fit), ``docs/batch-gpu.md`` (fit-batch) and ``docs/qpc.md``,
``docs/emission.md`` (figures).
"""

import argparse
import functools
import gc
import json
import os
import pathlib
import sys
import time
import warnings

__all__ = ["main", "build_parser", "prepare_out", "UsageError", "N_DRAWS"]

EXIT_USAGE = 2

N_DRAWS = 4000
"""Number of Laplace draws (``--method map``) for the summaries, the band and the corner plot."""


class UsageError(Exception):
    """A user-facing error of the command: its message is printed and the exit code is 2."""


def _progress(msg, command="fit"):
    print(f"jaxqpc {command}: {msg}", file=sys.stderr, flush=True)


def prepare_out(out, force):
    """The absolute output directory ``out``, checked before any work (created by the caller when
    it writes, so a failing command leaves nothing behind).

    Raises :class:`UsageError` if ``out`` is a file, or an existing non-empty
    directory and ``force`` is false: nothing the user has is overwritten
    without asking.
    """
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out {out!r} exists and is not a directory")
    if os.path.isdir(path) and os.listdir(path) and not force:
        raise UsageError(f"refusing to overwrite: the output directory {path} is not empty "
                         "(use --force to write into it, or choose another --out)")
    return path


def _figures(args):
    from jaxqpc.figures import emission, qpc, qpc_exact  # lazy: matplotlib and the figure code

    module = {"qpc": qpc, "emission": emission, "qpc-exact": qpc_exact}[args.paper]
    options = {"printed_eq5": args.printed_eq5} if args.paper == "emission" else {}
    out = prepare_out(args.out, args.force)
    os.makedirs(out, exist_ok=True)
    resolution = "low" if args.low_res else "full"
    start = time.perf_counter()
    for path in module.make_figures(out, resolution=resolution, **options):
        print(path, flush=True)
    print(f"wrote {len(module.FIGURE_FILES)} figures ({resolution} resolution) in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def run_fit(args):
    """``jaxqpc fit``: load, posterior (quadrature; or MAP then MCMC or Laplace), report (arguments as
    parsed by :func:`build_parser`)."""
    if args.example and args.data is not None:
        raise UsageError("give either a DATA file or --example, not both")
    if not args.example and args.data is None:
        raise UsageError("give a DATA file (CSV) or --example")
    if args.starts < 1:
        raise UsageError(f"--starts must be >= 1, got {args.starts}")
    for name in ("warmup", "samples", "walkers", "chains"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            raise UsageError(f"--{name} must be positive, got {value}")
    if args.method in ("quadrature", "map"):
        given = [n for n in ("warmup", "samples", "walkers", "chains") if getattr(args, n) is not None]
        if given:
            raise UsageError(f"--method {args.method} draws no chains: drop "
                             + ", ".join("--" + n for n in given))
    if args.transmission != "constant" and args.heat_input != "landauer":
        raise UsageError("--transmission only applies with --heat-input landauer")
    out = prepare_out(args.out, args.force)

    t_total = time.perf_counter()
    import jax

    from . import report
    from .data import DataError, example_metadata, example_path, load_csv, load_example
    from .data import _metadata_dict

    truth = None
    try:
        if args.example:
            overrides = [n for n in ("source_voltage", "series_resistance", "dark_rate", "lattice_temperature")
                         if getattr(args, n) is not None]
            if overrides:
                raise UsageError("--example uses the metadata bundled with it; drop "
                                    + ", ".join("--" + n.replace("_", "-") for n in overrides))
            data_path = example_path()
            _progress(f"loading the bundled example {data_path}")
            dataset = load_example()
            truth = example_metadata().get("truth")
        else:
            data_path = os.path.abspath(args.data)
            _progress(f"loading {data_path}")
            dataset = load_csv(data_path, spelling=_FLAG_SPELLING, source_voltage=args.source_voltage,
                               series_resistance=args.series_resistance, dark_rate=args.dark_rate,
                               lattice_temperature=args.lattice_temperature)
        dataset = _with_heat_input(dataset, args.heat_input, args.transmission, data_path)
    except (DataError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    metadata = _metadata_dict(dataset)
    heat_input = args.heat_input if args.heat_input == "drain" else f"landauer ({args.transmission} transmission)"
    _progress(f"{dataset.n_rows} rows, {len(dataset.dark_rate)} detector(s), V_s = "
              f"{dataset.source_voltage:g} V, R_s = {dataset.series_resistance:g} Ω")

    import jaxqpc

    from .likelihood import replicate_counts
    from .optimize import laplace_draws
    from .sample import expected_counts_draws

    table = jaxqpc.YieldTable()
    key_fit, key_draws, key_rep = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    result, comparison, evidence = None, None, None
    if args.method == "quadrature":
        draws, predicted, replicated, diagnostics, comparison, evidence, idata = _quadrature(
            args, dataset, table, key_draws, data_path)
        source = "quadrature posterior draws"
        title = "Bayesian fit (quadrature): posterior band of the expected counts"
    else:
        result = _map(args, dataset, table, key_fit, data_path)
        diagnostics = report.map_diagnostics(result, args.starts)
    if args.method == "map":
        draws = laplace_draws(result, dataset, key_draws, n=N_DRAWS)
        _progress(f"predicting the expected counts for {N_DRAWS} Laplace draws")
        predicted = expected_counts_draws(draws, dataset, table)
        replicated = replicate_counts(key_rep, predicted)
        source, title = "Laplace draws", "MAP fit (Laplace predictive band of the expected counts)"
    elif args.method != "quadrature":
        draws, predicted, replicated, diagnostics, comparison, idata = _bayes(
            args, dataset, table, result, key_draws, diagnostics)
        source = f"{args.method.upper()} posterior draws"
        title = f"Bayesian fit ({args.method.upper()}): posterior band of the expected counts"

    _progress(f"writing to {out}")
    summary = report.build_summary(method=args.method, data=data_path, dataset=dataset,
                                   map_result=result, draws=draws, metadata=metadata, heat_input=heat_input,
                                   diagnostics=diagnostics, evidence=evidence, model_comparison=comparison,
                                   truth=truth)
    paths = report.write_fit(out, summary, dataset, draws, predicted, replicated,
                             idata=None if args.method == "map" else idata, title=title, source=source,
                             truth=truth, map_params=None if result is None else result.params)
    for p in paths:
        print(p, flush=True)
    for w in diagnostics.get("warnings", []):
        _progress("WARNING: " + w)
    for name, entry in summary["identifiability"].items():
        if entry["posterior_to_prior_width"] > report.H_UNCONSTRAINED_RATIO:
            _progress("note: " + entry["note"])
    _progress(f"done in {time.perf_counter() - t_total:.1f} s")
    return 0


def run_fit_batch(args):
    """``jaxqpc fit-batch``: every CSV, the default posterior in batches, one directory per contact,
    results.csv and fleet.png (arguments as parsed by :func:`build_parser`)."""
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.transmission != "constant" and args.heat_input != "landauer":
        raise UsageError("--transmission only applies with --heat-input landauer")
    files = _batch_files(args.data)
    names = [os.path.splitext(os.path.basename(f))[0] for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"several files are named {', '.join(n + '.csv' for n in twice)}: each contact's "
                         "results go to DIR/<file stem>; fit them in separate runs")
    if args.metadata is not None and not os.path.isfile(args.metadata):
        raise UsageError(f"--metadata {args.metadata!r}: no such file")
    if args.hierarchical and args.resume:
        raise UsageError("--resume cannot be combined with --hierarchical: the shared eta depends on every contact")
    distributed = args.distributed or any(
        v is not None for v in (args.coordinator, args.num_processes, args.process_id))
    if args.hierarchical and distributed:
        raise UsageError("--hierarchical runs in one process: the shared eta couples every contact")
    out = prepare_out(args.out, args.force or args.resume)  # every process checks before any writes
    index, count = _join_processes(args) if distributed else (0, 1)
    say = functools.partial(_progress, command="fit-batch" if count == 1 else f"fit-batch [{index}/{count}]")
    t_total = time.perf_counter()
    import jax

    import jaxqpc

    from . import report
    from .data import _metadata_dict
    from .fleet import ContactFit, contact_report, fit_fleet, plot_fleet, results_row, write_results

    done = {n for n in names if args.resume and os.path.isfile(os.path.join(out, n, "summary.json"))}
    mine = set(names[index::count])
    say(f"{len(files)} file(s), {len(mine)} for this process" if count > 1 else f"{len(files)} file(s)")
    if done:
        say(f"{len(done)} already fitted (--resume)")
    datasets, errors = {}, {}
    for name, path in zip(names, files):
        if name in done or name not in mine:
            continue
        try:
            datasets[name] = _batch_load(path, args)
        except (ValueError, FileNotFoundError) as err:  # DataError, or outside the heat input's domain
            errors[name] = str(err)
            say(f"skipped {path}: {err}")
    table = jaxqpc.YieldTable()
    key_fit, key_report = jax.random.split(jax.random.PRNGKey(args.seed))
    todo = list(datasets)
    shared = None
    if todo:
        try:
            if args.hierarchical:
                from .hierarchical import fit_shared_eta

                say(f"posterior of the {len(todo)} contacts with one shared eta (quadrature)")
                shared = fit_shared_eta([datasets[n] for n in todo], key=key_fit, table=table, n_draws=N_DRAWS)
                contacts = [ContactFit({"free": post}, None, None) for post in shared.contacts]
                os.makedirs(out, exist_ok=True)
                _write_shared_eta(shared, todo, os.path.join(out, "shared_eta.json"))
                say(f"shared eta: median {shared.eta_quantiles[2]:.4f}, 95 % [{shared.eta_quantiles[0]:.4f}, "
                    f"{shared.eta_quantiles[4]:.4f}]; ln Bayes factor shared vs independent "
                    f"{shared.ln_bayes_factor:+.2f}")
            else:
                contacts = fit_fleet([datasets[n] for n in todo], key=key_fit, table=table,
                                     heat_input=args.heat_input, transmission=args.transmission,
                                     compare=not args.no_compare, n_draws=N_DRAWS, batch_size=args.batch_size,
                                     progress=True,
                                     on_model=lambda name: say(f"posterior by quadrature, {MODEL_PROGRESS[name]}"))
        except ValueError as err:
            raise UsageError(str(err)) from None
        from tqdm.auto import tqdm

        heat_input = args.heat_input if args.heat_input == "drain" else f"landauer ({args.transmission} transmission)"
        for i, (name, contact) in enumerate(tqdm(list(zip(todo, contacts)), desc="reports", unit="contact")):
            dataset = datasets[name]
            draws, predicted, replicated, diagnostics, comparison, evidence, idata = contact_report(
                dataset, contact, key=jax.random.fold_in(key_report, i), table=table, heat_input=args.heat_input)
            path = files[names.index(name)]
            method = "quadrature (shared eta)" if args.hierarchical else "quadrature"
            summary = report.build_summary(method=method, data=os.path.abspath(path), dataset=dataset,
                                           map_result=None, draws=draws, metadata=_metadata_dict(dataset),
                                           heat_input=heat_input, diagnostics=diagnostics, evidence=evidence,
                                           model_comparison=comparison)
            report.write_fit(os.path.join(out, name), summary, dataset, draws, predicted, replicated, idata=idata,
                             title=f"{name}: posterior band of the expected counts (quadrature)",
                             source="quadrature posterior draws", plots=not args.no_plots)
    if count > 1:
        from jax.experimental import multihost_utils

        say(f"{len(todo)} contact(s) written; waiting for the other processes")
        multihost_utils.sync_global_devices("jaxqpc fit-batch: every contact written")
        if index != 0:
            return 0
        for name, path in zip(names, files):  # the other processes' skipped files: the same message
            if name not in mine and not os.path.isfile(os.path.join(out, name, "summary.json")):
                try:
                    _batch_load(path, args)
                except (ValueError, FileNotFoundError) as err:
                    errors[name] = str(err)
    os.makedirs(out, exist_ok=True)
    rows = []
    for name in names:
        summary_path = os.path.join(out, name, "summary.json")
        if name in errors or not os.path.isfile(summary_path):
            rows.append({"file": name, "error": errors.get(name, "no results")})
        else:
            with open(summary_path, encoding="utf-8") as f:
                rows.append(results_row(name, json.load(f)))
    eta = None if shared is None else (shared.eta_grid, shared.eta_density)
    paths = [write_results(rows, os.path.join(out, "results.csv")),
             plot_fleet(rows, os.path.join(out, "fleet.png"), eta=eta)]
    for p in paths:
        print(p, flush=True)
    fitted = sum(1 for r in rows if not r.get("error"))
    say(f"{fitted} contact(s) fitted, {len(errors)} skipped; done in {time.perf_counter() - t_total:.1f} s")
    return 0


def _write_shared_eta(shared, names, path):
    """shared_eta.json of ``fit-batch --hierarchical``: the shared η, the evidences, the checks."""
    from .quadrature import QUANTILES

    with open(path, "w", encoding="utf-8") as f:
        json.dump({"contacts": list(names),
                   "eta_quantiles": dict(zip((f"q{100 * p:g}" for p in QUANTILES), shared.eta_quantiles)),
                   "log_evidence_shared": shared.log_evidence,
                   "log_evidence_independent": shared.log_evidence_independent,
                   "ln_bayes_factor_shared_vs_independent": shared.ln_bayes_factor,
                   "eta_quantile_shift": shared.eta_quantile_shift, "warnings": list(shared.warnings),
                   "wall_s": shared.wall_s}, f, indent=2)
        f.write("\n")
    return path


def _batch_files(pattern):
    """The CSV files of ``jaxqpc fit-batch``'s PATH_OR_GLOB, sorted."""
    import glob

    if os.path.isdir(pattern):
        files = glob.glob(os.path.join(pattern, "*.csv"))
    elif os.path.isfile(pattern):
        files = [pattern]
    else:
        files = [f for f in glob.glob(pattern) if os.path.isfile(f)]
    if not files:
        raise UsageError(f"no CSV files match {pattern!r}")
    return sorted(os.path.abspath(f) for f in files)


def _join_processes(args):
    """``jax.distributed.initialize`` for ``fit-batch --distributed``: (this process's index, count)."""
    import jax

    # the barrier at the end is a collective; on CPU-only hosts it needs Gloo (no effect on GPUs)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                                   process_id=args.process_id)
    except (ValueError, RuntimeError) as err:
        raise UsageError(f"--distributed: jax.distributed.initialize failed: {err}") from None
    return jax.process_index(), jax.process_count()


def _batch_load(path, args):
    """One file of a batch: its own metadata file, else --metadata; the flags fill in the keys that the
    metadata file lacks (they are defaults here, unlike `jaxqpc fit`, where they override)."""
    from .data import _metadata_file, load_csv, read_metadata

    meta_file = _metadata_file(pathlib.Path(path), None) or args.metadata
    given = set(read_metadata(meta_file)) if meta_file is not None else set()
    flags = {k: getattr(args, k) for k in ("source_voltage", "series_resistance", "dark_rate", "lattice_temperature")
             if k not in given}
    dataset = load_csv(path, metadata=meta_file, spelling=_FLAG_SPELLING, **flags)
    return dataset.with_heat_input(args.heat_input, args.transmission)


def _with_heat_input(dataset, heat_input, transmission, data_path):
    """The dataset with the model's heat input set; a row outside its domain is a usage error."""
    try:
        return dataset.with_heat_input(heat_input, transmission)
    except ValueError as err:  # e.g. a conductance beyond the saddle contact's channels
        raise UsageError(f"{data_path}: --heat-input {heat_input} --transmission {transmission}: {err}") from None


def _map(args, dataset, table, key, data_path):
    """The multi-start MAP (the start of the MCMC kernels, or ``--method map`` itself)."""
    from .optimize import fit_map

    _progress(f"MAP from {args.starts} starts (the first run compiles, ~10 s)")
    try:
        result = fit_map(dataset, key=key, table=table, n_starts=args.starts)
    except ValueError as err:  # e.g. data outside the model's domain
        raise UsageError(f"{data_path}: {err}") from None
    _progress(f"MAP done in {result.wall_s:.1f} s; log-likelihood {result.log_likelihood:.2f}, "
              f"{100 * result.fraction_near_best:.0f} % of the starts within 1 nat of the best")
    if not result.hessian_ok:
        raise UsageError("the Hessian at the MAP is not positive definite: no Laplace "
                         "approximation (try more --starts or check the data)")
    return result


def _quadrature(args, dataset, table, key, data_path):
    """The default posterior (:mod:`inference.quadrature`): h free, and unless --no-compare the
    h limits and the other heat input, whose evidences (and PSIS-LOO) compare the models."""
    from .fleet import contact_report, fit_fleet

    try:
        (contact,) = fit_fleet([dataset], key=key, table=table, heat_input=args.heat_input,
                               transmission=args.transmission, compare=not args.no_compare, n_draws=N_DRAWS,
                               on_model=lambda name: _progress(f"posterior by quadrature, {MODEL_PROGRESS[name]}"))
    except ValueError as err:  # e.g. data outside the model's domain
        raise UsageError(f"{data_path}: {err}") from None
    fits = dict(contact.fits, **({} if contact.other_heat_input is None else
                                 {f"heat input {contact.other_name}": contact.other_heat_input}))
    for name, fit in fits.items():
        _progress(f"  {name}: {fit.wall_s:.1f} s, log evidence {fit.log_evidence:.3f}")
    out = contact_report(dataset, contact, key=key, table=table, heat_input=args.heat_input)
    comparison, evidence = out[4], out[5]
    if evidence is not None:
        _progress("evidence: " + evidence["conclusion"])
        _progress("evidence: " + evidence["heat_input"]["conclusion"])
        _progress("PSIS-LOO: " + comparison["conclusion"])
    return out


MODEL_PROGRESS = {"free": "h free (compiles first, ~10 s; cached on disk for the next run)",
                  "zero": "h -> 0", "infinite": "h -> inf",
                  "heat input drain": "h free, heat input drain (for its evidence)",
                  "heat input landauer": "h free, heat input landauer (for its evidence)"}


def _bayes(args, dataset, table, result, key, map_diagnostics):
    """The Bayesian fit (draws, expected and replicated counts), its diagnostics and (unless
    --no-compare) the h-model comparison."""
    import jax

    from . import report
    from .diagnostics import compare_h_models, diagnose, to_inference_data
    from .sample import fit_posterior

    options = dict(sampler=args.method, num_warmup=args.warmup, num_samples=args.samples,
                   walkers=args.walkers or 32, chains=args.chains or 4, progress=True)
    k_fit, k_idata, k_cmp = jax.random.split(key, 3)
    _progress(f"sampling the posterior with {args.method.upper()} (compiles first, ~5-20 s)")
    post = fit_posterior(dataset, key=k_fit, table=table, maps=result, **options)
    diagnostics = diagnose(post)
    diagnostics["map"] = map_diagnostics
    _progress(f"sampled in {post.wall_s:.1f} s: min bulk ESS {diagnostics['min_ess_bulk']:.0f}, "
              f"max R-hat {max(diagnostics['r_hat'].values()):.3f}, "
              f"{diagnostics['divergences']} divergences")
    comparison = None
    if args.no_compare:
        idata = to_inference_data(post, dataset, table, key=k_idata)
    else:
        _progress("model comparison: fitting h -> 0 and h -> inf for PSIS-LOO")
        # the two limits only feed PSIS-LOO (≤ 4000 thinned draws): a quarter of the draws suffice
        options["num_samples"] = max(post.n_draws // 4, 1)
        comparison, idatas = compare_h_models(dataset, key=k_cmp, table=table, posteriors={"free": post},
                                              maps=result, **options)
        idata = idatas["free"]  # the comparison has already converted the main fit
        _progress("model comparison: " + comparison["conclusion"])
    return (*report.draws_and_bands(idata, dataset), diagnostics, comparison, idata)


def _use_compilation_cache(jax):
    """Keep XLA's compiled programs on disk, so a second run skips most of the compilation.

    The directory is ``$JAXQPC_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxqpc/xla`` (default
    ``~/.cache/jaxqpc/xla``); ``JAXQPC_CACHE_DIR=""`` turns the cache off. JAX's own persistent
    compilation cache: entries are keyed by the program, the JAX version and the device. Every
    program is kept, however fast it compiled (JAX's default keeps only those over 1 s): a fit
    compiles hundreds of small ones, which together cost more than the few large ones.
    """
    path = os.environ.get("JAXQPC_CACHE_DIR")
    if path is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "jaxqpc", "xla")
    if path:
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


_FLAG_SPELLING = {"source_voltage": "--source-voltage V (or the deprecated --bias)",
                  "series_resistance": "--series-resistance OHM", "dark_rate": "--dark-rate R",
                  "lattice_temperature": "--lattice-temperature K"}


def _dark_rate(text):
    """``--dark-rate``: one number, or comma-separated numbers (one per detector)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or comma-separated numbers: {text!r}") from None
    return values[0] if len(values) == 1 else values


class _DeprecatedAlias(argparse.Action):
    """``--bias``: the old name of ``--source-voltage``; stores the value and warns."""

    def __call__(self, parser, namespace, values, option_string=None):
        warnings.warn("`jaxqpc fit --bias` is deprecated: it is the source voltage, use "
                      "--source-voltage", FutureWarning, stacklevel=2)
        print("jaxqpc: warning: --bias is deprecated, use --source-voltage (same meaning: the "
              "source voltage V_s in V)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _add_fit_parser(commands):
    fit = commands.add_parser(
        "fit", help="fit the photon-emission model to measured counts (Bayesian or MAP)",
        description="Fit (eta, Lc, R0, h) to photon counts vs power: by default the posterior by "
        "deterministic quadrature (eta integrated out exactly, grids over Lc, R0, h), with the evidence "
        "and PSIS-LOO of the h models; or multi-start MAP then NumPyro MCMC with ArviZ diagnostics "
        "(--method aies|ess|nuts), or --method map (Laplace uncertainties only). "
        "Writes summary.json, predictions.csv, fit.png, corner.png and (Bayesian methods) "
        "posterior.nc into DIR. "
        "Metadata flags override <DATA stem>.json/.toml beside the data file.")
    fit.add_argument("data", nargs="?", metavar="DATA.csv",
                     help="CSV with power (W) or conductance (G0), counts, bin_time (s)[, detector]")
    fit.add_argument("--example", action="store_true",
                     help="fit the bundled simulated example (its metadata and truth from its JSON)")
    _add_metadata_options(fit)
    fit.add_argument("--method", default="quadrature", choices=("quadrature", "aies", "ess", "nuts", "map"),
                     help="quadrature (default): Bayesian, eta integrated out exactly and deterministic "
                     "quadrature over (Lc, R0, h), with the evidence of the h models; "
                     "aies: NumPyro's affine-invariant ensemble sampler; "
                     "ess: ensemble slice sampler; nuts: NUTS, 4 chains; map: multi-start MAP with "
                     "Laplace uncertainties only")
    fit.add_argument("--samples", type=int, metavar="N",
                     help="draws per walker/chain after warm-up (default: aies 30000, ess 2000, nuts 1000)")
    fit.add_argument("--warmup", type=int, metavar="N",
                     help="warm-up iterations per walker/chain (default: aies 2000, ess 1000, nuts 1000)")
    fit.add_argument("--walkers", type=int, help="ensemble size for aies/ess (default 32)")
    fit.add_argument("--chains", type=int, help="number of NUTS chains (default 4)")
    _add_model_options(fit)
    _add_out_options(fit)
    fit.add_argument("--seed", type=int, default=0, help="random seed (starts and draws)")
    fit.add_argument("--starts", type=int, default=32,
                     help="number of optimiser starts of the MAP (aies, ess, nuts, map; default 32)")
    fit.set_defaults(run=run_fit)


def _add_metadata_options(parser):
    parser.add_argument("--source-voltage", type=float, metavar="V", dest="source_voltage",
                        help="source voltage V_s of the circuit (V)")
    parser.add_argument("--bias", type=float, metavar="V", dest="source_voltage", action=_DeprecatedAlias,
                        help="deprecated alias of --source-voltage")
    parser.add_argument("--series-resistance", type=float, metavar="OHM", help="series resistance R_s (Ω)")
    parser.add_argument("--dark-rate", type=_dark_rate, metavar="R",
                        help="dark-count rate (1/s): one number, or one per detector comma-separated")
    parser.add_argument("--lattice-temperature", type=float, metavar="K",
                        help="lattice temperature T_L (K; default 300 unless in the metadata file)")


def _add_model_options(parser):
    parser.add_argument("--heat-input", default="drain", choices=("drain", "landauer"),
                        help="the model's heat input: drain (default, the paper): all of the dissipated "
                        "power heats the drain; landauer: only its Landauer downstream share P_R/P")
    parser.add_argument("--transmission", default="constant", choices=("constant", "saddle"),
                        help="with --heat-input landauer, the contact's transmission: constant (default; "
                        "P_R/P = 1/2) or saddle (a saddle point with T(E_F) = G/G0, P_R/P > 1/2)")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the model comparisons: h free vs h -> 0 and h -> inf (evidence and "
                        "PSIS-LOO; two more fits) and, with the quadrature, the other heat input (its "
                        "evidence; one more fit)")


def _add_fit_batch_parser(commands):
    batch = commands.add_parser(
        "fit-batch", help="fit every CSV of a directory or glob (the default posterior, batched)",
        description="Fit (eta, Lc, R0, h) to every CSV file given by PATH_OR_GLOB (a file, a directory: "
        "its *.csv, or a glob pattern) with the default posterior (quadrature), the physics of many "
        "contacts evaluated together. Writes DIR/results.csv (one row per contact), DIR/fleet.png and "
        "one sub-directory per contact with the files of `jaxqpc fit`. Metadata: <stem>.json/.toml "
        "beside a file, else --metadata FILE; the metadata flags fill in what those files lack. A "
        "malformed file is reported (file, line, column) and skipped.")
    batch.add_argument("data", metavar="PATH_OR_GLOB", help="a CSV file, a directory of CSV files, or a glob")
    batch.add_argument("--metadata", metavar="FILE",
                       help="metadata (.json/.toml) for every file without its own <stem>.json/.toml")
    _add_metadata_options(batch)
    _add_model_options(batch)
    _add_out_options(batch)
    batch.add_argument("--hierarchical", action="store_true",
                       help="one efficiency eta shared by all contacts (the same optics), integrated exactly; "
                       "writes DIR/shared_eta.json (its posterior and the Bayes factor against independent eta); "
                       "no per-contact model comparison")
    batch.add_argument("--resume", action="store_true",
                       help="skip the contacts whose DIR/<stem>/summary.json exists (a finished fit); "
                       "implies writing into a non-empty DIR")
    batch.add_argument("--no-plots", action="store_true",
                       help="skip each contact's fit.png and corner.png (the slowest files of a large fleet's "
                       "reports); DIR/fleet.png is still written")
    batch.add_argument("--batch-size", type=int, metavar="N",
                       help="contacts whose physics is evaluated together (default: 1 on a CPU, 64 on an "
                       "accelerator)")
    batch.add_argument("--seed", type=int, default=0, help="random seed (draws)")
    hosts = batch.add_argument_group(
        "several processes (hosts)", "With --distributed, every process of a job runs the same command: "
        "jax.distributed.initialize() connects them (arguments detected on SLURM, Open MPI and Kubernetes, "
        "or given below), process i of n fits the contacts i, i+n, i+2n, ... on its own devices into the "
        "shared DIR, and process 0 writes results.csv and fleet.png once all are done.")
    hosts.add_argument("--distributed", action="store_true", help="one process of a multi-process job")
    hosts.add_argument("--coordinator", metavar="HOST:PORT",
                       help="address of process 0's coordination service (implies --distributed)")
    hosts.add_argument("--num-processes", type=int, metavar="N", help="processes in the job (implies --distributed)")
    hosts.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1 (implies --distributed)")
    batch.set_defaults(run=run_fit_batch)


def _add_out_options(parser):
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created if missing)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty DIR (the command's own files are replaced)")


def build_parser():
    """The argument parser of the ``jaxqpc`` command (the subcommand's function in ``args.run``)."""
    from jaxqpc import __version__

    parser = argparse.ArgumentParser(
        prog="jaxqpc",
        description="Differentiable JAX models of power dissipation at quantum point contacts "
        "and hot-electron light emission from atomic contacts, and fits to photon counts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    figures = commands.add_parser("figures", help="reproduce a paper's figures as PNG files",
                                  description="Reproduce a paper's figures as PNG files.")
    papers = figures.add_subparsers(dest="paper", metavar="PAPER")
    qpc = papers.add_parser(
        "qpc",
        help="Figs. 2-5 of Blaas-Anselmi et al., SciPost Phys. 12, 105 (2022)",
        description="Write fig2.png ... fig5.png of Blaas-Anselmi et al., SciPost Phys. 12, 105 "
        "(2022) (power dissipated around a quantum point contact) into DIR.",
    )
    emission = papers.add_parser(
        "emission",
        help="Figs. 3B, 5, 6 of Buret et al., Nanophotonics 9, 413 (2020)",
        description="Write fig5.png, fig6.png, fig3b.png and fig_heat_input.png into DIR: the peak "
        "electron temperature (Fig. 5) and the detected photon yield (Fig. 6) vs the number of open "
        "channels, the model counts vs power of Fig. 3B, and the effect of heating the drain with "
        "the Landauer share P_R/P instead of all the power (Buret et al., Nanophotonics 9, 413 "
        "(2020)). h = 0 uses the correct h -> 0 limit of Eqs. 2-3, not the misprinted Eq. 5.",
    )
    emission.add_argument("--printed-eq5", action="store_true",
                          help="also draw (dashed) the paper's printed Eq. 5, whose first term is "
                          "twice the correct one, in Figs. 5 and 6 (B, D) and in Fig. 3B")
    exact = papers.add_parser(
        "qpc-exact",
        help="the exact hard-wall QPC (mode matching) against Eqs. 18-20 of Blaas-Anselmi et al.",
        description="Write qpc_exact.png into DIR: the transmission T(E) of the hard-wall constriction "
        "(length 2w, leads 3 x 2w wide) solved exactly by mode matching (jaxqpc.ModeMatchedQPC) and by "
        "the paper's approximation (Eqs. 18-20, jaxqpc.AbruptQPC), and the power asymmetry P_A of both "
        "at eV = 0.05 E1, kT = 0 (docs/qpc-exact.md).",
    )
    for paper in (qpc, emission, exact):
        _add_out_options(paper)
        paper.add_argument("--low-res", action="store_true",
                           help="coarse grids: a quick preview (seconds instead of minutes)")
        paper.set_defaults(run=_figures)
    figures.set_defaults(run=None, parser=figures)

    _add_fit_parser(commands)
    _add_fit_batch_parser(commands)
    parser.set_defaults(run=None, parser=parser)
    return parser


def main(argv=None):
    """Run the ``jaxqpc`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Usage errors from argparse (and ``--version``/``--help``) raise ``SystemExit``
    as usual; the command's own errors print ``jaxqpc: error: ...`` and return 2.
    """
    import jax

    jax.config.update("jax_enable_x64", True)  # the library never does this itself
    _use_compilation_cache(jax)

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run is None:  # `jaxqpc` or `jaxqpc figures` without a subcommand
        args.parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except UsageError as err:
        print(f"jaxqpc: error: {err}", file=sys.stderr)
        return EXIT_USAGE


def console():
    """The ``jaxqpc`` console script: :func:`main`, then an exit without the garbage collector's
    last pass over every object of the imported libraries (``gc.freeze``): the process ends here,
    and that pass took longer than some of the fit's steps."""
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(console())
