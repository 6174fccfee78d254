"""Multi-start maximum a posteriori fits with optax, and Laplace uncertainties.

:func:`fit_map` maximises the log posterior density of the unconstrained
coordinates ``u`` (:func:`inference.likelihood.log_posterior_unconstrained`:
likelihood + prior + log-Jacobian of :mod:`inference.params`) from
``n_starts`` points drawn from the prior, all at once (``jax.vmap``):

1. ``steps`` Adam steps (optax, cosine-decaying step size) on
   −log p(u | data)/n_rows: large steps leave the flat "no signal" plateau
   (R0 or Lc so large that T_e, hence the signal, is negligible) where a
   quasi-Newton method started from a prior draw stalls;
2. ``polish_steps`` evaluations of a dense BFGS (4×4 inverse Hessian, Armijo
   backtracking that uses one evaluation per iteration) to converge to the
   mode (|∇ log p| < 1e-7);
3. 8 gradient evaluations at u ± 10⁻⁴ e_j: the Hessian by central
   differences of the exact (autodiff) gradient (relative error ~1e-8).

Why not ``optax.lbfgs`` and ``jax.hessian``: every place a gradient of the
physics is taken becomes another copy of a large program for XLA (the
line search of ``optax.lbfgs`` adds several, ``jax.hessian`` alone compiles for
~30 s on a CPU); with them the compilation took ~110 s. Here the objective
and its gradient are evaluated at a single place, a vmap over the starts
inside one ``lax.scan`` whose phases only choose the points: ~7 s to compile,
~0.7 s to run 32 starts on 120 rows (2-core CPU). On the bundled example,
BFGS alone from prior draws leaves 20–30 % of the starts stuck more than 1 nat
below the best, Adam alone (300 steps) ~50 %; Adam + BFGS: none.

The best start is the MAP. The mode is that of the density in ``u`` (with the
Jacobian), which is the mode the Laplace approximation needs and which is
always finite even when the data push a parameter to the edge of its domain
(the density of ``u`` vanishes at infinity). It is *not* the mode of the
density of the physical parameters; for weakly informative data the two can
differ by a large amount along poorly constrained directions. On simulated
paper-like data (the bundled example) only one combination of (η, Lc, R0) is
well measured (≈ −0.15 ln η − 0.80 ln Lc + 0.58 ln R0, to ~0.6 %), η to a
factor ~e, the third direction and h not at all; along the sloppy directions
the u-mode follows the prior and the Jacobian (with the truth of the example,
Lc and R0 come out ~1 σ high). ``jacobian=False`` gives the mode of the
physical density instead (often on a bound: h = 10⁻³ where the log-uniform
prior density peaks, R0 = R0_min).

Laplace approximation: H = −∇²log p(u | data) at the MAP (step 3 above),
Σ_u = H⁻¹, and in physical coordinates Σ_θ = J Σ_u Jᵀ with J = ∂θ/∂u (delta
method) → standard deviations and the correlation matrix. The delta method
is only meaningful where the posterior is nearly Gaussian in θ; where it is
not (a parameter against its bound, h unconstrained) the Gaussian in ``u`` is
the better summary, and :func:`laplace_draws` maps draws of it to θ (always
inside the domain).

Many datasets: :func:`fit_map_batch` finds the same mode with the model's
structure instead of many starts (η at its conditional mode, a 1-D concave
problem; Levenberg–Marquardt on the profile over (Lc, R0, h) from the best of
32 screened prior draws; rows merged), vmapped over datasets: about 100× fewer
physics evaluations per fit. :func:`fit_map` stays the general path (negative
binomial, ``jacobian=False``, chosen starts).

Multi-start statistics: ``fraction_near_best`` is the fraction of starts whose
final objective (log posterior in u) lies within 1 nat of the best. A low
value means single starts often end on secondary optima or stall on the ridge.

Everything numerical is one jit-compiled function, cached per shape (rows,
starts, detectors) and static options: the metadata of the dataset are passed
as arrays, so another dataset of the same shape does not recompile. Run
``python -m inference.optimize`` for timings.
"""

import functools
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxqpc

from .likelihood import (U_BOUND, counts_log_pmf, log_likelihood, log_prior, log_prior_unconstrained,
                         sample_prior, signal_counts)
from .params import PARAM_NAMES, as_array, to_physical, to_physical_and_log_det

__all__ = ["MapResult", "fit_map", "fit_map_batch", "laplace_draws"]


