"""Shared by every figure module: the caption-and-save step and the compute-then-plot loop."""

import os
import time

DPI = 150
"""Resolution of the written PNGs."""


def write_figures(out_dir, figures, resolution, *, verbose=False, **plot_options):
    """Write ``figures`` (pairs of file name and (compute, plot) functions) into ``out_dir``.

    ``compute(resolution)`` returns the data, ``plot(data, path, **plot_options)``
    writes the PNG and returns its path. Returns the written paths in order.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, (compute, plot) in figures:
        start = time.perf_counter()
        paths.append(plot(compute(resolution), os.path.join(out_dir, name), **plot_options))
        if verbose:
            print(f"  {name}: {time.perf_counter() - start:.1f} s")
    return paths


def finish(fig, path, caption):
    """Write ``caption`` (a list of lines) under the axes, keeping room for it, and save."""
    height = fig.get_size_inches()[1]
    bottom = (0.16 * len(caption) + 0.08) / height
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom), h_pad=0.06)
    fig.text(0.01, 0.02 / height, "\n".join(caption), fontsize=7.5, ha="left", va="bottom",
             color="0.25", linespacing=1.4)
    fig.savefig(path, dpi=DPI)
    return path
