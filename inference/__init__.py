"""inference: fitting jaxqpc's physics to measured data (part of the ``jaxqpc`` distribution).

This package imports ``jaxqpc``; ``jaxqpc`` never imports it. The ``jaxqpc``
command lives here (:mod:`inference.cli`), the layer that depends on
everything. An unrelated project on PyPI is also called ``inference``; both
would install a top-level ``inference`` module into the same place. Importing
this package checks the installed distributions and refuses to run beside that
other one instead of silently mixing their files.
"""

import importlib.metadata

__jaxqpc__ = True  # marker: this `inference` is the one of the jaxqpc distribution


def _check_no_clash():
    owners = set(importlib.metadata.packages_distributions().get("inference", []))
    others = sorted(d for d in owners if d.lower() != "jaxqpc")
    if others:
        raise ImportError(
            "The top-level module `inference` is provided by jaxqpc and also by the unrelated "
            f"distribution(s) {others}; their files overwrite each other. Run "
            f"`pip uninstall {' '.join(others)}` and then `pip install --force-reinstall jaxqpc`, "
            "or install jaxqpc in its own virtual environment."
        )


_check_no_clash()