class MapResult(eqx.Module):
    """Result of :func:`fit_map` (NumPy arrays and floats; names in :data:`PARAM_NAMES` order).

    Attributes:
        params: dict, the MAP in physical units (eta, Lc, R0, h).
        u: the MAP in unconstrained coordinates, shape (4,).
        log_posterior: the maximised objective (unnormalised): log p(u | data)
            (``jacobian=True``, the default) or log p(θ | data) (``jacobian=False``).
        log_likelihood: log-likelihood at the MAP.
        sd: dict of Laplace standard deviations in physical units (delta method).
        correlation: (4, 4) correlation matrix in physical coordinates.
        covariance: (4, 4) covariance in physical coordinates.
        covariance_u: (4, 4) covariance of ``u`` (inverse Hessian).
        sd_u: standard deviations of ``u``.
        hessian_ok: the Hessian was positive definite (else covariances are NaN).
        grad_norm: |∇ log p(u)| at the MAP.
        fraction_near_best: fraction of starts within 1 nat of the best objective.
        start_log_posterior: (n_starts,) final objective of each start (same convention).
        start_log_likelihood: (n_starts,) final log-likelihood of each start.
        start_u: (n_starts, 4) final ``u`` of each start.
        start_converged: (n_starts,) bool, the start converged (:func:`fit_map`: BFGS met its gradient
            or step tolerance; :func:`fit_map_batch`: :data:`DECREMENT_TOLERANCE`).
        wall_s: wall time of the (compiled) fit, including the first call's compilation.
    """

    params: dict
    u: np.ndarray
    log_posterior: float
    log_likelihood: float
    sd: dict
    correlation: np.ndarray
    covariance: np.ndarray
    covariance_u: np.ndarray
    sd_u: np.ndarray
    hessian_ok: bool
    grad_norm: float
    fraction_near_best: float
    start_log_posterior: np.ndarray
    start_log_likelihood: np.ndarray
    start_u: np.ndarray
    start_converged: np.ndarray
    wall_s: float

    def summary(self):
        """A short human-readable table."""
        lines = [f"MAP: log posterior (u) {self.log_posterior:.3f}, log-likelihood "
                 f"{self.log_likelihood:.3f}, |grad| {self.grad_norm:.1e}, "
                 f"{100 * self.fraction_near_best:.0f}% of {len(self.start_log_posterior)} starts "
                 f"within 1 nat, {self.wall_s:.2f} s"]
        for i, k in enumerate(PARAM_NAMES):
            lines.append(f"  {k:6s} = {self.params[k]:.5g} ± {self.sd[k]:.2g}   "
                         f"(u = {self.u[i]:+.3f} ± {self.sd_u[i]:.3f})")
        lines.append("  correlation:\n" + np.array2string(self.correlation, precision=3))
        return "\n".join(lines)


class _ArrayDataset(eqx.Module):
    """A :class:`~inference.dataset.Dataset` whose metadata are arrays, not static fields.

    Same attributes and properties, so every likelihood function accepts it;
    jit then specialises only on the shapes (rows, detectors), not on the values
    of V_s, R_s, the dark rates and T_L, nor on the heat input (``heat_fraction``
    is always an array here, ones for None): fitting another dataset of the same
    shape reuses the compiled fit.
    """

    power: jax.Array
    counts: jax.Array
    bin_time: jax.Array
    detector: jax.Array
    source_voltage: jax.Array
    series_resistance: jax.Array
    dark_rate: jax.Array
    lattice_temperature: jax.Array
    heat_fraction: jax.Array

    @property
    def n_rows(self):
        return self.power.shape[-1]

    @property
    def dark_rate_per_row(self):
        return self.dark_rate[self.detector]


def _as_arrays(dataset, xp=jnp):
    """The dataset as an :class:`_ArrayDataset` (``xp=np``: host arrays, to be stacked into a batch)."""
    f = functools.partial(xp.asarray, dtype=float)
    return _ArrayDataset(
        power=f(dataset.power), counts=f(dataset.counts), bin_time=f(dataset.bin_time),
        detector=xp.asarray(dataset.detector), source_voltage=f(dataset.source_voltage),
        series_resistance=f(dataset.series_resistance), dark_rate=f(dataset.dark_rate),
        lattice_temperature=f(dataset.lattice_temperature),
        heat_fraction=f(1.0 if dataset.heat_fraction is None else dataset.heat_fraction) * xp.ones_like(
            f(dataset.power)))


_draw_starts = jax.jit(sample_prior, static_argnums=2)


def _objective(u, dataset, table, model, concentration, jacobian):
    """−log p(u | data)/n_rows (the minimised objective), with the log-likelihood as aux."""
    params, log_det = to_physical_and_log_det(u, dataset)
    ll = log_likelihood(params, dataset, table, model=model, concentration=concentration)
    lp = ll + log_prior(params) + (log_det if jacobian else 0.0)
    return -lp / dataset.n_rows, ll


_HESSIAN_STEP = 1e-4
"""Central-difference step in u for the Laplace Hessian (relative error ~1e-8)."""


def _bfgs_init(x, f, g, ll):
    n = x.shape[-1]
    return dict(x=x, f=f, g=g, ll=ll, H=jnp.eye(n), p=-g, alpha=jnp.asarray(1.0),
                first=jnp.asarray(True), done=jnp.asarray(False))


def _bfgs_trial(state, max_step=2.0):
    """Point to evaluate next: x + α p, with |α p| ≤ max_step (u units)."""
    step = state["alpha"] * state["p"]
    norm = jnp.linalg.norm(step)
    step = step * jnp.minimum(1.0, max_step / jnp.maximum(norm, 1e-300))
    return jnp.where(state["done"], state["x"], state["x"] + step), step


