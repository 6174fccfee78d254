"""Gradients of every transport output w.r.t. mu, bias, kT and the length ℓ.

Finite everywhere in the documented domain (mu ∈ [0.5, 8], bias ∈ [0.01, 1],
kT ∈ [0, 0.1], ℓ ∈ [0.5, 2]), including exactly at channel thresholds and at
kT = 0, and equal to central finite differences.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc

FIELDS = jaxqpc.Transport._fields
N_CHANNELS = 4  # exact up to 16 E1 ≥ 8.5 + 36 × 0.1


def _outputs(mu, bias, kT, length):
    model = jaxqpc.AbruptQPC(length=length, n_channels=N_CHANNELS, grid_length=2.0)
    return jnp.stack(jaxqpc.transport(model, mu, bias, kT))


_jacobian = jax.jit(jax.jacfwd(_outputs, argnums=(0, 1, 2, 3)))
_values = jax.jit(_outputs)

POINTS = [
    # (mu, bias, kT, length): thresholds at mu, at μ_L, at μ_R, kT = 0, edges of the domain
    (1.0, 0.2, 0.0, 1.0),
    (4.0, 0.5, 0.0, 1.0),
    (4.25, 0.5, 0.0, 1.0),  # μ_R = 4 exactly
    (3.75, 0.5, 0.0, 1.0),  # μ_L = 4 exactly
    (1.0 + 1e-6, 0.01, 0.0, 0.5),
    (0.5, 1.0, 0.0, 2.0),  # μ_R = 0
    (8.0, 1.0, 0.1, 2.0),
    (1.0, 0.2, 0.04, 1.0),
    (4.0, 0.01, 0.001, 1.0),
    (9.0 - 1e-6, 0.3, 0.02, 0.7),
]


def _central_or_one_sided(point):
    """Per parameter (mu, bias, kT, length): (up, down, step), FD = (f(up) - f(down)) / step."""
    base = np.array(point, dtype=float)
    out = []
    for k, name in enumerate(["mu", "bias", "kT", "length"]):
        h = 1e-6 if name != "kT" else 1e-7
        up, down = base.copy(), base.copy()
        up[k] += h
        down[k] -= h
        if name == "kT" and base[k] == 0.0:  # one-sided: kT ≥ 0 (the derivative is 0 there)
            out.append((up, base, h))
        elif name == "mu" and (base[0] - base[1] / 2 - h < 0):  # one-sided, inwards (μ_R ≥ 0)
            out.append((up, base, h))
        elif name == "bias" and (base[0] - base[1] / 2 - h < 0):  # a larger bias leaves the domain
            out.append((base, down, h))
        else:
            out.append((up, down, 2 * h))
    return out


@pytest.fixture(scope="module")
def jacobians_and_differences():
    """For every point: the Jacobian (one compiled function for all points) and the
    finite differences. Evaluations sharing (kT, length) go in one call with mu and
    bias arrays, so the thermal table is computed once per (kT, length), not per
    evaluation; every call has the same shapes (one compilation)."""
    results = []
    for point in POINTS:
        jac = np.array(_jacobian(*map(jnp.asarray, point)))  # (param, output)
        stencil = _central_or_one_sided(point)
        evals = [np.array(point, dtype=float)] + [x for up, down, _ in stencil for x in (up, down)]
        groups = {}
        for i, e in enumerate(evals):
            groups.setdefault((e[2], e[3]), []).append(i)
        values = [None] * len(evals)
        for (kT, length), idx in groups.items():
            mu = np.zeros(6)
            bias = np.ones(6)
            mu[: len(idx)] = [evals[i][0] for i in idx]
            bias[: len(idx)] = [evals[i][1] for i in idx]
            mu[len(idx):], bias[len(idx):] = mu[0], bias[0]  # padding: a valid point
            v = np.array(_values(jnp.asarray(mu), jnp.asarray(bias), jnp.asarray(kT), jnp.asarray(length)))
            for j, i in enumerate(idx):
                values[i] = v[:, j]
        fd = np.stack([(values[1 + 2 * k] - values[2 + 2 * k]) / step
                       for k, (_, _, step) in enumerate(stencil)])
        results.append((jac, fd, values[0]))
    return results


@pytest.mark.parametrize("index", range(len(POINTS)), ids=[f"point{i}" for i in range(len(POINTS))])
def test_gradient_matches_central_differences(jacobians_and_differences, index):
    jac, fd, base_value = jacobians_and_differences[index]
    assert np.all(np.isfinite(jac))
    tol = 1e-5
    for k, name in enumerate(["mu", "bias", "kT", "length"]):
        scale = np.maximum(np.abs(fd[k]), np.abs(base_value))
        err = np.abs(jac[k] - fd[k])
        assert np.all(err <= tol * (1.0 + scale)), f"d/d{name}: {jac[k]} vs FD {fd[k]}"


def test_kT_derivative_vanishes_at_zero_temperature():
    jac = _jacobian(jnp.asarray(2.3), jnp.asarray(0.4), jnp.asarray(0.0), jnp.asarray(1.0))
    np.testing.assert_allclose(np.array(jac[2]), 0.0, atol=1e-12)


def test_no_nan_or_inf_in_values_or_gradients_on_10k_random_points():
    """Seeded sweep of the domain: values and all 20 partial derivatives finite."""
    rng = np.random.default_rng(20221105)
    n_lengths, per_length = 8, 1250
    lengths = rng.uniform(0.5, 2.0, n_lengths)

    @jax.jit
    def sweep(mu, bias, kT, length):
        def f(mu, bias, kT, length):
            model = jaxqpc.AbruptQPC(length=length, n_channels=N_CHANNELS, grid_length=2.0)
            return jnp.stack(jaxqpc.transport(model, mu, bias, kT))

        ones = jnp.ones_like(mu)
        value = f(mu, bias, kT, length)
        tangents = [
            jax.jvp(lambda x: f(x, bias, kT, length), (mu,), (ones,))[1],
            jax.jvp(lambda x: f(mu, x, kT, length), (bias,), (ones,))[1],
            jax.jvp(lambda x: f(mu, bias, x, length), (kT,), (ones,))[1],
            jax.jvp(lambda x: f(mu, bias, kT, x), (length,), (jnp.ones_like(length),))[1],
        ]
        return value, jnp.stack(tangents)

    total = 0
    for length in lengths:
        mu = rng.uniform(0.5, 8.0, per_length)
        bias = rng.uniform(0.01, 1.0, per_length)
        kT = rng.uniform(0.0, 0.1, per_length)
        # a tenth of the points exactly at thresholds, a tenth at kT = 0
        k = per_length // 10
        mu[:k] = rng.choice([1.0, 4.0], k)
        kT[k:2 * k] = 0.0
        mu = np.maximum(mu, bias / 2)  # μ_R ≥ 0
        value, grads = sweep(*map(jnp.asarray, (mu, bias, kT, length)))
        assert np.all(np.isfinite(np.asarray(value))), "non-finite value"
        assert np.all(np.isfinite(np.asarray(grads))), "non-finite gradient"
        total += per_length
    assert total >= 10_000
