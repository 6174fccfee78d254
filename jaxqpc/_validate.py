"""Domain rules at the public boundary: ValueError eagerly, NaN under jit.

Every public function states the domain of its arguments as a few rules
(``check_*`` below). Each rule is evaluated once per call, on whatever the
arguments are:

* **Concrete values** (an ordinary call, and any argument that is not traced,
  e.g. data closed over by a jitted function): a violated rule raises a
  ``ValueError`` naming the argument, before anything is computed. A rule that
  holds returns ``True`` and nothing else is done, so eager calls pay nothing.
* **Traced values** (inside ``jax.jit``, ``vmap``, ``grad``, …): the values
  cannot be inspected, so the rule returns a boolean mask, evaluated with
  ``jax.numpy`` per element (a few comparisons). The function combines its
  masks with ``&`` into ``ok`` and uses the "double where":

  1. before computing, ``checked``/``substitute`` replace each argument whose
     own rule fails by a fixed in-domain stand-in (keeping its shape, so a
     scalar parameter stays scalar), and quantities derived from several
     arguments (ζ = NλF/(4R0), Lc/R0, P against V_s²/4R_s) are clamped onto
     their edges (``clamp_to_edge``), so nothing infinite or NaN is ever
     formed: a NaN there would turn the zero cotangent of a discarded element
     into NaN and poison the gradient of every parameter shared across a
     vmapped batch;
  2. ``nan_outside(ok, result)`` puts NaN into every field of the result
     where ``ok`` is False.

  Outside the domain under jit: NaN, never a finite wrong number; the
  gradient of such an element is 0. Inside it, values and gradients are those
  of the unmasked computation. A NaN argument violates every rule, so the NaN
  of one public function passed on to another is masked out again
  (``absorb_nan`` does the same for a result combined with other quantities).

Edges reached through arithmetic tolerate round-off: a value past the edge by
at most ``edge_rtol()`` relative (1e-9 in float64; 4 ε in float32, where 1e-9
is below the resolution) is on the edge and is evaluated there, so the result
equals the edge's value. These edges are ζ ≤ 1, Lc/R0 ≤ 1.5 and
``heat_fraction`` ≤ 1 (peak temperature, photon counts), P ≤ V_s²/4R_s
(``conductance_from_power``: G = 1/R_s there), the ends of a ``YieldTable``,
a model's ``max_energy`` (and ``min_energy`` of a table) for T(ε), μ_R ≥ 0 and
the ends of the thermal window in ``transport`` (the integrals stop at the
ends of the model's energy grid, which clamps them) and the top of the search
window of ``hot_spot``. The same tolerance defines the NaN mask under jit, so
eager calls and jitted ones agree on what is inside. Bounds on parameters that
are not reached through arithmetic (η ≤ 1, a detector's efficiency) are exact.

Rules on static arguments (choices such as ``variant``, integer sizes, model
grids) are always checked eagerly: they are never traced.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

EDGE_RTOL = 1e-9
"""Relative round-off tolerated beyond an edge reached through arithmetic (float64)."""


def edge_rtol():
    """The edge tolerance of the current precision: ``EDGE_RTOL`` in float64, 4 ε in float32."""
    return max(EDGE_RTOL, 4.0 * float(jnp.finfo(jnp.result_type(float)).eps))


def _traced(*xs):
    return any(isinstance(x, jax.core.Tracer) for x in xs)


def _concrete(x):
    """``x`` as a NumPy array, or ``None`` if it is traced (inside a JAX transform)."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"expected a real number or array, got {type(x).__name__}") from err


def _rule(ok, message, bad=None):
    """Mask ``ok``: traced → returned; concrete → ``ValueError(message(bad values))`` or ``True``."""
    if isinstance(ok, jax.core.Tracer):
        return ok
    ok = np.asarray(ok)
    if not np.all(ok):
        raise ValueError(message(None if bad is None else np.broadcast_to(bad, ok.shape)[~ok]))
    return True