def _bfgs_update(state, step, ft, gt, llt, gtol):
    """One BFGS iteration with a one-evaluation-per-call backtracking (Armijo) line search.

    ``(ft, gt)`` is the objective and gradient at ``x + step``. Accepted: move,
    update the dense inverse-Hessian approximation, new direction, α = 1.
    Rejected: shrink α (safeguarded quadratic interpolation) and try again.
    """
    x, f, g, H, p = state["x"], state["f"], state["g"], state["H"], state["p"]
    slope = g @ step
    ok = jnp.isfinite(ft) & jnp.all(jnp.isfinite(gt))
    accept = ok & (ft <= f + 1e-4 * slope) & ~state["done"]
    # accepted step: BFGS update of the inverse Hessian
    y = gt - g
    sy = step @ y
    curvature = sy > 1e-12 * jnp.linalg.norm(step) * jnp.linalg.norm(y)
    H0 = jnp.where(state["first"] & curvature, jnp.eye(x.shape[-1]) * sy / (y @ y), H)
    rho = 1.0 / jnp.where(curvature, sy, 1.0)
    V = jnp.eye(x.shape[-1]) - rho * jnp.outer(step, y)
    H_new = jnp.where(curvature, V @ H0 @ V.T + rho * jnp.outer(step, step), H0)
    p_new = -H_new @ gt
    descent = (gt @ p_new) < 0
    H_new = jnp.where(descent, H_new, jnp.eye(x.shape[-1]))
    p_new = jnp.where(descent, p_new, -gt)
    # rejected step: α ← safeguarded minimiser of the quadratic through f, slope and ft
    frac = -slope / (2.0 * (ft - f - slope))
    frac = jnp.where(ok & (ft - f - slope > 0), jnp.clip(frac, 0.1, 0.5), 0.1)
    alpha_new = jnp.where(accept, 1.0, state["alpha"] * frac)
    pick = lambda a, b: jnp.where(accept, a, b)
    new = dict(x=pick(x + step, x), f=pick(ft, f), g=pick(gt, g), ll=pick(llt, state["ll"]),
               H=pick(H_new, H), p=pick(p_new, p), alpha=alpha_new,
               first=state["first"] & ~accept)
    small_step = alpha_new * jnp.linalg.norm(new["p"]) < 1e-12 * (1.0 + jnp.linalg.norm(new["x"]))
    new["done"] = state["done"] | (jnp.max(jnp.abs(new["g"])) < gtol) | small_step
    return new


def _theta_and_jacobian(u, dataset):
    """Physical parameters (n, 4) of the points ``u`` (n, 4) and the Jacobians ∂θ/∂u (n, 4, 4)."""
    physical = lambda v: as_array(to_physical(v, dataset))
    return jax.vmap(physical)(u), jax.vmap(jax.jacfwd(physical))(u)


@functools.partial(jax.jit, static_argnames=("steps", "polish_steps", "model", "jacobian"))
def _fit_core(u0, dataset, table, concentration, learning_rate, *, steps, polish_steps, model,
              jacobian):
    """Adam, then BFGS, then a central-difference Hessian, for every start ``u0`` (n, 4).

    The objective and its gradient are evaluated at exactly one place (see the
    module docstring): compilation takes seconds instead of minutes.
    """
    n_starts, dim = u0.shape
    n_rows = dataset.n_rows
    vg = jax.vmap(jax.value_and_grad(
        functools.partial(_objective, dataset=dataset, table=table, model=model,
                          concentration=concentration, jacobian=jacobian), has_aux=True))
    # cosine decay to 1/10: large steps to leave flat regions, small ones to settle
    adam = optax.adam(optax.cosine_decay_schedule(learning_rate, steps, alpha=0.1))
    gtol = 1e-7 / n_rows          # |∂ log p/∂u| < 1e-7
    eps = _HESSIAN_STEP
    offsets = jnp.concatenate([eps * jnp.eye(dim), -eps * jnp.eye(dim)])  # (2 dim, dim)
    n_hess = 2 * dim
    total = steps + polish_steps + n_hess

    def body(carry, t):
        x_adam, adam_state, bfgs, trial_step, grads_h = carry
        phase_adam = t < steps
        phase_bfgs = (t >= steps) & (t < steps + polish_steps)
        j = jnp.clip(t - steps - polish_steps, 0, n_hess - 1)
        trial, _ = jax.vmap(_bfgs_trial)(bfgs)
        points = jnp.where(phase_adam, x_adam,
                           jnp.where(phase_bfgs, trial, bfgs["x"] + offsets[j]))
        (f, ll), g = vg(points)

        # Adam: step from the evaluated point (non-finite evaluations are not applied)
        upd, adam_new = jax.vmap(adam.update)(g, adam_state, x_adam)
        ok = jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=-1)
        x_adam_new = jnp.where(ok[:, None], optax.apply_updates(x_adam, upd), x_adam)
        adam_new = jax.tree.map(lambda a, b: jnp.where(ok.reshape(ok.shape + (1,) * (a.ndim - 1)),
                                                       a, b), adam_new, adam_state)
        # the last Adam evaluation starts BFGS there (a non-finite one: from the start)
        init = jax.vmap(_bfgs_init)(jnp.where(ok[:, None], points, u0),
                                    jnp.where(ok, f, jnp.inf), jnp.where(ok[:, None], g, 0.0), ll)
        stepped = jax.vmap(functools.partial(_bfgs_update, gtol=gtol))(bfgs, trial_step, f, g, ll)
        bfgs_new = jax.tree.map(
            lambda i, s, b: jnp.where(t == steps - 1, i, jnp.where(phase_bfgs, s, b)),
            init, stepped, bfgs)
        _, step_new = jax.vmap(_bfgs_trial)(bfgs_new)
        grads_h = jnp.where(phase_adam | phase_bfgs, grads_h, grads_h.at[:, j].set(g))
        return (x_adam_new, adam_new, bfgs_new, step_new, grads_h), None

    dummy = jnp.zeros(n_starts)
    bfgs0 = jax.vmap(_bfgs_init)(u0, dummy, jnp.zeros_like(u0), dummy)
    carry = (u0, jax.vmap(adam.init)(u0), bfgs0, jnp.zeros_like(u0),
             jnp.zeros((n_starts, n_hess, dim)))
    (_, _, bfgs, _, grads_h), _ = jax.lax.scan(body, carry, jnp.arange(total))
    # −∇² log p = n_rows ∇²f by central differences of the exact gradient
    hess = (grads_h[:, :dim] - grads_h[:, dim:]) / (2.0 * eps) * n_rows
    hess = 0.5 * (hess + jnp.swapaxes(hess, -1, -2))
    theta, jac = _theta_and_jacobian(bfgs["x"], dataset)
    lp = jnp.where(jnp.isfinite(bfgs["f"]), -bfgs["f"] * n_rows, -jnp.inf)
    return bfgs["x"], lp, bfgs["ll"], bfgs["g"] * n_rows, hess, theta, jac, bfgs["done"]


