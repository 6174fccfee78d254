"""Bayesian fits of (η, Lc, R0, h) with NumPyro samplers, for one dataset or many at once.

:func:`fit_posterior` samples the posterior density of the unconstrained
coordinates ``u`` (:func:`inference.likelihood.log_posterior_unconstrained`:
Poisson or negative-binomial likelihood, the documented priors of
:data:`inference.likelihood.PRIOR` and the log-Jacobian of the bijection in
:mod:`inference.params`) with one of three NumPyro kernels:

* ``"aies"`` (default): the affine-invariant ensemble sampler
  (``numpyro.infer.AIES``, the algorithm of emcee) with 80 % differential-
  evolution and 20 % stretch moves; ``walkers`` walkers (32) form one ensemble.
* ``"ess"``: the ensemble slice sampler (``numpyro.infer.ESS``, Karamanis &
  Beutler 2021) with its differential move, walkers kept in place
  (``randomize_split=False``, so that each walker is a chain for R-hat).
* ``"nuts"``: NUTS with a dense mass matrix adapted in warm-up, ``chains``
  (4) independent chains, target acceptance 0.9.

Why AIES is the default kernel (``jaxqpc fit`` itself uses
:mod:`inference.quadrature`). The posterior is a curved ridge in (η, Lc, R0) with
h flat over six decades and η piling up against 1 (docs/fitting.md;
``inference.optimize``). The coordinates of :mod:`inference.params` already
follow the physics' own variables (Lc as a fraction of R0, R0 relative to its
data-implied minimum N_max λF/4), which removes most of the Lc–R0
correlation; what is left is curvature, which no linear preconditioning
removes. NUTS needs tens of leapfrog steps per draw on this ridge (each a
gradient of the physics); the slice sampler needs ~10 density evaluations per
walker update; AIES needs one, without gradient, for all walkers at once
(vectorised), so its long autocorrelation time is cheap to pay. The kernels
agree on the quantiles (tested); their measured speed is in docs/fitting.md.
The default length, 32 walkers × 30000 draws, is set by R-hat across walkers
(≤ 1.01 needs ~100–150 autocorrelation times per walker), not by ESS.

Starting points: every kernel starts from :func:`initial_points` around a
multi-start MAP (``inference.optimize``), not from prior draws (see there).

Ensemble chains. For the ensemble kernels every walker is reported as a
"chain" (ArviZ's convention for emcee). Walkers interact, so R-hat and ESS
across walkers are the usual ensemble diagnostics (emcee/ArviZ), computed by
:mod:`inference.diagnostics`.

All datasets of one call are sampled by a single compiled function:
``jax.vmap`` over the datasets (the experiment metadata travel as arrays, so
every dataset of the same shape reuses the compilation), sharded over the
devices when there are several and the number of datasets is a multiple of
their count (GPU batch inference: :func:`fit_posterior_batch`). Progress is
printed from inside the compiled loop (``jax.debug.callback``) every 10 %.
"""

import math
import sys
import time
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxqpc

from .likelihood import counts_log_pmf, expected_counts, log_posterior_unconstrained
from .optimize import _as_arrays, fit_map
from .params import PARAM_NAMES, n_free, to_physical

__all__ = [
    "SAMPLERS",
    "H_MODELS",
    "Posterior",
    "fit_posterior",
    "fit_posterior_batch",
    "DEFAULT_LENGTHS",
    "initial_points",
    "pointwise_log_likelihood",
    "log_likelihood_of_expected",
    "expected_counts_draws",
]

SAMPLERS = ("aies", "ess", "nuts")
"""Available kernels; the first is the default (see the module docstring)."""

H_MODELS = {"free": None, "zero": 0.0, "infinite": math.inf}
"""The side-wall models: h sampled (log-uniform prior), or fixed at h → 0 (corrected Eq. 5) or h → ∞ (Eq. 4)."""


class Posterior(eqx.Module):
    """Draws of one Bayesian fit (NumPy arrays; ``chains`` are walkers for the ensemble kernels).

    Attributes:
        sampler: the kernel (:data:`SAMPLERS`). h_model: key of :data:`H_MODELS`.
        u: unconstrained draws, shape (chains, draws, 4) (3 with h fixed).
        params: dict name → (chains, draws) in physical units (η, Lc in nm, R0 in nm, h).
        diverging: (chains, draws) bool, divergent NUTS transitions (all False for ensembles).
        num_steps: (chains, draws) leapfrog steps per NUTS draw (zeros for the ensembles).
        num_warmup: warm-up iterations (discarded) per chain.
        wall_s: wall time of the sampling call including compilation (s), shared by
            all datasets of a batch.
        expected: (chains, draws, rows) expected counts μ_i of the draws when the fitter has
            computed them (the quadrature), else None (:func:`expected_counts_draws` computes them).
    """

    sampler: str = eqx.field(static=True)
    h_model: str = eqx.field(static=True)
    u: np.ndarray
    params: dict
    diverging: np.ndarray
    num_steps: np.ndarray
    num_warmup: int = eqx.field(static=True)
    wall_s: float = eqx.field(static=True)
    expected: object = None

    @property
    def h(self):
        """The fixed h of the model (None when h is sampled)."""
        return H_MODELS[self.h_model]

    @property
    def n_chains(self):
        return self.u.shape[0]

    @property
    def n_draws(self):
        return self.u.shape[1]

    def flat(self):
        """Physical draws with chains and draws merged: dict name → (chains·draws,)."""
        return {k: v.reshape(-1) for k, v in self.params.items()}


