"""Independent, slow, plain NumPy/SciPy reference implementations used by the tests.

Nothing here imports :mod:`jaxqpc`; the formulas are re-derived from the papers
(see ``qpc_reference.py`` for the Blaas-Anselmi 2022 QPC model).
"""