def fit_map(dataset, *, key, table=None, n_starts=32, steps=100, polish_steps=200,
            learning_rate=0.2, model="poisson", concentration=None, jacobian=True, starts=None):
    """Multi-start MAP fit of (η, Lc, R0, h) with Laplace uncertainties.

    Args:
        dataset: :class:`~inference.dataset.Dataset`.
        key: ``jax.random`` key for the starting points (drawn from the prior).
        table: prebuilt :class:`jaxqpc.YieldTable` (default: built here, ~2 s;
            pass one when fitting repeatedly).
        n_starts: number of starts, run in parallel.
        steps: Adam steps (≥ 1). polish_steps: BFGS iterations (one evaluation each).
        learning_rate: initial Adam step size (in u, per step; cosine decay to 1/10).
        model, concentration: observation model (see :func:`inference.likelihood.log_likelihood`).
        jacobian: maximise the density of ``u`` (True, default: the Laplace-ready
            mode, always finite) or of the physical parameters (False: the
            classic MAP; the Laplace covariance is then H_θ⁻¹ of the physical
            density, meaningful only for an interior mode).
        starts: optional (n, 4) array of unconstrained starting points (overrides
            ``n_starts``/``key``), e.g. to reproduce a single-start fit.
    Returns:
        :class:`MapResult`.
    """
    if table is None:
        table = jaxqpc.YieldTable()
    if int(steps) < 1 or int(polish_steps) < 0:
        raise ValueError(f"need `steps` >= 1 and `polish_steps` >= 0, got {steps}, {polish_steps}")
    if model == "negbinomial":
        if concentration is None:
            raise ValueError("model='negbinomial' needs a fixed `concentration` φ > 0")
        concentration = jnp.asarray(concentration, dtype=float)
    elif model != "poisson":
        raise ValueError(f"`model` must be 'poisson' or 'negbinomial', got {model!r}")
    # validates the data eagerly (e.g. a power above V_s²/4R_s raises here)
    jaxqpc.conductance_from_power(dataset.power, dataset.source_voltage, dataset.series_resistance)
    data = _as_arrays(dataset)

    t0 = time.perf_counter()
    u0 = _draw_starts(key, data, int(n_starts)) if starts is None else jnp.asarray(starts, dtype=float)
    if u0.ndim != 2 or u0.shape[1] != len(PARAM_NAMES):
        raise ValueError(f"`starts` must have shape (n, {len(PARAM_NAMES)}), got {u0.shape}")
    out = _fit_core(u0, data, table, concentration, jnp.asarray(learning_rate, dtype=float),
                    steps=int(steps), polish_steps=int(polish_steps), model=model,
                    jacobian=bool(jacobian))
    out = jax.block_until_ready(out)
    wall = time.perf_counter() - t0
    u, lp, ll, grad, hess, theta, jac, done = (np.asarray(x) for x in out)
    best = int(np.argmax(lp))
    return _laplace(u, lp, ll, best, grad[best], hess[best], theta[best], jac[best], done, wall)


_ETA_STEPS = 30
"""Safeguarded Newton steps to η's conditional mode (fixed: one compiled loop; bisection in logit η
bounds the error by 80/2^30 in u₀ even when every Newton step is refused)."""


