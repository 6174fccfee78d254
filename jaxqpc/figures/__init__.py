"""Reproductions of the papers' figures, one module per paper.

* :mod:`jaxqpc.figures.qpc` — Figs. 2–5 of Blaas-Anselmi et al., SciPost Phys.
  12, 105 (2022) (power dissipated around a quantum point contact).
* :mod:`jaxqpc.figures.emission` — Figs. 3B, 5, 6 of Buret et al., Nanophotonics
  9, 413 (2020) (hot electrons and light), and the heat-input comparison.
* :mod:`jaxqpc.figures.qpc_exact` — the exact hard-wall transmission (mode
  matching) against the paper's Eqs. 18–20: T(ε) and P_A(μ̄).

The modules import matplotlib; this package does not, so ``import
jaxqpc.figures`` stays cheap. The ``jaxqpc figures`` command calls them.
"""

__all__ = ["qpc", "emission", "qpc_exact"]


def __getattr__(name):  # lazy submodule access: jaxqpc.figures.qpc, .emission, .qpc_exact
    if name in __all__:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