def _show(a):
    a = np.ravel(a)
    return f"{a[0]:g}" if a.size == 1 else f"{a[:3].tolist()}{' ...' if a.size > 3 else ''}"


def _values(x):
    """(array, xp): NumPy for a concrete ``x``, jax.numpy for a traced one."""
    if isinstance(x, jax.core.Tracer):
        return jnp.asarray(x, dtype=float), jnp
    return _concrete(x), np


def check_finite(name, x):
    """Rule: ``x`` is finite (no NaN or infinity)."""
    a, xp = _values(x)
    return _rule(xp.isfinite(a), lambda bad: f"`{name}` must be finite, got {_show(bad)}", a)


def _finite_first(name, a, xp, allow_inf=False):
    """Eagerly, report a NaN/infinite entry as such before any other rule (as the messages always did)."""
    if xp is np:
        finite = np.isfinite(a) | (allow_inf & (a == np.inf))
        _rule(finite, lambda bad: f"`{name}` must be finite, got {_show(bad)}", a)


def check_positive(name, x, *, allow_inf=False):
    """Rule: every entry of ``x`` is > 0 and finite (``allow_inf``: +inf allowed too)."""
    a, xp = _values(x)
    _finite_first(name, a, xp, allow_inf)
    ok = (a > 0) if allow_inf else (a > 0) & xp.isfinite(a)
    return _rule(ok, lambda bad: f"`{name}` must be > 0, got {_show(bad)}", a)


def check_nonnegative(name, x, *, allow_inf=False):
    """Rule: every entry of ``x`` is >= 0 and finite (``allow_inf``: +inf allowed too)."""
    a, xp = _values(x)
    if allow_inf:  # NaN fails a >= 0
        return _rule(a >= 0, lambda bad: f"`{name}` must be >= 0 (inf allowed), got {_show(bad)}", a)
    _finite_first(name, a, xp)
    return _rule((a >= 0) & xp.isfinite(a), lambda bad: f"`{name}` must be >= 0, got {_show(bad)}", a)


def check_range(name, x, lo, hi):
    """Rule: ``lo <= x <= hi`` everywhere (and finite); exact edges, no tolerance."""
    a, xp = _values(x)
    _finite_first(name, a, xp)
    return _rule((a >= lo) & (a <= hi),
                 lambda bad: f"`{name}` must lie in [{lo:g}, {hi:g}], got {_show(bad)}", a)


def check_range_open(name, x, lo, hi, *, tolerant=False):
    """Rule: ``lo < x <= hi`` everywhere (and finite). ``tolerant``: the upper edge is
    reached through arithmetic and tolerates round-off (``edge_rtol()`` relative);
    callers then clamp onto it (:func:`clamp_to_edge`)."""
    a, xp = _values(x)
    _finite_first(name, a, xp)
    ok = (a > lo) & (a <= (hi + edge_rtol() * abs(hi) if tolerant else hi))
    return _rule(ok, lambda bad: f"`{name}` must lie in ({lo:g}, {hi:g}], got {_show(bad)}", a)


def _edge_operands(x, bound, scale):
    """(x, bound, round-off slack edge_rtol() · scale) as jnp arrays when traced, else NumPy."""
    if _traced(x, bound, scale):
        xp = jnp
        a, b = jnp.asarray(x, dtype=float), jnp.asarray(bound, dtype=float)
        s = jnp.abs(b) if scale is None else jnp.asarray(scale, dtype=float)
    else:
        xp = np
        a, b = _concrete(x), _concrete(bound)
        s = np.abs(b) if scale is None else _concrete(scale)
    slack = xp.where(xp.isfinite(s), edge_rtol() * s, 0.0)
    return a, b, slack


