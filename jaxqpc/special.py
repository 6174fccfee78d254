"""Numerical helpers behind the physics, public for users who need them in JAX.

* Bessel functions ``j0``, ``j1``, ``j1x`` = J1(x)/x and the exponentially
  scaled ``i0e``, ``i1e``, ``k0e``, ``k1e`` (``jax.scipy.special`` has no J0, J1
  and no scaled K): Cephes approximations with exact derivative rules.
* ``sidewall_eigenvalues`` / ``sidewall_eigenvalues_squared``: the roots of
  μ J1(μ) = h J0(μ) (the side-wall condition of Buret et al. 2020, Eqs. 2–3)
  for every h ∈ [0, ∞], with implicit-function derivatives.

Accuracy and methods: ``docs/emission.md`` (section "Special functions").
The eigenvalues need h ∈ [0, ∞]: outside it, ValueError eagerly, NaN under jit.
"""

from ._sidewall import sidewall_eigenvalues as sidewall_eigenvalues
from ._sidewall import sidewall_eigenvalues_squared as sidewall_eigenvalues_squared
from ._special import i0e as i0e
from ._special import i1e as i1e
from ._special import j0 as j0
from ._special import j1 as j1
from ._special import j1x as j1x
from ._special import k0e as k0e
from ._special import k1e as k1e

__all__ = ["j0", "j1", "j1x", "i0e", "i1e", "k0e", "k1e", "sidewall_eigenvalues",
           "sidewall_eigenvalues_squared"]
