"""Eager calls of compiled elementwise kernels: one compilation per size class, not per shape.

A jitted function compiles once for every new input shape. Called eagerly on arrays of many
different sizes (a figure's sweeps, a notebook, a test suite) it compiles again and again, and
for the package's larger kernels each compilation costs seconds. :func:`size_bucketed` flattens
the broadcast arguments and pads them to the next power of two (at least ``MIN_SIZE``) with
copies of their last element, so a kernel compiles once per power of two; the padding is cut off
from the result. Arrays of more than ``MAX_SIZE`` elements are passed as they are (there the
computation outweighs a compilation, and padding would add up to 2× the work). Under a
transformation (``jit``, ``grad``, ``vmap``) the kernel is called directly: the caller's program
has one shape anyway.
"""

import jax
import numpy as np

MIN_SIZE = 8
"""Smallest padded size (elements)."""
MAX_SIZE = 1 << 16
"""Largest padded size (elements); larger inputs keep their shape."""


def size_bucketed(kernel, *arrays, min_size=MIN_SIZE):
    """``kernel(*arrays)`` for a ``kernel`` elementwise in its broadcastable ``arrays``.

    Eagerly, up to ``MAX_SIZE`` elements, the kernel sees 1-D arrays of a power-of-two length, at
    least ``min_size`` (a kernel whose cost is mostly per call, not per element, takes a larger
    one: fewer programs); its outputs (arrays or a PyTree of arrays whose first axis runs over
    the elements) are cut back and reshaped to the broadcast shape. Otherwise: ``kernel(*arrays)``
    unchanged.
    """
    if any(isinstance(a, jax.core.Tracer) for a in arrays):
        return kernel(*arrays)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    n = int(np.prod(shape))
    if n == 0 or n > MAX_SIZE:
        return kernel(*arrays)
    size = max(min_size, 1 << (n - 1).bit_length())
    flat = [np.pad(np.broadcast_to(np.asarray(a), shape).ravel(), (0, size - n), mode="edge") for a in arrays]
    out = kernel(*flat)
    return jax.tree.map(lambda y: y[:n].reshape(shape + y.shape[1:]), out)
