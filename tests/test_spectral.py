"""The map machinery of ``transport``: blocks, tables restricted to the windows' range, index helpers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from jaxqpc import _grid, _landauer

MODEL = jaxqpc.AbruptQPC(1.0, n_channels=4)
TABLE = jax.jit(_landauer.thermal_table)  # one compilation for every kT and range below


def test_blockwise_matches_one_block():
    """Blocks written in place, the last one shifted back: the values of one call on all points
    (to rounding: the two compilations may contract multiply-adds differently)."""
    x = jnp.linspace(0.0, 1.0, 1001)
    fn = lambda a, b: (a * b + 1.0, jnp.sin(a))
    blocked = _landauer._blockwise(fn, 64, x, x[::-1])
    whole = fn(x, x[::-1])
    for got, want in zip(blocked, whole):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kT", [0.0, 0.04])
def test_table_restricted_to_the_windows(kT):
    """Tables built only where the windows reach give the integrals of the whole-grid tables."""
    mu = jnp.linspace(2.0, 3.0, 9)
    bias = jnp.full(9, 0.3)
    part = TABLE(MODEL, kT, 1.8, 3.2)
    whole = TABLE(MODEL, kT, -np.inf, np.inf)
    grid = MODEL._grid
    a, b = mu - 0.5 * bias, mu + 0.5 * bias
    for got, want in zip(part.window(grid, a, b, mu), whole.window(grid, a, b, mu)):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-16)
    assert float(jnp.max(jnp.abs(part.coef[:, -1]))) == 0.0  # the top piece was skipped


def test_empty_map():
    assert jaxqpc.transport(MODEL, jnp.zeros((0, 3)), 0.1, 0.04).current.shape == (0, 3)


def test_index_helpers():
    j = jnp.arange(512, dtype=jnp.int32)
    np.testing.assert_array_equal(_grid.computed_once(j, 512), j)
    values = jnp.linspace(0.0, 1.0, 512)
    np.testing.assert_array_equal(_grid.take(values, j[::-1]), values[::-1])