def _eta_mode(s, d, k):
    """u₀ = logit η at the maximum over η ∈ (0, 1) of Σ log Poisson(k | η s + d) + log η(1 − η).

    That function of η (the u-density's η part: the uniform prior times dη/du₀) is concave, so its
    mode is the root of its decreasing derivative: Newton steps in η, each kept only inside the
    bracket (in u₀) that the signs of the derivative maintain, else the bracket's midpoint.
    """
    def body(_, state):
        u, lo, hi = state
        eta = jax.nn.sigmoid(u)
        mu = jnp.maximum(eta * s + d, 1e-300)
        slope = jnp.sum(k * s / mu - s) + 1.0 / eta - 1.0 / (1.0 - eta)
        curv = -jnp.sum(k * (s / mu) ** 2) - 1.0 / eta**2 - 1.0 / (1.0 - eta) ** 2
        lo, hi = jnp.where(slope > 0, u, lo), jnp.where(slope > 0, hi, u)
        u_new = jax.scipy.special.logit(eta - slope / curv)
        inside = (u_new >= lo) & (u_new <= hi)   # a converged step may land on a bracket end
        return jnp.where(inside, u_new, 0.5 * (lo + hi)), lo, hi

    start = jnp.clip((jnp.sum(k) - jnp.sum(d)) / jnp.maximum(jnp.sum(s), 1e-300), 1e-6, 1.0 - 1e-6)
    bound = jnp.asarray(40.0)
    return jax.lax.fori_loop(0, _ETA_STEPS, body, (jax.scipy.special.logit(start), -bound, bound))[0]


def _signal(u, dataset, table):
    """Signal counts of every row at η = 1 (dark counts excluded) at the geometry of ``u`` (4,)."""
    return signal_counts(to_physical(jnp.clip(u, -U_BOUND, U_BOUND), dataset), dataset, table)


def _screen(u, dataset, table):
    """Prior draws ``u`` (n, 4) with u₀ at η's conditional mode, and their log p(u | data) (n,)."""
    def one(ui):
        s = _signal(ui, dataset, table)
        d = dataset.bin_time * dataset.dark_rate_per_row
        ui = ui.at[0].set(_eta_mode(s, d, dataset.counts))
        lp = jnp.sum(counts_log_pmf(dataset.counts, jax.nn.sigmoid(ui[0]) * s + d)) + log_prior_unconstrained(
            ui, dataset)
        return ui, jnp.where(jnp.isfinite(lp), lp, -jnp.inf)

    return jax.vmap(one)(u)


def _lm_evaluate(u, profile, dataset, table):
    """−log p(u | data), its gradient and Gauss–Newton Hessian, the log-likelihood and the point.

    With ``profile``, u₀ is first moved to η's conditional mode (:func:`_eta_mode`) and the Hessian
    returned is that of the profile over (u₁, u₂, u₃), the Schur complement of the u₀ block (row and
    column 0 then zero): the η–geometry valley, along which a step in all four coordinates curves
    out of the valley, is solved exactly instead. The expected counts' Jacobian ∂μ/∂u comes from
    forward-mode autodiff of the signal (three tangents; η's column is σ'(u₀) s), so the gradient
    −Jᵀ(k/μ − 1) − ∇ log π is exact; the Hessian keeps the likelihood's Jᵀ diag(k/μ²) J (exact at a
    perfect fit) and the prior's exact Hessian.
    """
    d = dataset.bin_time * dataset.dark_rate_per_row
    k = dataset.counts
    def signal(v):  # and, as its aux, the value: the signal and its Jacobian in one forward pass
        s = _signal(u.at[1:].set(v), dataset, table)
        return s, s

    ds, s = jax.jacfwd(signal, has_aux=True)(u[1:])   # (u₁, u₂, u₃); μ is linear in σ(u₀)
    u = u.at[0].set(jnp.where(profile, _eta_mode(s, d, k), u[0]))
    eta = jax.nn.sigmoid(jnp.clip(u[0], -U_BOUND, U_BOUND))
    m = eta * s + d
    jac = jnp.concatenate([(eta * (1.0 - eta) * s)[:, None], eta * ds], axis=1)
    safe = jnp.maximum(m, 1e-300)
    ll = jnp.sum(counts_log_pmf(k, m))
    prior_value, prior_grad = jax.value_and_grad(log_prior_unconstrained)(u, dataset)
    grad = -(jac.T @ (k / safe - 1.0)) - prior_grad
    hess = jac.T @ (jac * (k / safe**2)[:, None]) - jax.hessian(log_prior_unconstrained)(u, dataset)
    schur = hess - jnp.outer(hess[:, 0], hess[0, :]) / jnp.where(hess[0, 0] > 0, hess[0, 0], 1.0)
    schur = schur.at[0, :].set(0.0).at[:, 0].set(0.0)
    return -(ll + prior_value), grad, jnp.where(profile, schur, hess), ll, u


def _lm_step(g, hess, lam, done, max_step=2.0):
    """Levenberg–Marquardt step −(H + λ |diag H|)⁻¹ g, at most ``max_step`` long (u units); with the
    profile's Hessian (row and column 0 zero) the step leaves u₀ alone."""
    free = jnp.diag(hess) != 0
    damped = hess + jnp.diag(jnp.where(free, lam * jnp.abs(jnp.diag(hess)) + 1e-9, 1.0))
    step = jnp.where(free, -jnp.linalg.solve(damped, jnp.where(free, g, 0.0)), 0.0)
    step = jnp.where(jnp.all(jnp.isfinite(step)), step, -g)
    step = step * jnp.minimum(1.0, max_step / jnp.maximum(jnp.linalg.norm(step), 1e-300))
    return jnp.where(done, 0.0, step)


