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
