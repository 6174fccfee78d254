"""The loop shared by every figure module: compute each figure's data, then plot it."""

import os
import time


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
