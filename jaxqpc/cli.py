"""The ``jaxqpc`` command.

Subcommands::

    jaxqpc figures qpc --out DIR [--low-res] [--force]   Figs. 2-5 of Blaas-Anselmi et al. 2022
    jaxqpc figures emission --out DIR [--low-res] [--force] [--printed-eq5]
                                                         Figs. 3B, 5, 6 of Buret et al. 2020
                                                         and the heat-input comparison
    jaxqpc fit DATA.csv --bias V --series-resistance OHM [--dark-rate R] [--lattice-temperature K]
               [--method aies|ess|nuts|map] --out DIR [--force] [--seed S] [--starts N] [--no-compare]
    jaxqpc fit --example --out DIR [--method aies|ess|nuts|map]   Bayesian fit (default) or MAP
    jaxqpc --version

Double precision is switched on here (``jax_enable_x64``) for every command: the
library itself never flips that global flag. Each subcommand imports its heavy
modules (matplotlib, the figure code, the inference package) only when it
runs. Exit codes: 0 on success, 2 on a usage error (including a refusal to
overwrite existing figures without ``--force``).
"""

import argparse
import os
import sys
import time

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


class _UsageError(Exception):
    """A user-facing error: its message is printed and the exit code is 2."""


def _prepare_out(args, figure_files):
    """The absolute output directory, created; refuses to overwrite figures without --force."""
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise _UsageError(f"--out {args.out!r} exists and is not a directory")
    existing = [name for name in figure_files if os.path.exists(os.path.join(out, name))]
    if existing and not args.force:
        raise _UsageError(
            f"refusing to overwrite existing figure(s) in {out}: {', '.join(existing)} "
            "(use --force to overwrite, or choose another --out)"
        )
    os.makedirs(out, exist_ok=True)
    return out