DECREMENT_TOLERANCE = 1e-9
"""A Levenberg–Marquardt run has converged when its Newton decrement ½ gᵀH⁻¹g (the decrease in
nats a full Gauss–Newton step would still give; H positive definite) is below this, or |g| < 1e-7."""
LM_ROUND = 5
"""Levenberg–Marquardt iterations per compiled call of :func:`fit_map_batch`; between rounds the
datasets whose best run has converged leave the batch."""


def _lm_converged(g, hess):
    newton = -jnp.linalg.solve(hess + jnp.diag(jnp.where(jnp.diag(hess) != 0, 0.0, 1.0)), g)
    decrement = -0.5 * jnp.sum(g * newton)
    return ((decrement >= 0) & (decrement < DECREMENT_TOLERANCE)) | (jnp.max(jnp.abs(g)) < 1e-7)


@functools.partial(jax.jit, static_argnames=("n_screen", "n_starts"))
def _lm_start(keys, data, table, *, n_screen, n_starts):
    """Screen ``n_screen`` prior draws of every dataset in ``data`` (leaves (B, ...)), η at its
    conditional mode; the Levenberg–Marquardt state (B, n_starts, ...) at the ``n_starts`` best, not yet
    evaluated (f = ∞, no step): the first iteration of :func:`_lm_round` evaluates it."""
    dim = len(PARAM_NAMES)

    def one(key, dataset):
        u, lp = _screen(sample_prior(key, dataset, n_screen), dataset, table)
        zeros = jnp.zeros((n_starts, dim))
        return (u[jax.lax.top_k(lp, n_starts)[1]], jnp.full(n_starts, jnp.inf), zeros,
                jnp.zeros((n_starts, dim, dim)), jnp.zeros(n_starts), jnp.full(n_starts, 1e-3),
                jnp.full(n_starts, 2.0), jnp.zeros(n_starts, bool), zeros)

    return jax.vmap(one)(keys, data)


@jax.jit
def _lm_round(state, data, table, steps):
    """``steps`` (traced) Levenberg–Marquardt iterations of every run in ``state``: one evaluation
    each (the first of a run evaluates its start); a refused step raises λ, an accepted one lowers it
    as far as the step's gain ratio allows (Nielsen 1999)."""
    def one(state, dataset):
        evaluate = jax.vmap(lambda p: _lm_evaluate(p, True, dataset, table))

        def body(_, state):
            x, f, g, hess, ll, lam, nu, done, step = state
            ft, gt, ht, llt, points = evaluate(x + step)
            ok = jnp.isfinite(ft) & jnp.all(jnp.isfinite(gt), -1) & jnp.all(jnp.isfinite(ht), (-2, -1))
            first = jnp.isinf(f) & (f > 0)   # the start, not yet evaluated (or nowhere finite)
            accept = ok & (ft <= f) & ~done
            predicted = -jnp.sum(g * step, -1) - 0.5 * jnp.einsum("ni,nij,nj->n", step, hess, step)
            gain = jnp.where(ok, (f - ft) / jnp.maximum(predicted, 1e-300), -1.0)
            lam = jnp.where(first, lam, jnp.clip(jnp.where(
                accept, lam * jnp.clip(1.0 - (2.0 * gain - 1.0) ** 3, 1.0 / 3.0, 1.0), lam * nu), 1e-9, 1e12))
            nu = jnp.where(accept | first, 2.0, 2.0 * nu)
            pick = lambda a, b: jnp.where(accept.reshape(accept.shape + (1,) * (a.ndim - 1)), a, b)
            x, f, g, hess, ll = pick(points, x), pick(ft, f), pick(gt, g), pick(ht, hess), pick(llt, ll)
            done = done | (accept & jax.vmap(_lm_converged)(g, hess))
            return x, f, g, hess, ll, lam, nu, done, jax.vmap(_lm_step)(g, hess, lam, done)

        return jax.lax.fori_loop(0, steps, body, state)

    return jax.vmap(one)(state, data)


@jax.jit
def _lm_finish(x, data, table):
    """The Laplace Hessian of every dataset's run at ``x`` (B, 4) by central differences of the exact
    gradient, and the physical parameters with their Jacobian."""
    dim = len(PARAM_NAMES)
    eps = _HESSIAN_STEP
    offsets = jnp.concatenate([eps * jnp.eye(dim), -eps * jnp.eye(dim)])

    def one(x, dataset):
        grads = jax.vmap(lambda p: _lm_evaluate(p, False, dataset, table)[1])(x + offsets)
        hess = (grads[:dim] - grads[dim:]) / (2.0 * eps)
        theta, jac = jax.tree.map(lambda a: a[0], _theta_and_jacobian(x[None], dataset))
        return 0.5 * (hess + hess.T), theta, jac

    return jax.vmap(one)(x, data)


