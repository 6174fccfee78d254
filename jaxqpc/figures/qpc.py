"""Figs. 2–5 of Blaas-Anselmi et al., SciPost Phys. 12, 105 (2022).

*Asymmetric power dissipation in electronic transport through a quantum point
contact.* Every number plotted comes from the package's physics functions:
:class:`jaxqpc.AbruptQPC` (Eqs. 18–20), :func:`jaxqpc.transport` (Eqs. 1–5) and
``jaxqpc._hotspot.hot_spot`` (Eqs. 21–26); this module only chooses the grids,
calls them once per figure on whole arrays, and draws.

Units are the paper's: energies in E1 = ħ²π²/(8Mw²) (the first transverse mode
of a constriction of width 2w), powers as hP/2E1², lengths in 1/Q1 = 2w/π.

Parameters the paper does not print, and what is chosen here (each figure also
says so in its caption line):

* the constriction length: ℓ = L/(2w) = 1 (:data:`LENGTH`), which reproduces the
  colour-bar ranges of Fig. 3 (max hP_R/2E1² ≈ 0.99, max hP_A/2E1² ≈ 0.21);
* Fig. 2: the two biases are not printed ("low bias voltages, progressively
  departing from the linear regime"); panel (a) uses eV = 0.1 E1, panel (b)
  eV = 0.5 E1 (:data:`FIG2_BIASES`). The sketch of the constriction in the
  inset of panel (a) is omitted;
* Fig. 3: P_A on a diverging colour scale symmetric about 0 (the paper's bar
  runs from about −0.1 to 0.2; the computed minimum is −0.03);
* Fig. 4: temperature axis linear, 0 ≤ k_BT/E1 ≤ 0.3;
* Fig. 5: the bias range (0.01–4 E1, each μ̄ only where μ_R = μ̄ − eV/2 > 0) and
  the values of μ̄ (solid, on the steps: 1, 4, 9 E1; dashed, on the plateaus:
  2.5, 6.5 E1). The caption gives r* "in units of n_e w³", which fixes no
  number unless the density n_e is tied to μ̄ (e.g. ε_F = πħ²n_e/M = μ̄ would give
  r*/(n_e w³) = 16/(π² μ̄/E1) · r*/(2w/π)); the figure therefore plots r* in
  the package's unit 1/Q1 = 2w/π. The damping constant a = 0.04 and b with μ_R
  (Eq. 23 as printed) are the hot-spot defaults.

Use :func:`make_figures` (or ``jaxqpc figures qpc --out DIR``): about 30 s
for ``resolution="full"`` and 15–30 s for ``"low"`` on 2 CPU cores, mostly
compilation. The ``figN_data`` functions return the plotted arrays. Double
precision should be enabled by the caller
(``jax.config.update("jax_enable_x64", True)``; the command line does it).
"""

import math

import jax
import numpy as np
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._render import finish as _finish
from ._render import write_figures

from .._landauer import transport
from .._transmission import AbruptQPC

__all__ = [
    "FIGURE_FILES",
    "make_figures",
    "fig2_data",
    "fig3_data",
    "fig4_data",
    "fig5_data",
    "plot_fig2",
    "plot_fig3",
    "plot_fig4",
    "plot_fig5",
]

PAPER = "Blaas-Anselmi et al., SciPost Phys. 12, 105 (2022)"

LENGTH = 1.0
"""ℓ = L/(2w) of the abrupt constriction (not printed in the paper)."""

N_CHANNELS = 4
"""Channels kept: exact for energies < 16 E1, beyond every window used here."""

FIG2_BIASES = (0.1, 0.5)
"""eV/E1 of Fig. 2 panels (a) and (b): chosen here, the paper does not print them."""
FIG2_TEMPERATURES = (0.0, 0.04, 0.08)
"""k_BT/E1 of Fig. 2: solid, dashed, dotted (from the caption)."""
FIG2_MU_RANGE = (0.5, 7.0)

FIG3_BIAS_MAX = 1.0
FIG3_MU_RANGE = (1.0, 7.0)

FIG4_MU = 1.0
FIG4_BIASES = (0.2, 0.6)
"""eV/E1 of Fig. 4: solid, dashed (from the caption)."""
FIG4_KT_MAX = 0.3

FIG5_KT = 0.04
FIG5_A = 0.04
FIG5_STEPS = (1.0, 4.0, 9.0)
"""μ̄/E1 of the solid curves of Fig. 5 (at the conductance steps)."""
FIG5_PLATEAUS = (2.5, 6.5)
"""μ̄/E1 of the dashed curves of Fig. 5 (on the plateaus)."""
FIG5_BIAS_RANGE = (0.01, 4.0)

