"""Reproductions of the papers' figures, one module per paper.

* :mod:`jaxqpc.figures.qpc` — Figs. 2–5 of Blaas-Anselmi et al., SciPost Phys.
  12, 105 (2022) (power dissipated around a quantum point contact).

The modules import matplotlib; this package does not, so ``import
jaxqpc.figures`` stays cheap. The ``jaxqpc figures`` command calls them.
"""

__all__ = ["qpc"]


def __getattr__(name):  # lazy submodule access: jaxqpc.figures.qpc
    if name == "qpc":
        import importlib

        return importlib.import_module(f"{__name__}.qpc")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