def _in_batches(fn, indices, size, *arrays):
    """``fn(*[a[part] for a in arrays])`` over ``indices`` in parts of ``size`` (each padded to it with
    copies of its first index: one compiled shape); outputs (NumPy) in the order of ``indices``."""
    outs = []
    for start in range(0, len(indices), size):
        part = indices[start:start + size]
        padded = np.concatenate([part, np.full(size - len(part), part[0])])
        res = fn(*[jax.tree.map(lambda a: a[padded], x) for x in arrays])
        outs.append(jax.tree.map(lambda a: np.asarray(a)[:len(part)], res))
    return jax.tree.map(lambda *a: np.concatenate(a), *outs)


def _validate_circuits(datasets):
    """Every row's power possible in its circuit (a power above V_s²/4R_s raises eagerly): one call for
    all rows, and on an error one per dataset, so that the error is the first bad dataset's."""
    column = lambda f: np.concatenate([np.broadcast_to(np.asarray(f(d), dtype=float), (d.n_rows,)) for d in datasets])
    try:
        jaxqpc.conductance_from_power(column(lambda d: d.power), column(lambda d: d.source_voltage),
                                      column(lambda d: d.series_resistance))
    except ValueError:
        for d in datasets:
            jaxqpc.conductance_from_power(d.power, d.source_voltage, d.series_resistance)
        raise


