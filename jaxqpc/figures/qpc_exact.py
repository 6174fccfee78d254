"""The exact hard-wall QPC (mode matching) against the paper's approximation (``docs/qpc-exact.md``).

One figure, ``qpc_exact.png``: (a) the transmission T(ε) of
:class:`jaxqpc.ModeMatchedQPC` (exact for the hard-wall geometry: a channel of
length ℓ = L/2w = 1 between leads of width :data:`LEAD_WIDTH` × 2w) and of
:class:`jaxqpc.AbruptQPC` (Eqs. 18–20 of Blaas-Anselmi et al. 2022, same ℓ);
(b) the power asymmetry P_A(μ̄) of both at k_BT = 0 and eV = :data:`BIAS`, from
:func:`jaxqpc.transport`, with the points where it changes sign.

Units are the paper's: energies in E1, powers as hP/2E1². Double precision
should be enabled by the caller (``jax.config.update("jax_enable_x64", True)``).
"""

import jax
import numpy as np
from matplotlib.figure import Figure

from .._landauer import transport
from .._mode_matching import ModeMatchedQPC
from .._transmission import AbruptQPC
from ._render import finish as _finish
from ._render import write_figures

__all__ = ["FIGURE_FILES", "exact_data", "plot_exact", "make_figures"]

FIGURE_FILES = ("qpc_exact.png",)
"""File names written by :func:`make_figures`."""

LENGTH = 1.0
"""ℓ = L/(2w) of both models (as in the paper's figures)."""
LEAD_WIDTH = 3.0
"""W_lead/(2w) of the exact model (the approximation has infinitely wide leads)."""
BIAS = 0.05
"""eV/E1 of panel (b): small bias, where P_A ∝ T′(μ̄)."""
ENERGY_RANGE = (0.0, 10.0)
MU_RANGE = (0.5, 7.0)

RESOLUTIONS = {
    # number of points per axis
    "full": dict(energy=1001, mu=1301),
    "low": dict(energy=201, mu=261),
}

COLOR_EXACT = "k"
COLOR_ABRUPT = "tab:red"


def _points(resolution):
    try:
        return RESOLUTIONS[resolution]
    except KeyError:
        raise ValueError(f"`resolution` must be one of {sorted(RESOLUTIONS)}, got {resolution!r}") from None


def models():
    """(exact, approximate): ``ModeMatchedQPC(LENGTH, LEAD_WIDTH)`` and ``AbruptQPC(LENGTH, n_channels=4)``."""
    return ModeMatchedQPC(LENGTH, LEAD_WIDTH), AbruptQPC(LENGTH, n_channels=4)


@jax.jit
def _transmission(model, energy):
    return model.transmission(energy)


def sign_changes(x, y):
    """x where y changes sign (linear interpolation between grid points)."""
    i = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)
    return x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i])


def exact_data(resolution="full"):
    """T(ε) and P_A(μ̄) of both models.

    Returns a dict: ``energy`` (n,), ``T_exact``, ``T_abrupt`` (n,); ``mu`` (k,),
    ``pa_exact``, ``pa_abrupt`` (k,) in 2E1²/h at k_BT = 0, eV = :data:`BIAS`;
    ``zeros_exact``, ``zeros_abrupt``: μ̄ where P_A changes sign; ``max_dT`` and
    ``rms_dT``: max and rms of |T_exact − T_abrupt| over 0.5 ≤ ε ≤ 10 E1.
    """
    points = _points(resolution)
    exact, abrupt = models()
    energy = np.linspace(*ENERGY_RANGE, points["energy"])
    t_exact = np.asarray(_transmission(exact, energy))
    t_abrupt = np.asarray(_transmission(abrupt, energy))
    mu = np.linspace(*MU_RANGE, points["mu"])
    pa_exact = np.asarray(transport(exact, mu, BIAS, 0.0).power_asymmetry)
    pa_abrupt = np.asarray(transport(abrupt, mu, BIAS, 0.0).power_asymmetry)
    window = energy >= 0.5
    difference = (t_exact - t_abrupt)[window]
    return {
        "energy": energy, "T_exact": t_exact, "T_abrupt": t_abrupt,
        "mu": mu, "pa_exact": pa_exact, "pa_abrupt": pa_abrupt,
        "zeros_exact": sign_changes(mu, pa_exact), "zeros_abrupt": sign_changes(mu, pa_abrupt),
        "max_dT": float(np.max(np.abs(difference))), "rms_dT": float(np.sqrt(np.mean(difference**2))),
    }


def plot_exact(data, path):
    """Panels (a) T(ε) and (b) P_A(μ̄) of both models, sign changes of P_A marked."""
    fig = Figure(figsize=(11, 5.0), layout="constrained")
    ax_t, ax_p = fig.subplots(1, 2)
    labels = (f"exact (mode matching), $W_{{lead}}/2w = {LEAD_WIDTH:g}$", "approximate (Eqs. 18–20)")
    ax_t.plot(data["energy"], data["T_exact"], color=COLOR_EXACT, lw=1.4, label=labels[0])
    ax_t.plot(data["energy"], data["T_abrupt"], color=COLOR_ABRUPT, lw=1.2, ls="--", label=labels[1])
    ax_t.set_xlim(*ENERGY_RANGE)
    ax_t.set_ylim(0.0, None)
    ax_t.set_xlabel(r"$\varepsilon/E_1$")
    ax_t.set_ylabel(r"$T$")
    ax_t.grid(alpha=0.3)
    ax_t.legend(loc="upper left", fontsize=8)
    ax_t.set_title(f"(a) transmission, $\\ell = L/2w = {LENGTH:g}$", fontsize=10)
    for key, color, ls in (("exact", COLOR_EXACT, "-"), ("abrupt", COLOR_ABRUPT, "--")):
        ax_p.plot(data["mu"], data[f"pa_{key}"], color=color, ls=ls, lw=1.3)
        zeros = data[f"zeros_{key}"]
        ax_p.plot(zeros, np.zeros_like(zeros), marker="o", ms=4, color=color, ls="none")
    ax_p.axhline(0.0, color="0.6", lw=0.6)
    ax_p.set_xlim(*MU_RANGE)
    ax_p.set_xlabel(r"$\bar{\mu}/E_1$")
    ax_p.set_ylabel(r"$hP_A/2E_1^2$")
    ax_p.grid(alpha=0.3)
    ax_p.set_title(f"(b) power asymmetry at $k_BT = 0$, $eV = {BIAS:g}\\,E_1$ (dots: sign changes)", fontsize=10)
    fig.suptitle("Exact hard-wall QPC (mode matching) vs the abrupt-constriction approximation")
    zeros = [", ".join(f"{z:.2f}" for z in data[f"zeros_{k}"]) for k in ("exact", "abrupt")]
    return _finish(fig, path, [
        f"max |ΔT| = {data['max_dT']:.3f}, rms {data['rms_dT']:.3f} over 0.5 ≤ ε ≤ 10 E1.",
        f"P_A changes sign at μ̄/E1 = {zeros[0]} (exact) and {zeros[1]} (approximate).",
    ])


def make_figures(out_dir, resolution="full", *, verbose=False):
    """Compute and write :data:`FIGURE_FILES` into ``out_dir`` (created if missing).

    Args:
        out_dir: output directory; an existing file of the same name is overwritten.
        resolution: ``"full"`` or ``"low"`` (coarse grids, a quick preview).
        verbose: print the computing time.

    Returns:
        The list of written paths.
    """
    _points(resolution)
    return write_figures(out_dir, [(FIGURE_FILES[0], (exact_data, plot_exact))], resolution, verbose=verbose)