def _kernel(sampler, potential, target_accept):
    with jax.ensure_compile_time_eval():  # NumPyro checks the move weights with jnp at construction
        return _make_kernel(sampler, potential, target_accept)


def _make_kernel(sampler, potential, target_accept):
    from numpyro.infer import AIES, ESS, NUTS  # here: the quadrature's users need not import NumPyro

    if sampler == "ess":
        return ESS(potential_fn=potential, randomize_split=False)
    if sampler == "aies":
        return AIES(potential_fn=potential, moves={AIES.DEMove(): 0.8, AIES.StretchMove(): 0.2})
    return NUTS(potential_fn=potential, dense_mass=True, target_accept_prob=target_accept)


_PROGRESS = {}


def _report(i, total, n_warmup):
    """A tqdm progress bar on stderr (called from the compiled loop every 10 % of the iterations)."""
    from tqdm.auto import tqdm

    done, total = int(i) + 1, int(total)
    bar = _PROGRESS.get("bar")
    if bar is None or done <= bar.n:  # a new run (or the next dataset of a batch)
        if bar is not None:
            bar.close()
        bar = _PROGRESS["bar"] = tqdm(total=total, file=sys.stderr, unit="it", leave=False)
    bar.set_description("jaxqpc warm-up" if done <= n_warmup else "jaxqpc sampling", refresh=False)
    bar.update(done - bar.n)
    if done >= total:
        bar.close()
        _PROGRESS.pop("bar")


