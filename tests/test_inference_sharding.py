"""Batches sharded over several devices: four host CPU devices (XLA_FLAGS), in one subprocess.

Its own module so that, under pytest-xdist, it runs beside the other sampler tests.
"""

import os
import subprocess
import sys

SCRIPT = """
import jax
jax.config.update("jax_enable_x64", True)
from inference.cli import _use_compilation_cache
_use_compilation_cache(jax)  # the suite's disk cache: the table and the single-device programs
import jax.numpy as jnp, numpy as np, jaxqpc
from inference import quadrature as quad
from inference.data import load_example
from inference.likelihood import sample_prior
from inference.sample import fit_posterior_batch
devices = jax.devices()
assert len(devices) == 4, devices
assert len(quad._placement(devices)(jnp.zeros((4, 3))).sharding.device_set) == 4
table, ds = jaxqpc.YieldTable(), load_example()

# the default posterior: three datasets in one batch, padded to four (one per device)
kw = dict(key=jax.random.PRNGKey(0), table=table, h=0.0, n_draws=200)
sharded = quad.fit_quadrature_batch([ds] * 3, batch_size=3, **kw)
# the reference: one dataset at a time on one device (the suite's own programs, from the disk cache)
single = quad.fit_quadrature_batch([ds] * 3, devices=devices[:1], batch_size=1, **kw)
for a, b in zip(sharded, single):
    assert abs(a.log_evidence - b.log_evidence) <= 1e-12 * abs(b.log_evidence), (a.log_evidence, b.log_evidence)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12)

# the AIES batch: four datasets, one per device
init = jnp.stack([sample_prior(jax.random.PRNGKey(i), ds, 8) for i in range(4)])
posts = fit_posterior_batch([ds] * 4, key=jax.random.PRNGKey(0), table=table, init=init, walkers=8,
                            num_warmup=5, num_samples=10)
assert len(posts) == 4 and posts[3].u.shape == (8, 10, 4)
assert all(np.all(np.isfinite(p.u)) for p in posts)
print("sharded ok")
"""


def test_batches_are_sharded_over_several_devices():
    """Four CPU devices (XLA host-platform flag, in a subprocess): the dataset axis is sharded; the
    quadrature's sharded batch equals the single-device fits one by one to 1e-12, and the AIES batch
    runs."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and "sharded ok" in out.stdout, out.stderr[-3000:]
