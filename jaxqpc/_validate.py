"""Checks at the public boundary: clear ``ValueError``s before any computation.

Checks run only on concrete values; inside ``jax.jit``/``vmap``/``grad`` the
arguments are tracers and cannot be inspected, so validate before transforming
(the public functions do this for you when called eagerly).
"""

import warnings

import jax
import numpy as np


def _concrete(x):
    """``x`` as a NumPy array, or ``None`` if it is traced (inside a JAX transform)."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"expected a real number or array, got {type(x).__name__}") from err


def check_finite(name, x):
    """Raise ``ValueError`` naming ``name`` if ``x`` holds NaN or infinity."""
    a = _concrete(x)
    if a is not None and not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite, got {_show(a)}")
    return a


def check_positive(name, x):
    """Raise ``ValueError`` unless every entry of ``x`` is finite and > 0."""
    a = check_finite(name, x)
    if a is not None and not np.all(a > 0):
        raise ValueError(f"`{name}` must be > 0, got {_show(a[~(a > 0)])}")


def check_nonnegative(name, x):
    """Raise ``ValueError`` unless every entry of ``x`` is finite and >= 0."""
    a = check_finite(name, x)
    if a is not None and not np.all(a >= 0):
        raise ValueError(f"`{name}` must be >= 0, got {_show(a[~(a >= 0)])}")


def check_range(name, x, lo, hi):
    """Raise ``ValueError`` unless ``lo <= x <= hi`` everywhere (and finite)."""
    a = check_finite(name, x)
    if a is not None and not (np.all(a >= lo) and np.all(a <= hi)):
        bad = a[(a < lo) | (a > hi)]
        raise ValueError(f"`{name}` must lie in [{lo:g}, {hi:g}], got {_show(bad)}")


def check_range_open(name, x, lo, hi):
    """Raise ``ValueError`` unless ``lo < x <= hi`` everywhere (and finite)."""
    a = check_finite(name, x)
    if a is not None and not (np.all(a > lo) and np.all(a <= hi)):
        raise ValueError(f"`{name}` must lie in ({lo:g}, {hi:g}], got {_show(a[(a <= lo) | (a > hi)])}")


def _show(a):
    a = np.ravel(a)
    return f"{a[0]:g}" if a.size == 1 else f"{a[:3].tolist()}{' ...' if a.size > 3 else ''}"


_warned = False


def warn_if_float32():
    """Warn once per process when JAX runs in single precision.

    The library never flips ``jax_enable_x64`` itself (that would change every
    other JAX user in the process); the command line, the notebooks and the tests
    enable it. The accuracy figures in the documentation hold in float64 only.
    """
    global _warned
    if not _warned and not jax.config.jax_enable_x64:
        _warned = True
        warnings.warn(
            "jaxqpc is running in float32: results may be off by ~1e-4 relative and "
            "low-bias asymmetries may be lost entirely. Enable double precision with "
            "`jax.config.update('jax_enable_x64', True)` before creating any array.",
            RuntimeWarning,
            stacklevel=3,
        )