FIGURE_FILES = ("fig2.png", "fig3.png", "fig4.png", "fig5.png")
"""File names written by :func:`make_figures`, in order."""

COLOR_RIGHT = "tab:blue"
COLOR_LEFT = "tab:red"
COLOR_ASYM = "#c7961c"  # ocher

RESOLUTIONS = {
    # number of points per axis
    "full": dict(fig2_mu=1301, fig3_bias=400, fig3_mu=600, fig4_kT=301, fig5_bias=81),
    "low": dict(fig2_mu=261, fig3_bias=40, fig3_mu=60, fig4_kT=31, fig5_bias=17),
}

_LINESTYLES = ("-", "--", ":")

_P_LABEL = r"$hP/2E_1^2$"
_MU_LABEL = r"$\bar{\mu}/E_1$"
_BIAS_LABEL = r"$eV/E_1$"
_KT_LABEL = r"$k_BT/E_1$"


def _grid(resolution):
    try:
        return RESOLUTIONS[resolution]
    except KeyError:
        raise ValueError(f"`resolution` must be one of {sorted(RESOLUTIONS)}, got {resolution!r}") from None


def qpc_model():
    """The abrupt QPC of all four figures: ℓ = :data:`LENGTH`, :data:`N_CHANNELS` channels."""
    return AbruptQPC(length=LENGTH, n_channels=N_CHANNELS)


@jax.jit
def _transmission(model, energy):
    # one compiled call instead of op-by-op dispatch (energies are validated by construction)
    return model.transmission(energy)


def _np(r):
    return {k: np.asarray(v) for k, v in r._asdict().items()}


# ---------------------------------------------------------------------------
# Data (all physics through jaxqpc; one vectorised call per temperature/figure)
# ---------------------------------------------------------------------------


def fig2_data(resolution="full"):
    """P_R, P_L, P_A vs μ̄ for the biases :data:`FIG2_BIASES` and temperatures
    :data:`FIG2_TEMPERATURES`, and T(μ̄) for the inset.

    Returns a dict: ``mu`` (n,), ``bias`` (2,), ``kT`` (3,), ``power_right`` /
    ``power_left`` / ``power_asymmetry`` of shape (3 temperatures, 2 biases, n)
    in 2E1²/h, ``mu_T`` and ``T`` for the inset.
    """
    n = _grid(resolution)["fig2_mu"]
    model = qpc_model()
    mu = np.linspace(*FIG2_MU_RANGE, n)
    bias = np.asarray(FIG2_BIASES)
    results = [_np(transport(model, mu[None, :], bias[:, None], kT)) for kT in FIG2_TEMPERATURES]
    out = {"mu": mu, "bias": bias, "kT": np.asarray(FIG2_TEMPERATURES)}
    for key in ("power_right", "power_left", "power_asymmetry"):
        out[key] = np.stack([r[key] for r in results])
    out["mu_T"] = np.linspace(0.0, FIG2_MU_RANGE[1], n)
    out["T"] = np.asarray(_transmission(model, out["mu_T"]))
    return out


def fig3_data(resolution="full"):
    """Maps of P_R and P_A at k_BT = 0 over 0 < eV ≤ E1, 1 ≤ μ̄ ≤ 7 E1.

    Values are taken at cell centres of a regular grid whose cell edges
    (``bias_edges``, ``mu_edges``) span the plotted ranges exactly. Returns a dict
    with ``bias`` (nv,), ``mu`` (nm,), the edges, and ``power_right``,
    ``power_asymmetry`` of shape (nm, nv) in 2E1²/h.
    """
    g = _grid(resolution)
    bias_edges = np.linspace(0.0, FIG3_BIAS_MAX, g["fig3_bias"] + 1)
    mu_edges = np.linspace(*FIG3_MU_RANGE, g["fig3_mu"] + 1)
    bias = 0.5 * (bias_edges[1:] + bias_edges[:-1])
    mu = 0.5 * (mu_edges[1:] + mu_edges[:-1])
    r = _np(transport(qpc_model(), mu[:, None], bias[None, :], 0.0))
    return {
        "bias": bias,
        "mu": mu,
        "bias_edges": bias_edges,
        "mu_edges": mu_edges,
        "power_right": r["power_right"],
        "power_asymmetry": r["power_asymmetry"],
    }