def _write_figures(module, args, **options):
    out = _prepare_out(args, module.FIGURE_FILES)
    resolution = "low" if args.low_res else "full"
    start = time.perf_counter()
    for path in module.make_figures(out, resolution=resolution, **options):
        print(path, flush=True)
    print(f"wrote {len(module.FIGURE_FILES)} figures ({resolution} resolution) in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _figures_qpc(args):
    from .figures import qpc  # lazy: matplotlib and the figure code

    return _write_figures(qpc, args)


def _figures_emission(args):
    from .figures import emission  # lazy: matplotlib and the figure code

    return _write_figures(emission, args, printed_eq5=args.printed_eq5)


def _fit(args):
    from inference.cli import FitUsageError, run_fit  # lazy: the inference package

    try:
        return run_fit(args)
    except FitUsageError as err:
        raise _UsageError(str(err)) from None


def _dark_rate(text):
    """``--dark-rate``: one number, or comma-separated numbers (one per detector)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or comma-separated numbers: {text!r}") from None
    return values[0] if len(values) == 1 else values


def _add_fit_parser(commands):
    fit = commands.add_parser(
        "fit", help="fit the photon-emission model to measured counts (Bayesian or MAP)",
        description="Fit (eta, Lc, R0, h) to photon counts vs power: multi-start MAP, then NumPyro "
        "posterior sampling with ArviZ diagnostics and a LOO comparison of the h models (or "
        "--method map: Laplace uncertainties only). "
        "Writes summary.json, predictions.csv, fit.png and corner.png into DIR. "
        "Metadata flags override <DATA stem>.json/.toml beside the data file.")
    fit.add_argument("data", nargs="?", metavar="DATA.csv",
                     help="CSV with power_W (or conductance_G0), counts, bin_s[, detector]")
    fit.add_argument("--example", action="store_true",
                     help="fit the bundled simulated example (its metadata and truth from its JSON)")
    fit.add_argument("--bias", type=float, metavar="V", help="source voltage V_s (V)")
    fit.add_argument("--series-resistance", type=float, metavar="OHM", help="series resistance R_s (Ω)")
    fit.add_argument("--dark-rate", type=_dark_rate, metavar="R",
                     help="dark-count rate (1/s): one number, or one per detector comma-separated")
    fit.add_argument("--lattice-temperature", type=float, metavar="K",
                     help="lattice temperature T_L (K; default 300 unless in the metadata file)")
    fit.add_argument("--method", default="aies", choices=("aies", "ess", "nuts", "map"),
                     help="aies (default): Bayesian, NumPyro's affine-invariant ensemble sampler; "
                     "ess: ensemble slice sampler; nuts: NUTS, 4 chains; map: multi-start MAP with "
                     "Laplace uncertainties only (fastest)")
    fit.add_argument("--samples", type=int, metavar="N",
                     help="draws per walker/chain after warm-up (default: aies 30000, ess 2000, nuts 1000)")
    fit.add_argument("--warmup", type=int, metavar="N",
                     help="warm-up iterations per walker/chain (default: aies 2000, ess 1000, nuts 1000)")
    fit.add_argument("--walkers", type=int, default=32, help="ensemble size for aies/ess (default 32)")
    fit.add_argument("--chains", type=int, default=4, help="number of NUTS chains (default 4)")
    fit.add_argument("--no-compare", action="store_true",
                     help="skip the LOO comparison of h free, h -> 0 and h -> inf (two more fits)")
    fit.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    fit.add_argument("--force", action="store_true", help="write into a non-empty DIR")
    fit.add_argument("--seed", type=int, default=0, help="random seed (starts and Laplace draws)")
    fit.add_argument("--starts", type=int, default=32, help="number of optimiser starts (default 32)")
    fit.set_defaults(run=_fit)


def _add_figure_options(parser):
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created if missing)")
    parser.add_argument("--low-res", action="store_true",
                        help="coarse grids: a quick preview (seconds instead of minutes)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite existing figure files of the same names in DIR")


def build_parser():
    """The argument parser of the ``jaxqpc`` command (subcommands in ``args.run``)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="jaxqpc",
        description="Differentiable JAX models of power dissipation at quantum point contacts "
        "and hot-electron light emission from atomic contacts.",
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
    _add_figure_options(qpc)
    qpc.set_defaults(run=_figures_qpc)
    emission = papers.add_parser(
        "emission",
        help="Figs. 3B, 5, 6 of Buret et al., Nanophotonics 9, 413 (2020)",
        description="Write fig5.png, fig6.png, fig3b.png and fig_heat_input.png into DIR: the peak "
        "electron temperature (Fig. 5) and the detected photon yield (Fig. 6) vs the number of open "
        "channels, the model counts vs power of Fig. 3B, and the effect of heating the drain with "
        "the Landauer share P_R/P instead of all the power (Buret et al., Nanophotonics 9, 413 "
        "(2020)). h = 0 uses the correct h -> 0 limit of Eqs. 2-3, not the misprinted Eq. 5.",
    )
    _add_figure_options(emission)
    emission.add_argument("--printed-eq5", action="store_true",
                          help="also draw (dashed) the paper's printed Eq. 5, whose first term is "
                          "twice the correct one, in Figs. 5 and 6 (B, D) and in Fig. 3B")
    emission.set_defaults(run=_figures_emission)
    figures.set_defaults(run=None, parser=figures)

    _add_fit_parser(commands)
    parser.set_defaults(run=None, parser=parser)
    return parser


def main(argv=None):
    """Run the ``jaxqpc`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Usage errors from argparse (and ``--version``/``--help``) raise ``SystemExit``
    as usual; the command's own errors print ``jaxqpc: error: ...`` and return 2.
    """
    import jax

    jax.config.update("jax_enable_x64", True)  # the library never does this itself

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run is None:  # `jaxqpc` or `jaxqpc figures` without a subcommand
        args.parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except _UsageError as err:
        print(f"jaxqpc: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