def fit_map_batch(datasets, *, key, table=None, n_screen=32, n_starts=2, steps=60, batch_size=64):
    """The MAP (Poisson, the u-mode, as :func:`fit_map`) of many datasets, using the model's structure.

    The expected counts are linear in η, μ_i = η s_i(θ) + d_i, so for any θ = (Lc, R0, h) the
    density's η part is concave and its mode a 1-D root (:func:`_eta_mode`, no physics). Each dataset
    (rows with equal power, counting time and dark rate merged first, exactly:
    :func:`inference.quadrature.merge_rows`, which halves the physics of two detectors) gets:

    1. ``n_screen`` draws from its prior, η moved to its conditional mode (one physics evaluation
       each): the η–geometry degeneracy and the "no signal" plateau, where :func:`fit_map` needs
       Adam, are gone;
    2. at most ``steps`` Levenberg–Marquardt iterations from the ``n_starts`` best of them, on the
       profile over (Lc, R0, h) with η at its conditional mode (:func:`_lm_evaluate`: exact gradient,
       Gauss–Newton Hessian, one evaluation with three forward-mode tangents per iteration; the
       damping follows the gain ratio, Nielsen 1999), until the Newton decrement is below
       :data:`DECREMENT_TOLERANCE`;
    3. the Laplace Hessian by central differences of the exact gradient, as :func:`fit_map`.

    Datasets of the same merged shape (rows, detectors) are fitted together in batches of
    ``batch_size`` (the last padded with copies), vmapped over datasets and starts in one compiled
    call; dataset i draws with ``jax.random.split(key, len(datasets))[i]``. The iterations run in
    rounds of :data:`LM_ROUND`; after each, the datasets whose best run (highest density) has
    converged leave (their other runs stop where they are), and the others are batched anew, so that
    a few slow fits do not hold up the rest. The mode is
    :func:`fit_map`'s (``tests/test_inference_fit.py::test_map_batch_finds_the_mode_of_fit_map``);
    ``start_converged`` says which runs converged within ``steps``. The multi-start statistics count
    the ``n_starts`` runs. Returns a list of :class:`MapResult` in the order of ``datasets`` (log
    posterior and log-likelihood of the original rows); ``wall_s`` is the call's wall time divided by
    the number of datasets. Agreement with :func:`fit_map` and throughput: docs/batch-gpu.md.
    """
    from .quadrature import merge_rows

    if table is None:
        table = jaxqpc.YieldTable()
    for name, value, low in (("n_screen", n_screen, 1), ("n_starts", n_starts, 1), ("steps", steps, 0),
                             ("batch_size", batch_size, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {value}")
    if n_starts > n_screen:
        raise ValueError(f"`n_starts` ({n_starts}) cannot exceed `n_screen` ({n_screen})")
    datasets = list(datasets)
    _validate_circuits(datasets)
    keys = np.asarray(jax.random.split(key, len(datasets)))
    merged = [merge_rows(d) for d in datasets]
    shapes = [(m.n_rows, len(m.dark_rate)) for m, _ in merged]
    batch_size = int(batch_size)
    out = [None] * len(datasets)
    t0 = time.perf_counter()
    for shape in sorted(set(shapes)):
        group = np.asarray([i for i, s in enumerate(shapes) if s == shape])
        data = jax.tree.map(lambda *x: np.stack(x), *[_as_arrays(merged[i][0], np) for i in group])
        local, size = np.arange(len(group)), min(batch_size, len(group))
        state = _in_batches(lambda k, d: _lm_start(k, d, table, n_screen=int(n_screen), n_starts=int(n_starts)),
                            local, size, keys[group], data)
        active, left = local, int(steps) + 1   # the starts' evaluation, then `steps` iterations
        while left > 0 and len(active):   # rounds; the converged datasets leave the batch
            n = min(LM_ROUND, left)
            new = _in_batches(lambda st, d: _lm_round(st, d, table, n), active, size, state, data)
            for x, y in zip(state, new):
                x[active] = y
            left -= n
            best = np.argmin(state[1][active], axis=1)   # f = −log p: the best run of each dataset
            active = active[~state[7][active, best]]
        x, f, g, _, ll, _, _, done, _ = state
        lp = np.where(np.isfinite(f), -f, -np.inf)
        best = np.argmax(lp, axis=1)
        pick = lambda a: a[local, best]
        hess, theta, jac = _in_batches(lambda u, d: _lm_finish(u, d, table), local, size, pick(x), data)
        for j, i in enumerate(group):
            out[i] = (x[j], lp[j] + merged[i][1], ll[j] + merged[i][1], int(best[j]), g[j, best[j]], hess[j],
                      theta[j], jac[j], done[j])
    wall = (time.perf_counter() - t0) / len(datasets)
    return [_laplace(*args, wall) for args in out]


def _laplace(u, lp, ll, best, grad, hess, theta, jac, done, wall):
    n = len(PARAM_NAMES)
    nan = np.full((n, n), np.nan)
    ok = bool(np.all(np.isfinite(hess)))
    if ok:
        hess = 0.5 * (hess + hess.T)
        ok = bool(np.all(np.linalg.eigvalsh(hess) > 0))
    cov_u = np.linalg.inv(hess) if ok else nan
    cov = jac @ cov_u @ jac.T if ok else nan
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    u_best = u[best]
    return MapResult(
        params={k: float(theta[i]) for i, k in enumerate(PARAM_NAMES)},
        u=u_best, log_posterior=float(lp[best]), log_likelihood=float(ll[best]),
        sd={k: float(sd[i]) for i, k in enumerate(PARAM_NAMES)},
        correlation=corr, covariance=cov, covariance_u=cov_u, sd_u=np.sqrt(np.diag(cov_u)),
        hessian_ok=ok, grad_norm=float(np.linalg.norm(grad)),
        fraction_near_best=float(np.mean(lp >= lp[best] - 1.0)),
        start_log_posterior=lp, start_log_likelihood=ll, start_u=u, start_converged=done,
        wall_s=wall)


def laplace_draws(result, dataset, key, n=4000):
    """Draws from the Laplace approximation (Gaussian in ``u``) mapped to physical parameters.

    Returns a dict of arrays (n,). Unlike the delta-method ``sd``, these respect
    the domain (R0 ≥ R0_min, Lc ≤ 1.5 R0, …): use their quantiles for intervals.
    """
    if not result.hessian_ok:
        raise ValueError("the Hessian at the MAP is not positive definite: no Laplace approximation")
    chol = np.linalg.cholesky(result.covariance_u)
    z = jax.random.normal(key, (n, len(PARAM_NAMES)))
    u = jnp.asarray(result.u) + z @ jnp.asarray(chol).T
    return {k: np.asarray(v) for k, v in to_physical(u, dataset).items()}


def _benchmark(n_starts=32):
    """Compile and run times of :func:`fit_map` on 120-row datasets (prints a table).

    Two datasets: the bundled two-detector example (``inference.data.load_example``)
    and a one-detector sweep N = 3.5 … 8 with 10 ms bins (P = V_c² N G0, Poisson
    counts at the example's truth), which holds very little signal.
    """
    from .data import example_metadata, load_example
    from .dataset import Dataset
    from .likelihood import expected_counts

    jax.config.update("jax_enable_x64", True)
    truth = example_metadata()["truth"]
    t = time.perf_counter()
    table = jaxqpc.YieldTable()
    print(f"YieldTable build: {time.perf_counter() - t:.2f} s")

    g0 = jaxqpc.CONDUCTANCE_QUANTUM_S
    n = np.linspace(3.5, 8.0, 120)
    vs, rs = 0.7, 470.0
    power = (vs / (1.0 + rs * n * g0)) ** 2 * n * g0
    sweep = Dataset(power=jnp.asarray(power), counts=jnp.zeros(120), bin_time=jnp.full(120, 0.01),
                    detector=jnp.zeros(120, int), source_voltage=vs, series_resistance=rs,
                    dark_rate=(300.0,))
    mu = jax.jit(expected_counts)(truth, sweep, table)
    sweep = eqx.tree_at(lambda d: d.counts, sweep,
                        jax.random.poisson(jax.random.PRNGKey(0), mu).astype(float))

    for name, ds in (("example (2 detectors)", load_example()), ("sweep N=3.5..8, 10 ms", sweep)):
        first = fit_map(ds, key=jax.random.PRNGKey(1), table=table, n_starts=n_starts)
        runs = [fit_map(ds, key=jax.random.PRNGKey(k), table=table, n_starts=n_starts).wall_s
                for k in (2, 3, 4)]
        ll_truth = float(jax.jit(log_likelihood)(truth, ds, table))
        print(f"\n{name}: {ds.n_rows} rows, {n_starts} starts: first call (compile + run) "
              f"{first.wall_s:.2f} s, compiled runs {min(runs):.2f}-{max(runs):.2f} s")
        print(first.summary())
        print(f"  truth {truth}: log-likelihood {ll_truth:.3f}; z = (MAP - truth)/sd: "
              + ", ".join(f"{k} {(first.params[k] - truth[k]) / first.sd[k]:+.2f}"
                          for k in PARAM_NAMES))


if __name__ == "__main__":
    _benchmark()