def fig4_data(resolution="full"):
    """P_R, P_L, P_A vs k_BT ∈ [0, :data:`FIG4_KT_MAX`] at μ̄ = :data:`FIG4_MU`
    for the biases :data:`FIG4_BIASES`.

    Returns a dict with ``kT`` (n,), ``bias`` (2,), the powers of shape (2, n) in
    2E1²/h, and ``cooling_onset`` (2,): the k_BT/E1 above which P_L < 0
    (linear interpolation between grid points; NaN if not reached).
    """
    n = _grid(resolution)["fig4_kT"]
    kT = np.linspace(0.0, FIG4_KT_MAX, n)
    bias = np.asarray(FIG4_BIASES)
    r = _np(transport(qpc_model(), FIG4_MU, bias[:, None], kT[None, :]))
    out = {"kT": kT, "bias": bias, "mu": FIG4_MU}
    for key in ("power_right", "power_left", "power_asymmetry"):
        out[key] = r[key]
    out["cooling_onset"] = np.array([_first_zero(kT, p) for p in r["power_left"]])
    return out


def _first_zero(x, y):
    """x where y first crosses from > 0 to ≤ 0 (linear interpolation), NaN if never."""
    idx = np.flatnonzero((y[:-1] > 0) & (y[1:] <= 0))
    if idx.size == 0:
        return math.nan
    i = idx[0]
    return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))


def fig5_data(resolution="full"):
    """Hot-spot radius r* vs bias for the μ̄ of :data:`FIG5_STEPS` and
    :data:`FIG5_PLATEAUS`, at k_BT = :data:`FIG5_KT`, a = :data:`FIG5_A`.

    One call of ``hot_spot`` on the whole (μ̄, bias) grid; biases with
    μ_R = μ̄ − eV/2 ≤ 0 (not allowed) are NaN. Returns a dict with ``mu`` (k,),
    ``on_step`` (k,) bool, ``bias`` (n,), ``radius`` (k, n) in 1/Q1 = 2w/π and
    ``energy`` (k, n) = ε*/E1.
    """
    from .._hotspot import hot_spot  # written alongside; imported only here

    n = _grid(resolution)["fig5_bias"]
    bias = np.geomspace(*FIG5_BIAS_RANGE, n)
    mu = np.asarray(FIG5_STEPS + FIG5_PLATEAUS)
    allowed = bias[None, :] < 2.0 * mu[:, None]
    safe_bias = np.where(allowed, bias[None, :], np.min(bias))
    h = hot_spot(qpc_model(), mu[:, None], safe_bias, FIG5_KT, a=FIG5_A, reference="mu_right")
    radius = np.where(allowed, np.asarray(h.radius), np.nan)
    energy = np.where(allowed, np.asarray(h.energy), np.nan)
    on_step = np.array([True] * len(FIG5_STEPS) + [False] * len(FIG5_PLATEAUS))
    return {"mu": mu, "on_step": on_step, "bias": bias, "radius": radius, "energy": energy,
            "kT": FIG5_KT, "a": FIG5_A}


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


def _power_handles(styles, style_labels):
    handles = [Line2D([], [], color=c, lw=2) for c in (COLOR_RIGHT, COLOR_LEFT, COLOR_ASYM)]
    labels = [r"$P_R$ (right)", r"$P_L$ (left)", r"$P_A = P_R - P_L$"]
    handles += [Line2D([], [], color="k", ls=s) for s in styles]
    labels += list(style_labels)
    return handles, labels


