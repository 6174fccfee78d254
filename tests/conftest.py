"""Shared pytest configuration: the whole test suite runs in double precision."""

import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

# make ``tests.reference`` importable however pytest is launched
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
