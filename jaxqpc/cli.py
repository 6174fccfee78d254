"""The ``jaxqpc`` command.

Subcommands::

    jaxqpc figures qpc --out DIR [--low-res] [--force]   Figs. 2-5 of Blaas-Anselmi et al. 2022
    jaxqpc figures emission ...                          (not implemented yet)
    jaxqpc fit ...                                       (not implemented yet)
    jaxqpc --version

Double precision is switched on here (``jax_enable_x64``) for every command: the
library itself never flips that global flag. Each subcommand imports its heavy
modules (matplotlib, the figure code, later the inference package) only when it
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


def _figures_qpc(args):
    from .figures import qpc  # lazy: matplotlib and the figure code

    out = os.path.abspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise _UsageError(f"--out {args.out!r} exists and is not a directory")
    existing = [name for name in qpc.FIGURE_FILES if os.path.exists(os.path.join(out, name))]
    if existing and not args.force:
        raise _UsageError(
            f"refusing to overwrite existing figure(s) in {out}: {', '.join(existing)} "
            "(use --force to overwrite, or choose another --out)"
        )
    os.makedirs(out, exist_ok=True)
    resolution = "low" if args.low_res else "full"
    start = time.perf_counter()
    for path in qpc.make_figures(out, resolution=resolution):
        print(path, flush=True)
    print(f"wrote {len(qpc.FIGURE_FILES)} figures ({resolution} resolution) in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _not_implemented(what):
    def run(args):
        raise _UsageError(f"`jaxqpc {what}` is not implemented yet")

    return run


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
    qpc.add_argument("--out", required=True, metavar="DIR",
                     help="output directory (created if missing)")
    qpc.add_argument("--low-res", action="store_true",
                     help="coarse grids: a quick preview (seconds instead of minutes)")
    qpc.add_argument("--force", action="store_true",
                     help="overwrite existing fig*.png files in DIR")
    qpc.set_defaults(run=_figures_qpc)
    emission = papers.add_parser(
        "emission",
        help="figures of Buret et al., Nanophotonics 9, 413 (2020) (not implemented yet)",
    )
    emission.set_defaults(run=_not_implemented("figures emission"), any_arguments=True)
    figures.set_defaults(run=None, parser=figures)

    fit = commands.add_parser("fit", help="fit a model to measured data (not implemented yet)")
    fit.set_defaults(run=_not_implemented("fit"), any_arguments=True)
    parser.set_defaults(run=None, parser=parser, any_arguments=False)
    return parser


def main(argv=None):
    """Run the ``jaxqpc`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Usage errors from argparse (and ``--version``/``--help``) raise ``SystemExit``
    as usual; the command's own errors print ``jaxqpc: error: ...`` and return 2.
    """
    import jax

    jax.config.update("jax_enable_x64", True)  # the library never does this itself

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.any_arguments:  # (the placeholder commands accept anything for now)
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