def plot_fig2(data, path):
    """Fig. 2: powers vs μ̄, panels (a) eV = 0.1 E1 and (b) eV = 0.5 E1; inset T(μ̄)."""
    fig = Figure(figsize=(11, 5.6), layout="constrained")
    axes = fig.subplots(1, 2)
    mu = data["mu"]
    for j, (ax, panel) in enumerate(zip(axes, "ab")):
        for i, ls in enumerate(_LINESTYLES[: len(data["kT"])]):
            ax.plot(mu, data["power_right"][i, j], color=COLOR_RIGHT, ls=ls, lw=1.3)
            ax.plot(mu, data["power_left"][i, j], color=COLOR_LEFT, ls=ls, lw=1.3)
            ax.plot(mu, data["power_asymmetry"][i, j], color=COLOR_ASYM, ls=ls, lw=1.3)
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_xlim(mu[0], mu[-1])
        ax.set_xlabel(_MU_LABEL)
        ax.set_ylabel(_P_LABEL)
        ax.set_title(f"({panel}) $eV = {data['bias'][j]:g}\\,E_1$")
    handles, labels = _power_handles(_LINESTYLES, [f"$k_BT/E_1 = {t:g}$" for t in data["kT"]])
    axes[0].legend(handles, labels, loc="center right", fontsize=8, framealpha=0.9)
    # inset of panel (b): zero-bias transmission, in the empty lower right corner
    inset = axes[1].inset_axes([0.62, 0.2, 0.3, 0.4])
    inset.plot(data["mu_T"], data["T"], color="k", lw=1.0)
    inset.set_xlim(0, data["mu_T"][-1])
    inset.set_ylim(0, None)
    inset.set_xlabel(_MU_LABEL, fontsize=8, labelpad=1)
    inset.set_ylabel(r"$T$", fontsize=8, labelpad=1)
    inset.yaxis.set_label_position("right")
    inset.yaxis.tick_right()
    inset.tick_params(labelsize=7, pad=1)
    inset.grid(alpha=0.3)
    inset.set_title(r"transmission $T(\bar{\mu})$", fontsize=8, pad=2)
    fig.suptitle(
        f"Fig. 2 ({PAPER}): dissipated power vs $\\bar{{\\mu}}$, abrupt QPC, "
        f"$\\ell = L/2w = {LENGTH:g}$"
    )
    return _finish(fig, path, [
        f"The paper does not print the biases of Fig. 2: chosen here eV = {data['bias'][0]:g} E1 (a) "
        f"and {data['bias'][1]:g} E1 (b). Solid: k_BT = 0, dashed: k_BT = {data['kT'][1]:g} E1, "
        f"dotted: k_BT = {data['kT'][2]:g} E1.",
        "The sketch of the constriction (inset of the paper's panel a) is omitted. "
        "Inset of (b): zero-bias transmission T(μ̄) of the same QPC (ℓ = 1).",
    ])


def plot_fig3(data, path):
    """Fig. 3: colour maps of P_R (a) and P_A (b) vs eV and μ̄ at k_BT = 0."""
    fig = Figure(figsize=(6.8, 8.6), layout="constrained")
    ax_r, ax_a = fig.subplots(2, 1, sharex=True)
    x, y = data["bias_edges"], data["mu_edges"]
    pr, pa = data["power_right"], data["power_asymmetry"]
    im = ax_r.pcolormesh(x, y, pr, cmap="viridis", vmin=0.0, shading="flat", rasterized=True)
    fig.colorbar(im, ax=ax_r, label=r"$hP_R/2E_1^2$")
    ax_r.set_title(f"(a) $P_R$   (max on the grid {np.max(pr):.3f})", fontsize=10)
    im = ax_a.pcolormesh(x, y, pa, cmap="RdBu_r", norm=CenteredNorm(0.0), shading="flat",
                         rasterized=True)
    fig.colorbar(im, ax=ax_a, label=r"$hP_A/2E_1^2$")
    ax_a.set_title(f"(b) $P_A$   (max on the grid {np.max(pa):.3f}, min {np.min(pa):.3f})",
                   fontsize=10)
    for ax in (ax_r, ax_a):
        ax.set_ylabel(_MU_LABEL)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
    ax_a.set_xlabel(_BIAS_LABEL)
    fig.suptitle(f"Fig. 3 ({PAPER}):\n$P_R$ and $P_A$ vs bias and $\\bar{{\\mu}}$ at $k_BT = 0$, "
                 f"abrupt QPC, $\\ell = {LENGTH:g}$", fontsize=11)
    return _finish(fig, path, [
        "P_A on a diverging scale centred at 0 (red: more power dissipated downstream, on the right).",
        f"Values at the centres of a {len(data['bias'])} x {len(data['mu'])} grid (eV x μ̄). "
        "Paper's colour bars: P_R 0…≈1, P_A up to ≈0.2.",
    ])


