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


@pytest.mark.parametrize("point", POINTS)
def test_gradient_matches_central_differences(point):
    jac = np.array(_jacobian(*map(jnp.asarray, point)))  # (param, output)
    assert np.all(np.isfinite(jac))
    base = np.array(point, dtype=float)
    for k, name in enumerate(["mu", "bias", "kT", "length"]):
        h = 1e-6 if name != "kT" else 1e-7
        up, down = base.copy(), base.copy()
        up[k] += h
        if name == "kT" and base[k] == 0.0:  # one-sided: kT ≥ 0 (the derivative is 0 there)
            fd = (np.array(_values(*up)) - np.array(_values(*base))) / h
            tol = 1e-5
        else:
            down[k] -= h
            if name == "mu" and (base[0] - base[1] / 2 - h < 0):  # one-sided, inwards (μ_R ≥ 0)
                fd = (np.array(_values(*up)) - np.array(_values(*base))) / h
            elif name == "bias" and (base[0] - base[1] / 2 - h < 0):  # a larger bias leaves the domain
                fd = (np.array(_values(*base)) - np.array(_values(*down))) / h
            else:
                fd = (np.array(_values(*up)) - np.array(_values(*down))) / (2 * h)
            tol = 1e-5
        scale = np.maximum(np.abs(fd), np.abs(np.array(_values(*base))))
        err = np.abs(jac[k] - fd)
        assert np.all(err <= tol * (1.0 + scale)), f"d/d{name}: {jac[k]} vs FD {fd}"


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