def check_at_most(x, bound, message, *, scale=None):
    """Rule: ``x <= bound`` up to round-off, i.e. ``x <= bound + edge_rtol() · scale``
    (``scale``: ``|bound|`` by default). ``message(bad_x)`` words the ``ValueError``.
    ``bound`` may be +inf (no limit). NaN in ``x`` violates the rule."""
    a, b, slack = _edge_operands(x, bound, scale)
    return _rule(a <= b + slack, message, a)


def check_at_least(x, bound, message, *, scale=None):
    """Rule: ``x >= bound`` up to round-off (``edge_rtol() · scale``, ``|bound|`` by default)."""
    a, b, slack = _edge_operands(x, bound, scale)
    return _rule(a >= b - slack, message, a)


def check_rule(ok, message):
    """A rule given as a mask computed by the caller (NumPy when concrete, jnp when traced);
    ``message``: the ``ValueError``'s text, or a function returning it (called only on failure)."""
    return _rule(ok, lambda bad: message() if callable(message) else message)


def substitute(ok, *pairs):
    """First half of the double where: each ``x`` of ``(x, x_safe)`` where ``ok``, else ``x_safe``.

    ``x_safe`` must be a point inside the domain (jointly with the other
    stand-ins). Returns the arguments unchanged when ``ok`` is ``True``
    (concrete arguments), so eager calls pay nothing.
    """
    if ok is True:
        return tuple(x for x, _ in pairs)
    return tuple(jnp.where(ok, _float(x), safe) for x, safe in pairs)


def _float(x):
    """``x`` as a JAX array of a floating dtype (its own if it has one)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def checked(ok, x, safe):
    """``(ok, x)`` with ``x`` replaced by ``safe`` where its own rule ``ok`` fails.

    For rules on one argument: the stand-in keeps the argument's shape, so
    arguments that are scalars (parameters) stay scalars while the data they
    meet are arrays. Rules on several arguments (ζ = NλF/(4R0) ≤ 1, …) are
    applied afterwards to the derived quantity, computed from these finite
    stand-ins, by clamping it onto its edge (:func:`clamp_to_edge`).
    """
    return ok, substitute(ok, (x, safe))[0]


def nan_outside(ok, result):
    """Second half of the double where: NaN in every field of ``result`` where ``ok`` is False.

    ``result`` is an array or a PyTree (NamedTuple) of arrays; ``ok`` broadcasts
    against each of them. Identity when ``ok`` is ``True``.
    """
    if ok is True:
        return result
    return jax.tree.map(lambda r: jnp.where(ok, r, jnp.nan), result)


def absorb_nan(result, safe=1.0):
    """A result of another public function, made safe to combine with further
    differentiable quantities: ``(result with safe where it is NaN, mask of valid)``.

    A NaN result multiplied by a shared parameter would give that parameter a
    NaN gradient (0 × NaN) even where the element is discarded; callers compute
    with the substituted result and apply ``nan_outside`` with the mask.
    Identity (mask ``True``) on concrete results.
    """
    leaves = jax.tree.leaves(result)
    if not _traced(*leaves):
        return result, True
    ok = True
    for leaf in leaves:
        ok = ok & ~jnp.isnan(leaf)
    return jax.tree.map(lambda r: jnp.where(ok, r, safe), result), ok


def clamp_to_edge(x, lo=None, hi=None):
    """``x`` clamped onto [lo, hi]: a value past an edge by round-off (accepted by the
    rules above) is evaluated exactly on it. Inside, values and derivatives are
    unchanged (``where``, not ``minimum``, whose derivative is halved at a tie)."""
    x = jnp.asarray(x, dtype=float)
    if lo is not None:
        x = jnp.where(x < lo, lo, x)
    if hi is not None:
        x = jnp.where(x > hi, hi, x)
    return x


def arrays(*xs):
    """The arguments as float arrays: NumPy when all are concrete, jax.numpy when any is
    traced. For rules on quantities derived from several arguments (ζ = NλF/(4R0), …)."""
    if _traced(*xs):
        return tuple(jnp.asarray(x, dtype=float) for x in xs)
    return tuple(_concrete(x) for x in xs)


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