def plot_fig4(data, path):
    """Fig. 4: powers vs temperature at μ̄ = E1, eV = 0.2 E1 (solid) and 0.6 E1 (dashed)."""
    fig = Figure(figsize=(7.2, 5.8), layout="constrained")
    ax = fig.subplots()
    kT = data["kT"]
    styles = _LINESTYLES[: len(data["bias"])]
    for j, ls in enumerate(styles):
        ax.plot(kT, data["power_right"][j], color=COLOR_RIGHT, ls=ls, lw=1.5)
        ax.plot(kT, data["power_left"][j], color=COLOR_LEFT, ls=ls, lw=1.5)
        ax.plot(kT, data["power_asymmetry"][j], color=COLOR_ASYM, ls=ls, lw=1.5)
    onset = data["cooling_onset"]
    ax.plot(onset, np.zeros_like(onset), marker="o", ms=4.5, color=COLOR_LEFT, ls="none")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlim(0.0, kT[-1])
    ax.set_xlabel(_KT_LABEL)
    ax.set_ylabel(_P_LABEL)
    handles, labels = _power_handles(styles, [f"$eV/E_1 = {v:g}$" for v in data["bias"]])
    handles.append(Line2D([], [], marker="o", ms=4.5, color=COLOR_LEFT, ls="none"))
    labels.append(r"$P_L = 0$ (cooling above)")
    ax.legend(handles, labels, loc="upper left", fontsize=8, framealpha=0.9)
    ax.set_title(f"Fig. 4 ({PAPER}):\npowers vs temperature at "
                 f"$\\bar{{\\mu}} = {data['mu']:g}\\,E_1$ (first step), $\\ell = {LENGTH:g}$",
                 fontsize=10)
    onsets = ", ".join(f"{t:.3f} (eV = {v:g} E1)" for t, v in zip(onset, data["bias"]))
    return _finish(fig, path, [
        "Solid: eV = 0.2 E1, dashed: eV = 0.6 E1. P_L < 0: the upstream (left) reservoir is cooled,",
        f"above k_BT/E1 = {onsets}. Temperature axis linear.",
    ])


def plot_fig5(data, path):
    """Fig. 5: r* vs bias (log-log), solid on steps, dashed on plateaus, V⁻² guide."""
    fig = Figure(figsize=(7.2, 6.0), layout="constrained")
    ax = fig.subplots()
    bias, radius = data["bias"], data["radius"]
    for k, (mu, step) in enumerate(zip(data["mu"], data["on_step"])):
        ax.loglog(bias, radius[k], color=f"C{k}", ls="-" if step else "--", lw=1.5,
                  label=f"$\\bar{{\\mu}} = {mu:g}\\,E_1$ ({'step' if step else 'plateau'})")
    # V^-2 guide over the upper decade of bias, a factor 2 above the highest curve there
    top = np.nanmax(radius[:, -1]) if np.any(np.isfinite(radius[:, -1])) else np.nanmax(radius)
    x_ref = np.geomspace(bias[-1] / 10.0, bias[-1], 20)
    ax.loglog(x_ref, 2.0 * top * (bias[-1] / x_ref) ** 2, color="green", lw=2.0,
              label=r"$\propto V^{-2}$")
    ax.set_xlabel(_BIAS_LABEL)
    ax.set_ylabel(r"$r^*$  [units of $1/Q_1 = 2w/\pi$]")
    ax.grid(which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"Fig. 5 ({PAPER}):\nposition $r^*$ of maximum dissipation vs bias, "
                 f"$k_BT/E_1 = {data['kT']:g}$, $a = {data['a']:g}$, $\\ell = {LENGTH:g}$",
                 fontsize=10)
    return _finish(fig, path, [
        "r* in units of 2w/π: the paper's unit 'n_e w³' is no fixed length unless n_e is tied to μ̄.",
        "b = ħμ_R/(a√(2M)) as printed in Eq. 23, so r* → 0 as eV → 2μ̄; "
        "each μ̄ only where μ_R = μ̄ − eV/2 > 0.",
        "Solid: μ̄ on a conductance step, dashed: on a plateau. Green: slope of r* ∝ V⁻².",
    ])


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

_FIGURES = (
    (fig2_data, plot_fig2),
    (fig3_data, plot_fig3),
    (fig4_data, plot_fig4),
    (fig5_data, plot_fig5),
)


def make_figures(out_dir, resolution="full", *, verbose=False):
    """Compute and write Figs. 2–5 as PNGs (:data:`FIGURE_FILES`) into ``out_dir``.

    Args:
        out_dir: output directory (created if missing). Existing files of the
            same names are overwritten (the command line refuses unless --force).
        resolution: ``"full"`` (paper quality) or ``"low"`` (coarse grids, a few
            seconds; for tests).
        verbose: print each figure's computing time.

    Returns:
        The list of written paths, in the order of :data:`FIGURE_FILES`.
    """
    _grid(resolution)
    return write_figures(out_dir, zip(FIGURE_FILES, _FIGURES), resolution, verbose=verbose)
