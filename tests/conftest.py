"""Shared pytest configuration: double precision, and the command line's compilation cache.

The whole suite runs in float64. It also uses the on-disk XLA compilation cache of the
``jaxqpc`` command (``$JAXQPC_CACHE_DIR``, default ``~/.cache/jaxqpc/xla``; ``JAXQPC_CACHE_DIR=""``
turns it off): programs compiled by one pytest-xdist worker are reused by the other and by later
runs, and the CLI tests' compiled MAP by ``jaxqpc fit`` itself. Results do not depend on it.
"""

import os
import sys

import jax

from inference.cli import _use_compilation_cache

jax.config.update("jax_enable_x64", True)
_use_compilation_cache(jax)

# make ``tests.reference`` importable however pytest is launched
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


# The order in which pytest-xdist hands out the test files (``--dist loadfile
# --no-loadscope-reorder``, pyproject.toml): the longest first, so that the files of a few seconds
# fill in at the end (xdist queues files on a worker ahead of time: long files left to the end ran
# one after the other on one worker while the other finished early, 57 s apart). A file whose
# programs another file compiles (same program, same shapes: loaded from the disk cache) comes after
# it: test_quadrature before test_fit_batch, test_fit_batch before the notebooks, which use the
# library tests' programs. Roughly by their time in a fresh-clone CI run; the files not listed (each < 10 s)
# come last.
ORDER = (
    "test_inference_bayes.py",
    "test_quadrature.py",
    "test_inference_fit.py",
    "test_transport_accuracy.py",
    "test_fit_batch.py",
    "test_counts.py",
    "test_fit_cli.py",
    "test_domain.py",
    "test_quadrature_fleet.py",
    "test_notebook_gradient_design.py",
    "test_inference_sharding.py",
    "test_notebook_gpu_batch_inference.py",
    "test_heating.py",
    "test_notebook_bayesian_fitting.py",
    "test_expansions.py",
    "test_gradients.py",
    "test_mode_matching.py",
    "test_model.py",
    "test_bremsstrahlung.py",
    "test_figures_emission.py",
    "test_notebook_paper_figures.py",
    "test_transmission.py",
    "test_figures_cli.py",
    "test_hotspot.py",
    "test_special.py",
    "test_yield_table.py",
    "test_package.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(ORDER)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