def _sample_one(key, data, init, table, *, sampler, model, concentration, h, num_warmup, num_samples,
                target_accept, progress):
    """Warm-up and sampling of one dataset (traced; vmapped over datasets)."""
    def potential(u):
        return -log_posterior_unconstrained(u, data, table, model=model, concentration=concentration,
                                            h=h)

    kernel = _kernel(sampler, potential, target_accept)
    n = init.shape[0]
    k_chains = jax.random.split(key)[1]
    if sampler == "nuts":
        state = jax.vmap(lambda k, x: kernel.init(k, num_warmup, x, (), {}))(
            jax.random.split(k_chains, n), init)
        step = jax.vmap(lambda s: kernel.sample(s, (), {}))

        def record(s):
            return s.z, s.diverging, s.num_steps.astype(jnp.int32)
    else:
        state = kernel.init(jax.random.split(k_chains, n), num_warmup, init, (), {})
        step = partial(kernel.sample, model_args=(), model_kwargs={})

        def record(s):
            return s.z, jnp.zeros(n, bool), jnp.zeros(n, jnp.int32)

    total = num_warmup + num_samples
    every = max(total // 10, 1)

    def body(s, i):
        s = step(s)
        if progress:
            jax.lax.cond((i + 1) % every == 0,
                         lambda: jax.debug.callback(_report, i, total, num_warmup), lambda: None)
        return s, record(s)

    _, (z, div, steps) = jax.lax.scan(body, state, jnp.arange(total))
    # (iterations, chains, …) → (chains, draws, …) after warm-up
    return (jnp.swapaxes(z[num_warmup:], 0, 1), jnp.swapaxes(div[num_warmup:], 0, 1),
            jnp.swapaxes(steps[num_warmup:], 0, 1))


@partial(jax.jit, static_argnames=("sampler", "model", "h", "num_warmup", "num_samples",
                                   "target_accept", "progress"))
def _sample_batch(keys, data, init, table, concentration, **static):
    return jax.vmap(lambda k, d, x: _sample_one(k, d, x, table, concentration=concentration, **static))(
        keys, data, init)


def _check_options(sampler, h_model, num_warmup, num_samples, n, model, concentration):
    if sampler not in SAMPLERS:
        raise ValueError(f"`sampler` must be one of {SAMPLERS}, got {sampler!r}")
    if h_model not in H_MODELS:
        raise ValueError(f"`h_model` must be one of {tuple(H_MODELS)}, got {h_model!r}")
    if int(num_warmup) < 0 or int(num_samples) < 1:
        raise ValueError(f"need num_warmup >= 0 and num_samples >= 1, got {num_warmup}, {num_samples}")
    k = n_free(H_MODELS[h_model])
    if sampler == "nuts":
        if n < 1:
            raise ValueError(f"`chains` must be >= 1, got {n}")
    elif n < 2 * k or n % 2:
        raise ValueError(f"the ensemble samplers need an even number of walkers >= {2 * k} "
                         f"(twice the {k} parameters), got {n}")
    if model not in ("poisson", "negbinomial"):
        raise ValueError(f"`model` must be 'poisson' or 'negbinomial', got {model!r}")
    if model == "negbinomial" and (concentration is None or not concentration > 0):
        raise ValueError("model='negbinomial' needs a fixed `concentration` φ > 0")


def _shard(tree, n_batch):
    """Shard the leading (dataset) axis over the devices when there are several and it divides."""
    from .quadrature import _placement  # the one sharding rule of the package's batches

    devices = jax.local_devices()
    return tree if n_batch % len(devices) else _placement(devices)(tree)


DEFAULT_LENGTHS = {"aies": (2000, 30000), "ess": (1000, 2000), "nuts": (1000, 1000)}
"""(num_warmup, num_samples) per chain or walker used when they are not given."""


def fit_posterior_batch(datasets, *, key, table=None, sampler="aies", h_model="free", num_warmup=None,
                        num_samples=None, walkers=32, chains=4, target_accept=0.9, model="poisson",
                        concentration=None, init=None, maps=None, progress=False):
    """Sample the posteriors of several datasets of the same shape at once (one compiled call).

    Args:
        datasets: a list of :class:`~inference.dataset.Dataset` with the same number of rows and
            detectors (their metadata may differ).
        key: ``jax.random`` key (split per dataset).
        table: a prebuilt :class:`jaxqpc.YieldTable` (built here if None, ~2 s).
        sampler: ``"aies"`` (default), ``"ess"`` or ``"nuts"`` (module docstring).
        h_model: ``"free"`` (h sampled), ``"zero"`` or ``"infinite"`` (h fixed at the limit).
        num_warmup, num_samples: iterations per chain/walker (default :data:`DEFAULT_LENGTHS`);
            the ``num_warmup`` first are discarded (NUTS adapts its step size and dense mass
            matrix there, ESS its slice width; AIES just forgets its start).
        walkers: ensemble size (ensemble kernels; even, ≥ 2 × the number of parameters).
        chains: number of NUTS chains.
        target_accept: NUTS target acceptance probability.
        model, concentration: observation model (``inference.likelihood``); ``concentration`` φ
            is fixed for ``"negbinomial"``.
        init: optional starting points in ``u``, shape (n_datasets, walkers or chains, 4 or 3);
            default: :func:`initial_points` of a multi-start MAP fit of each dataset.
        maps: optional list of :class:`~inference.optimize.MapResult` (one per dataset, h free)
            to start from (default: fitted here, ~7 s compilation then ~0.7 s per dataset).
        progress: show a progress bar (tqdm, stderr), updated every 10 % of the iterations.
    Returns:
        list of :class:`Posterior`, one per dataset.
    """
    datasets = list(datasets)
    if sampler in DEFAULT_LENGTHS:
        num_warmup = DEFAULT_LENGTHS[sampler][0] if num_warmup is None else num_warmup
        num_samples = DEFAULT_LENGTHS[sampler][1] if num_samples is None else num_samples
    if not datasets:
        raise ValueError("`datasets` is empty")
    n = int(chains if sampler == "nuts" else walkers)
    _check_options(sampler, h_model, num_warmup, num_samples, n, model, concentration)
    shapes = {(d.n_rows, len(d.dark_rate)) for d in datasets}
    if len(shapes) > 1:
        raise ValueError(f"all datasets of a batch need the same (rows, detectors); got {sorted(shapes)}")
    for d in datasets:  # validates eagerly: a power above V_s²/4R_s raises here
        jaxqpc.conductance_from_power(d.power, d.source_voltage, d.series_resistance)
    table = jaxqpc.YieldTable() if table is None else table
    h = H_MODELS[h_model]
    data = jax.tree.map(lambda *x: jnp.stack(x), *[_as_arrays(d) for d in datasets])
    keys = jax.random.split(key, len(datasets))
    if init is None:
        if maps is None:
            maps = [fit_map(d, key=jax.random.fold_in(k, 1), table=table, model=model,
                            concentration=None if model == "poisson" else concentration)
                    for k, d in zip(keys, datasets)]
        init = jnp.stack([initial_points(m, d, jax.random.fold_in(k, 2), n, h)
                          for m, k, d in zip(maps, keys, datasets)])
    init = jnp.asarray(init, dtype=float)
    expected = (len(datasets), n, n_free(h))
    if init.shape != expected:
        raise ValueError(f"`init` must have shape {expected}, got {init.shape}")
    concentration = jnp.asarray(1.0 if concentration is None else concentration, dtype=float)
    keys, data, init = _shard((keys, data, init), len(datasets))

    t0 = time.perf_counter()
    z, div, steps = jax.block_until_ready(_sample_batch(
        keys, data, init, table, concentration, sampler=sampler, model=model, h=h,
        num_warmup=int(num_warmup), num_samples=int(num_samples), target_accept=float(target_accept),
        progress=bool(progress)))
    wall = time.perf_counter() - t0
    out = []
    for b, d in enumerate(datasets):
        u = np.asarray(z[b])
        params = {k: np.asarray(v) for k, v in to_physical(u, d, h).items()}
        out.append(Posterior(sampler=sampler, h_model=h_model, u=u, params=params,
                             diverging=np.asarray(div[b]), num_steps=np.asarray(steps[b]),
                             num_warmup=int(num_warmup), wall_s=wall))
    return out


def initial_points(map_result, dataset, key, n, h=None):
    """``n`` starting points in ``u`` around a MAP: draws of its Laplace Gaussian (n, 4 or 3).

    Why not prior draws: walkers or chains started in the far tails of this
    posterior (η → 0 with Lc → 1.5 R0, > 100 nats below the mode) can stay
    there for the whole run (an ensemble's moves are built from the other
    walkers, which point elsewhere), giving a spurious tail. The multi-start
    MAP finds the mode reliably; its Laplace covariance, widened 2×, spreads
    the starts over the bulk, and warm-up does the rest. With ``h`` fixed the
    h coordinate is dropped and the starts are those of the free-h MAP for
    (η, Lc, R0). If the Hessian is not positive definite the Gaussian has the
    spread of the multi-start end points instead.
    """
    if map_result.hessian_ok:
        chol = np.linalg.cholesky(map_result.covariance_u)
    else:
        chol = np.diag(np.std(map_result.start_u, axis=0) + 0.1)
    z = jax.random.normal(key, (n, chol.shape[0]))
    u = jnp.asarray(map_result.u) + 2.0 * z @ jnp.asarray(chol).T
    return u if h is None else u[:, :3]


def fit_posterior(dataset, *, key, **options):
    """Sample the posterior of one dataset; options as :func:`fit_posterior_batch`.

    Returns:
        :class:`Posterior`.
    """
    if options.get("init") is not None:
        options["init"] = jnp.asarray(options["init"], dtype=float)[None]
    if options.get("maps") is not None:
        options["maps"] = [options["maps"]]
    return fit_posterior_batch([dataset], key=key, **options)[0]


_CHUNK = 256
"""Draws evaluated together (``lax.map`` batch) when a function is applied to many draws."""


@jax.jit
def _expected(params, data, table):
    return jax.lax.map(lambda p: expected_counts(p, data, table), params, batch_size=_CHUNK)


@partial(jax.jit, static_argnames=("model",))
def _log_pmf(counts, mu, concentration, *, model):
    return counts_log_pmf(counts, mu, model=model, concentration=concentration)


def _over_draws(fn, params, dataset, *args, **kw):
    shape = np.shape(params["eta"])
    flat = {k: jnp.asarray(params[k], dtype=float).reshape(-1) for k in PARAM_NAMES}
    out = np.asarray(fn(flat, _as_arrays(dataset), *args, **kw))
    return out.reshape(shape + out.shape[1:])


def pointwise_log_likelihood(params, dataset, table, *, model="poisson", concentration=None):
    """log p(k_i | draw) for every draw and row: (…, rows) for ``params`` of shape (…) (PSIS-LOO).

    ``params``: dict of physical parameters (e.g. :attr:`Posterior.params`, or Laplace draws).
    """
    return log_likelihood_of_expected(expected_counts_draws(params, dataset, table), dataset, model=model,
                                      concentration=concentration)


def log_likelihood_of_expected(expected, dataset, *, model="poisson", concentration=None):
    """log p(k_i | μ_i) for expected counts ``expected`` (…, rows) of :func:`expected_counts_draws`
    (the physics is not evaluated again): :func:`pointwise_log_likelihood` from its μ."""
    conc = jnp.asarray(1.0 if concentration is None else concentration, dtype=float)
    return np.asarray(_log_pmf(jnp.asarray(dataset.counts, dtype=float), jnp.asarray(expected), conc, model=model))


def expected_counts_draws(params, dataset, table):
    """Expected counts μ_i (dark counts included) for every draw: (…, rows) for ``params`` of shape (…)."""
    return _over_draws(_expected, params, dataset, table)
