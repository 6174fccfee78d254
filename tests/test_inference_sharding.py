"""Batch sampling sharded over several devices (two host CPU devices, in a subprocess).

Its own module so that, under pytest-xdist, it runs beside the other sampler tests.
"""

SHARDED = """
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


def test_batch_is_sharded_over_several_devices():
    """Two CPU devices (XLA host-platform flag, in a subprocess): the batch axis is sharded."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and "sharded ok" in out.stdout, out.stderr[-3000:]
