"""Batches sharded over several devices (host CPU devices forced by XLA_FLAGS, in subprocesses).

Its own module so that, under pytest-xdist, it runs beside the other sampler tests.
"""

import os
import subprocess
import sys

import pytest

AIES = """
import os, jax
import jax.numpy as jnp, numpy as np, jaxqpc
from inference.data import load_example
from inference.likelihood import sample_prior
from inference.sample import fit_posterior_batch
assert len(jax.devices()) == 2, jax.devices()
ds = load_example()
init = jnp.stack([sample_prior(jax.random.PRNGKey(i), ds, 8) for i in range(2)])
posts = fit_posterior_batch([ds, ds], key=jax.random.PRNGKey(0), table=jaxqpc.YieldTable(),
                            init=init, walkers=8, num_warmup=5, num_samples=10)
assert len(posts) == 2 and posts[1].u.shape == (8, 10, 4)
assert all(np.all(np.isfinite(p.u)) for p in posts)
print("sharded ok")
"""

QUADRATURE = """
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp, numpy as np, jaxqpc
from inference import quadrature as quad
from inference.data import load_example
devices = jax.devices()
assert len(devices) == 4, devices
assert len(quad._placement(devices)(jnp.zeros((4, 3))).sharding.device_set) == 4
table = jaxqpc.YieldTable()
# three datasets of one shape: one batch, padded to four (one per device)
sets = [load_example()] * 3
kw = dict(key=jax.random.PRNGKey(0), table=table, h=0.0, n_draws=200, batch_size=3)
sharded = quad.fit_quadrature_batch(sets, **kw)
single = quad.fit_quadrature_batch(sets, devices=devices[:1], **kw)
for a, b in zip(sharded, single):
    assert abs(a.log_evidence - b.log_evidence) <= 1e-12 * abs(b.log_evidence), (a.log_evidence, b.log_evidence)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12)
print("sharded ok")
"""


@pytest.mark.parametrize("script, n_devices", [(AIES, 2), (QUADRATURE, 4)], ids=["aies", "quadrature"])
def test_batch_is_sharded_over_several_devices(script, n_devices):
    """Several CPU devices (XLA host-platform flag, in a subprocess): the dataset axis is sharded,
    and (quadrature) the sharded results equal the single-device ones to 1e-12."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n_devices}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and "sharded ok" in out.stdout, out.stderr[-3000:]
