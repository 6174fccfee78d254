"""Figs. 3B, 5 and 6 of Buret et al., Nanophotonics 9, 413 (2020), and the heat-input choice.

*Light emission from electrically driven atomic-size point contacts.* Every
number plotted comes from the package's physics functions:
:func:`jaxqpc.peak_temperature` (Eqs. 2–5), :func:`jaxqpc.photon_yield`
(Eqs. 14–20), :func:`jaxqpc.photon_counts_from_conductance` (circuit, area,
detection) and :func:`jaxqpc.drain_heat_fraction` (Landauer P_R/P); this module
only chooses the settings, calls them on whole arrays and draws.

Lengths in units of λF = :data:`LAMBDA_F_NM` nm (gold, ε_F = 5.53 eV); N is
the number of open channels (G = N G0), ζ = N λF/(4R0) ≤ 1, so each curve stops
at N = 4R0/λF.

Figures (:data:`FIGURE_FILES`):

* ``emission_fig5.png`` — peak electron temperature vs N. (A) h = ∞ (Eq. 4, squares),
  (B) h = 0 (circles) at R0 = 2.5 λF for Lc = R0/6 … R0; (C) h = ∞, (D) h = 0
  at Lc = R0/3 for R0 = 2, 2.5, 3, 4 λF; contact voltage 0.7 V. The paper's
  Fig. 5 caption says Lc = λF/2 for (C, D), its text says R0/3: R0/3 is used
  (:data:`FIG5_CD_LC_OVER_R0`). h = 0 is the *correct* h → 0 limit of Eqs.
  2–3 (Eq. 5 with first term ζLc/(2R0)); ``printed_eq5=True`` overlays the
  printed Eq. 5 (first term ζLc/R0) dashed in (B) and (D).
* ``emission_fig6.png`` — detected Bremsstrahlung yield (photons cm⁻² s⁻¹, exact
  spectrum Eq. 14/15 through the detector of Eq. 20) vs N, for the settings of
  the Fig. 6 caption: (A, B) R0 = 2.5 λF, Lc = R0/6 … 3R0/4 (no Lc = R0 in that
  caption); (C, D) Lc = λF/2 fixed (as the Fig. 6 caption says) for R0 = 2, 2.5,
  3, 4 λF. Dotted: the paper's closed form 6.13·10²² ζ² e^{−1/ζ} for one curve
  per panel.
* ``emission_fig3b.png`` — model counts per 10 ms bin vs electrical power for Fig. 3B:
  R0 = 2λF, Lc = λF/4, N = 4…8, η = 0.43, dark rate 300 s⁻¹ (the paper: "about
  300 counts s⁻¹"), both h limits. (a) the circuit: 0.7 V source, 470 Ω in
  series, P = V_c² N G0 (116–182 µW); (b) the paper's convention: 0.7 V across
  the contact, P_N = V_b² N G0 (152–304 µW).
* ``emission_heat_input.png`` — the pipeline choice of how much of P heats the
  drain (``heat_fraction``): all of it (the paper) vs the Landauer downstream
  share P_R/P for (i) an energy-independent transmission (exactly 1/2) and
  (ii) a saddle-point contact whose transmission rises across the bias window
  (ħω_x = ħω_y = :data:`jaxqpc.SADDLE_SPACING_EV` eV, thresholds placed so that
  T(ε_F) = N; P_R/P = 0.78 (N = 1), 0.61 (N = 4), 0.55 (N = 8)), in the Fig. 3B
  setting (circuit of panel a, h = ∞). T(ε_F) = N with one threshold per
  0.125 eV is an illustrative strong energy dependence, not a model of gold.

What the figures show, with the numbers: docs/emission.md (section "Figures
and findings") and docs/errata-buret2020.md.

Use :func:`make_figures` (or ``jaxqpc figures emission --out DIR``); ``"low"``
resolution is a quick preview. The ``*_data`` functions return the plotted arrays. Double precision should be
enabled by the caller
(``jax.config.update("jax_enable_x64", True)``; the command line does it).
"""


import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._render import finish as _finish
from ._render import write_figures

from .._bremsstrahlung import photon_yield
from .._counts import (
    CONDUCTANCE_QUANTUM_S,
    SADDLE_SPACING_EV,
    contact_voltage,
    drain_heat_fraction,
    photon_counts_from_conductance,
    radiating_area_nm2,
)
from .._heating import peak_temperature
from .._materials import GOLD

__all__ = [
    "FIGURE_FILES",
    "make_figures",
    "fig5_data",
    "fig6_data",
    "fig3b_data",
    "heat_input_data",
    "plot_fig5",
    "plot_fig6",
    "plot_fig3b",
    "plot_heat_input",
]

PAPER = "Buret et al., Nanophotonics 9, 413 (2020)"

LAMBDA_F_NM = GOLD.fermi_wavelength_nm
"""λF of gold (nm): the length unit of the paper's figures."""
BIAS_V = 0.7
"""V_b (V): across the contact in Figs. 5, 6 (T0 = 4938 K·(λF/R0)^{1/2}); the source in Fig. 3B."""
LATTICE_TEMPERATURE_K = 300.0

FIG5_R0 = 2.5
"""R0/λF of Fig. 5 (A, B) and Fig. 6 (A, B)."""
FIG5_LENGTHS = ((1 / 6, "R_0/6", "red"), (1 / 4, "R_0/4", "green"), (1 / 3, "R_0/3", "blue"),
                (1 / 2, "R_0/2", "cyan"), (3 / 4, "3R_0/4", "darkviolet"), (1.0, "R_0", "black"))
"""(Lc/R0, label, colour) of Fig. 5 (A, B), from the caption."""
FIG6_LENGTHS = FIG5_LENGTHS[:5]
"""Fig. 6 (A, B): the caption lists the same lengths without Lc = R0."""
FIG5_RADII = ((2.0, "red"), (2.5, "green"), (3.0, "blue"), (4.0, "black"))
"""(R0/λF, colour) of Figs. 5 and 6 (C, D), from the captions."""
FIG5_CD_LC_OVER_R0 = 1 / 3
"""Lc/R0 of Fig. 5 (C, D): the text's R0/3 (the caption says Lc = λF/2)."""
FIG6_CD_LC = 0.5
"""Lc/λF of Fig. 6 (C, D), from its caption."""
FIG6_CLOSED_FORM = (2, 0)
"""Curves compared with the closed form: Lc = R0/3 in (A, B), R0 = 2λF in (C, D)."""

FIG3B_R0 = 2.0
"""R0/λF of the Fig. 3B model."""
FIG3B_LC = 0.25
"""Lc/λF of the Fig. 3B model."""
FIG3B_CHANNELS = (4, 5, 6, 7, 8)
FIG3B_SERIES_OHM = 470.0
FIG3B_ETA = 0.43
FIG3B_BIN_S = 0.010
FIG3B_DARK_RATE = 300.0
"""Dark counts per second ("about 300 counts s⁻¹", Fig. 3 caption)."""

HEAT_CHANNELS = (1, 2, 3, 4, 5, 6, 7, 8)
"""N of the heat-input figure (all N allowed by R0 = 2λF; Fig. 3B covers 4…8)."""
HEAT_REPORT_N = 4

FIGURE_FILES = ("emission_fig5.png", "emission_fig6.png", "emission_fig3b.png", "emission_heat_input.png")
"""File names written by :func:`make_figures`, in order."""

LABEL_CORRECT = "correct h→0 (Eq. 5 corrected)"
LABEL_PRINTED = "printed Eq. 5"
LABEL_INFINITE = "h → ∞ (Eq. 4)"

RESOLUTIONS = {
    # points per unit of N of the thin model lines through the markers (0: straight segments)
    "full": dict(per_channel=20),
    "low": dict(per_channel=0),
}

_YIELD_BLOCK = 32  # photon_yield is called on arrays padded to a multiple of this
_HEAT_COLORS = ("black", "tab:orange", "tab:purple")


def _grid(resolution):
    try:
        return RESOLUTIONS[resolution]
    except KeyError:
        raise ValueError(f"`resolution` must be one of {sorted(RESOLUTIONS)}, got {resolution!r}") from None


def _fine_channels(n_max, per_channel, n_min=1):
    """Real N from n_min to n_max for the model lines (the integers when per_channel = 0)."""
    if per_channel <= 0:
        return np.arange(n_min, n_max + 1, dtype=float)
    return np.linspace(n_min, n_max, per_channel * (n_max - n_min) + 1)


# ---------------------------------------------------------------------------
# Data (all physics through jaxqpc; one vectorised call per curve family)
# ---------------------------------------------------------------------------


def _peak(n, R0_lf, Lc_lf, h, variant="exact", contact_voltage=BIAS_V):
    """T_e (K) broadcast over N and the geometry (in λF); NaN where ζ = Nλ_F/(4R0) > 1."""
    n, R0, Lc = np.broadcast_arrays(np.asarray(n, float), np.asarray(R0_lf, float),
                                    np.asarray(Lc_lf, float))
    allowed = n <= 4.0 * R0 * (1.0 + 1e-12)
    safe_n = np.where(allowed, n, 1.0)
    te = peak_temperature(safe_n, R0=R0 * LAMBDA_F_NM, Lc=Lc * LAMBDA_F_NM, h=h, contact_voltage=contact_voltage,
                          lattice_temperature=LATTICE_TEMPERATURE_K, variant=variant)
    return np.where(allowed, np.asarray(te), np.nan)


def _yield_cm2(te, spectrum="exact"):
    """Detected yield (photons cm⁻² s⁻¹) of T_e (K, NaN allowed) in one call.

    Only the finite entries are evaluated, padded to a multiple of
    :data:`_YIELD_BLOCK` so that few array shapes (compilations) occur.
    """
    te = np.asarray(te, float)
    ok = np.isfinite(te)
    values = te[ok]
    out = np.full(te.shape, np.nan)
    if values.size:
        size = -(-values.size // _YIELD_BLOCK) * _YIELD_BLOCK
        padded = np.full(size, values[0])
        padded[: values.size] = values
        out[ok] = np.asarray(photon_yield(padded, spectrum=spectrum))[: values.size] * 1e-4
    return out


def _grids(n, n_fine):
    """(suffix, N) pairs to evaluate; the fine grid is skipped when it is the integer one."""
    if n_fine.shape == n.shape and np.array_equal(n_fine, n):
        return (("", n),)
    return (("", n), ("_fine", n_fine))


def _alias_fine(d, n, n_fine):
    """Point the ``_fine`` keys at the integer-N arrays when the two grids coincide."""
    if len(_grids(n, n_fine)) == 1:
        for key in [k for k in d if k.startswith(("Te_", "Y_", "counts_", "voltage", "power_"))
                    and not k.endswith("_fine")]:
            d[key + "_fine"] = d[key]


def _family(n, n_fine, R0_lf, Lc_lf):
    """T_e for h = ∞, h = 0 (exact) and the printed Eq. 5 at integer and fine N."""
    out = {}
    for key, grid in _grids(n, n_fine):
        out["Te_hinf" + key] = _peak(grid[None, :], R0_lf, Lc_lf, jnp.inf)
        out["Te_h0" + key] = _peak(grid[None, :], R0_lf, Lc_lf, 0.0)
        out["Te_printed" + key] = _peak(grid[None, :], R0_lf, Lc_lf, 0.0, variant="printed_eq5")
    _alias_fine(out, n, n_fine)
    return out


def _length_panel(per, lengths, **extra):
    """Panels A, B: R0 = FIG5_R0 and the cylinder lengths ``lengths`` (ratio, label, colour)."""
    n_max = int(round(4 * FIG5_R0))
    ratios = np.array([r for r, _, _ in lengths])
    return {
        "n": np.arange(1.0, n_max + 1), "n_fine": _fine_channels(n_max, per),
        "R0": np.full((len(ratios), 1), FIG5_R0), "Lc": (ratios * FIG5_R0)[:, None],
        "labels": [f"$L_c = {s}$" for _, s, _ in lengths],
        "colors": [c for _, _, c in lengths], **extra,
    }


def _radius_panel(per, lengths, **extra):
    """Panels C, D: the radii of FIG5_RADII with cylinder lengths ``lengths`` (λF), one per radius."""
    radii = np.array([r for r, _ in FIG5_RADII])
    n_max = int(round(4 * radii.max()))
    return {
        "n": np.arange(1.0, n_max + 1), "n_fine": _fine_channels(n_max, per),
        "R0": radii[:, None], "Lc": np.asarray(lengths, dtype=float)[:, None],
        "labels": [f"$R_0 = {r:g}\\,\\lambda_F$" for r in radii],
        "colors": [c for _, c in FIG5_RADII], **extra,
    }


def fig5_data(resolution="full"):
    """Peak electron temperature vs N for the four panels of Fig. 5.

    Returns a dict with ``"AB"`` and ``"CD"`` entries, each a dict with ``n``
    (integer N), ``n_fine`` (real N for the lines), ``R0`` and ``Lc`` (λF,
    shape (curves, 1)), ``labels``, ``colors`` and T_e (K, shape (curves, n))
    ``Te_hinf`` (h = ∞), ``Te_h0`` (h = 0, correct), ``Te_printed`` (printed
    Eq. 5), plus the same with suffix ``_fine``. NaN where ζ > 1.
    """
    per = _grid(resolution)["per_channel"]
    radii = np.array([r for r, _ in FIG5_RADII])
    ab = _length_panel(per, FIG5_LENGTHS)
    cd = _radius_panel(per, FIG5_CD_LC_OVER_R0 * radii)
    for p in (ab, cd):
        p.update(_family(p["n"], p["n_fine"], p["R0"], p["Lc"]))
    return {"AB": ab, "CD": cd, "bias": BIAS_V, "fine_lines": per > 0}


def fig6_data(resolution="full"):
    """Detected photon yield (photons cm⁻² s⁻¹) vs N for the four panels of Fig. 6.

    Same layout as :func:`fig5_data` (``"AB"``: R0 = 2.5λF, Lc = R0/6 … 3R0/4;
    ``"CD"``: Lc = λF/2, R0 = 2 … 4 λF) with the temperatures and the yields
    ``Y_hinf``, ``Y_h0``, ``Y_printed`` (exact spectrum, Eq. 20 detector) and
    ``Y_closed`` (the closed form 6.13·10²² ζ² e^{−1/ζ} for the h = ∞ and h = 0
    temperatures of curve ``closed_index``; keys ``Y_closed_hinf``,
    ``Y_closed_h0``), each also with suffix ``_fine``.
    """
    per = _grid(resolution)["per_channel"]
    ab = _length_panel(per, FIG6_LENGTHS, closed_index=FIG6_CLOSED_FORM[0])
    cd = _radius_panel(per, np.full(len(FIG5_RADII), FIG6_CD_LC), closed_index=FIG6_CLOSED_FORM[1])
    panels = (ab, cd)
    for p in panels:
        p.update(_family(p["n"], p["n_fine"], p["R0"], p["Lc"]))
    # one exact-yield call for every temperature of the figure
    keys = [(p, f"{v}{s}") for p in panels for v in ("hinf", "h0", "printed")
            for s, _ in _grids(p["n"], p["n_fine"])]
    temps = [p["Te_" + k] for p, k in keys]
    sizes = np.cumsum([0] + [t.size for t in temps])
    flat = _yield_cm2(np.concatenate([t.ravel() for t in temps]))
    for (p, k), t, a, b in zip(keys, temps, sizes[:-1], sizes[1:]):
        p["Y_" + k] = flat[a:b].reshape(t.shape)
    for p in panels:
        i = p["closed_index"]
        for v in ("hinf", "h0"):
            for s, _ in _grids(p["n"], p["n_fine"]):
                p[f"Y_closed_{v}{s}"] = _yield_cm2(p[f"Te_{v}{s}"][i], spectrum="closed_form")
        _alias_fine(p, p["n"], p["n_fine"])
    return {"AB": ab, "CD": cd, "bias": BIAS_V, "fine_lines": per > 0}


def _counts(n, h, source_voltage, series_resistance, **kwargs):
    return np.asarray(photon_counts_from_conductance(
        n, eta=FIG3B_ETA, R0=FIG3B_R0 * LAMBDA_F_NM, Lc=FIG3B_LC * LAMBDA_F_NM, h=h,
        source_voltage=source_voltage, bin_time=FIG3B_BIN_S, series_resistance=series_resistance,
        lattice_temperature=LATTICE_TEMPERATURE_K, **kwargs))


def fig3b_data(resolution="full"):
    """Model counts per bin vs electrical power in the setting of Fig. 3B.

    Two conventions (``"circuit"`` and ``"paper"``), each a dict with ``n``
    (N = 4…8) and ``n_fine``, ``voltage`` (V across the contact), ``power_uW``
    (P = V² N G0, µW), T_e (K) ``Te_hinf``/``Te_h0``/``Te_printed``, expected
    counts per bin including dark counts ``counts_hinf``/``counts_h0``/
    ``counts_printed``, and the same with suffix ``_fine``. ``"circuit"``:
    0.7 V source and 470 Ω in series; ``"paper"``: 0.7 V across the contact
    (P_N = V_b² N G0). Also ``dark_counts`` (per bin) and ``area_cm2``.
    Counts come from :func:`jaxqpc.photon_counts_from_conductance`, except the
    printed-Eq. 5 ones (that function has no such variant): there
    t_bin (η S Y(T_e) + dark rate) is formed here with the same area and yield.
    """
    per = _grid(resolution)["per_channel"]
    n = np.asarray(FIG3B_CHANNELS, float)
    n_fine = _fine_channels(FIG3B_CHANNELS[-1], per, n_min=FIG3B_CHANNELS[0])
    area_nm2 = float(radiating_area_nm2(FIG3B_R0 * LAMBDA_F_NM, FIG3B_LC * LAMBDA_F_NM))
    dark = FIG3B_DARK_RATE * FIG3B_BIN_S
    out = {"dark_counts": dark, "area_cm2": area_nm2 * 1e-14, "source_voltage": BIAS_V,
           "fine_lines": per > 0}
    for name, rs in (("circuit", FIG3B_SERIES_OHM), ("paper", 0.0)):
        d = {"series_resistance": rs, "n": n, "n_fine": n_fine}
        for key, grid in _grids(n, n_fine):
            v = np.asarray(contact_voltage(grid, BIAS_V, rs))
            d["voltage" + key] = v
            d["power_uW" + key] = v * v * grid * CONDUCTANCE_QUANTUM_S * 1e6
            for tag, h in (("hinf", jnp.inf), ("h0", 0.0)):
                d[f"Te_{tag}{key}"] = _peak(grid, FIG3B_R0, FIG3B_LC, h, contact_voltage=v)
                d[f"counts_{tag}{key}"] = _counts(grid, h, BIAS_V, rs, dark_rate=FIG3B_DARK_RATE)
            te = _peak(grid, FIG3B_R0, FIG3B_LC, 0.0, variant="printed_eq5", contact_voltage=v)
            d["Te_printed" + key] = te
            d["counts_printed" + key] = FIG3B_BIN_S * (
                FIG3B_ETA * area_nm2 * 1e-14 * _yield_cm2(te) + FIG3B_DARK_RATE)
        _alias_fine(d, n, n_fine)
        out[name] = d
    return out


def heat_input_data(resolution="full"):
    """T_e and signal counts vs N for three shares of the power heating the drain.

    Fig. 3B setting (R0 = 2λF, Lc = λF/4, 0.7 V source, 470 Ω, η = 0.43,
    10 ms bins, h = ∞). ``resolution`` is accepted for symmetry (the integer N
    are the data). Returns a dict with ``n``, ``voltage`` (V across the
    contact), ``labels``, ``fraction`` (3, n): P_R/P used (1; Landauer with T
    constant; Landauer with the saddle point), ``Te`` (3, n) in K, ``signal``
    (3, n): counts per bin without dark counts, ``Te_ratio`` and
    ``signal_ratio`` (3, n) relative to the first row, ``dark_counts``.
    """
    _grid(resolution)
    n = np.asarray(HEAT_CHANNELS, float)
    v = np.asarray(contact_voltage(n, BIAS_V, FIG3B_SERIES_OHM))
    fraction = np.stack([np.ones_like(n)] + [np.asarray(drain_heat_fraction(
        n, v, transmission=t, lattice_temperature=LATTICE_TEMPERATURE_K)) for t in ("constant", "saddle")])
    te_full = _peak(n, FIG3B_R0, FIG3B_LC, jnp.inf, contact_voltage=v)
    tl2 = LATTICE_TEMPERATURE_K**2
    te = np.sqrt(tl2 + fraction * (te_full**2 - tl2))  # Θ = T_e² − T_L² ∝ heat input
    signal = _counts(n[None, :], jnp.inf, BIAS_V, FIG3B_SERIES_OHM, heat_fraction=fraction)
    w = SADDLE_SPACING_EV
    return {
        "n": n, "voltage": v, "fraction": fraction, "Te": te, "signal": signal,
        "Te_ratio": te / te[:1], "signal_ratio": signal / signal[:1],
        "labels": ["all of P at the drain (paper), $P_R/P = 1$",
                   "Landauer, $T(\\varepsilon)$ = const: $P_R/P = 1/2$",
                   f"Landauer, saddle point ($\\hbar\\omega_x = \\hbar\\omega_y = {w:g}$ eV, "
                   "$T(\\varepsilon_F) = N$)"],
        "dark_counts": FIG3B_DARK_RATE * FIG3B_BIN_S, "saddle_spacing_eV": w,
    }


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


def _lines_note(fine):
    if fine:
        return "Lines: the same model at real N (sub-quantum conductances)."
    return "Lines: straight segments (low resolution)."


def _model_box(ax, lines, loc="upper right"):
    ax.text(0.98 if "right" in loc else 0.02, 0.97 if "upper" in loc else 0.03, "\n".join(lines),
            transform=ax.transAxes, ha="right" if "right" in loc else "left",
            va="top" if "upper" in loc else "bottom", fontsize=7.5,
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.7", alpha=0.9))


def _curves(ax, panel, key, marker, printed=None, log=False, closed=None):
    """Markers at integer N, thin lines through the fine N; optional dashed printed Eq. 5."""
    for i, (label, color) in enumerate(zip(panel["labels"], panel["colors"])):
        ax.plot(panel["n_fine"], panel[key + "_fine"][i], color=color, lw=1.0)
        ax.plot(panel["n"], panel[key][i], color=color, ls="none", marker=marker, ms=4.5,
                mfc=color, mec="k" if color != "black" else "0.5", mew=0.4, label=label)
        if printed is not None:
            ax.plot(panel["n_fine"], panel[printed + "_fine"][i], color=color, lw=1.0, ls="--")
            ax.plot(panel["n"], panel[printed][i], color=color, ls="none", marker=marker, ms=3.5,
                    mfc="white", mec=color, mew=0.8)
    if closed is not None:
        i = panel["closed_index"]
        ax.plot(panel["n_fine"], panel[closed + "_fine"], color="k", lw=1.0, ls=":", zorder=5)
    ax.set_xlim(0.5, panel["n"][-1] + 0.5)
    ax.set_xticks(panel["n"][:: 1 if panel["n"].size <= 10 else 2])
    ax.set_xlabel("number of open channels $N$")
    ax.grid(alpha=0.25, which="major")
    if log:
        ax.set_yscale("log")


def plot_fig5(data, path, printed_eq5=False):
    """Fig. 5: T_e vs N, (A) h = ∞ and (B) h = 0 at R0 = 2.5λF; (C, D) at Lc = R0/3."""
    fig = Figure(figsize=(11, 9.0), layout="constrained")
    axes = fig.subplots(2, 2)
    ab, cd = data["AB"], data["CD"]
    titles = (f"(A) $h \\gg 1$ ($h = \\infty$), $R_0 = {FIG5_R0:g}\\,\\lambda_F$",
              f"(B) $h \\ll 1$ ($h = 0$), $R_0 = {FIG5_R0:g}\\,\\lambda_F$",
              "(C) $h \\gg 1$ ($h = \\infty$), $L_c = R_0/3$",
              "(D) $h \\ll 1$ ($h = 0$), $L_c = R_0/3$")
    for k, (ax, panel, title) in enumerate(zip(axes.ravel(), (ab, ab, cd, cd), titles)):
        h0 = k % 2 == 1
        _curves(ax, panel, "Te_h0" if h0 else "Te_hinf", "o" if h0 else "s",
                printed="Te_printed" if (h0 and printed_eq5) else None)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(r"peak electron temperature $T_e$ (K)")
        if h0:
            lines = [f"solid, circles: {LABEL_CORRECT}"]
            if printed_eq5:
                lines.append(f"dashed, open circles: {LABEL_PRINTED}")
        else:
            lines = [f"squares: {LABEL_INFINITE}, exact series"]
        _model_box(ax, lines)
        ax.legend(fontsize=7.5, loc="lower left", framealpha=0.9)
    for row in axes:  # same temperature scale within a row (h = ∞ vs h = 0)
        lo = min(a.get_ylim()[0] for a in row)
        hi = max(a.get_ylim()[1] for a in row)
        for a in row:
            a.set_ylim(lo, hi + 0.12 * (hi - lo))  # room for the model box
    fig.suptitle(f"Fig. 5 ({PAPER}):\npeak electron temperature vs number of open channels, "
                 f"$V_b = {data['bias']:g}$ V across the contact, $T_L = {LATTICE_TEMPERATURE_K:g}$ K",
                 fontsize=11)
    te_b = ab["Te_h0"][-1]
    caption = [
        "(C, D): the paper's Fig. 5 caption says L_c = λF/2, its text says L_c = R0/3: R0/3 is used here. "
        "Each curve stops at N = 4R0/λF (ζ = NλF/4R0 = 1). λF = 0.52 nm.",
        "h = 0 uses the correct h → 0 limit of Eqs. 2-3 (first term of Eq. 5 is ζLc/2R0, the printed "
        "Eq. 5 has ζLc/R0). " + _lines_note(data["fine_lines"]),
        f"Correct formula: T_e falls with N in every curve except (B) L_c = R0: "
        f"{te_b[0]:.0f} K (N = 1), min {np.nanmin(te_b):.0f} K (N = {int(np.nanargmin(te_b)) + 1}), "
        f"{te_b[-1]:.0f} K (N = 10).",
    ]
    if printed_eq5:
        tp = ab["Te_printed"][-1]
        caption.append(f"Printed Eq. 5 (dashed, B and D): at L_c = R0 T_e rises monotonically with N, "
                       f"{tp[0]:.0f} → {tp[-1]:.0f} K (at 3R0/4 too); the strong rise at large L_c "
                       "(the paper's 'maximum shifting to higher N') comes from the misprint.")
    return _finish(fig, path, caption)


def plot_fig6(data, path, printed_eq5=False):
    """Fig. 6: detected photon yield vs N (log y), same panels as Fig. 5 (C, D at Lc = λF/2)."""
    fig = Figure(figsize=(11, 9.0), layout="constrained")
    axes = fig.subplots(2, 2)
    ab, cd = data["AB"], data["CD"]
    titles = (f"(A) $h \\gg 1$ ($h = \\infty$), $R_0 = {FIG5_R0:g}\\,\\lambda_F$",
              f"(B) $h \\ll 1$ ($h = 0$), $R_0 = {FIG5_R0:g}\\,\\lambda_F$",
              f"(C) $h \\gg 1$ ($h = \\infty$), $L_c = {FIG6_CD_LC:g}\\,\\lambda_F$",
              f"(D) $h \\ll 1$ ($h = 0$), $L_c = {FIG6_CD_LC:g}\\,\\lambda_F$")
    for k, (ax, panel, title) in enumerate(zip(axes.ravel(), (ab, ab, cd, cd), titles)):
        h0 = k % 2 == 1
        tag = "h0" if h0 else "hinf"
        _curves(ax, panel, "Y_" + tag, "o" if h0 else "s",
                printed="Y_printed" if (h0 and printed_eq5) else None, log=True,
                closed="Y_closed_" + tag)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(r"photon yield (photons cm$^{-2}$ s$^{-1}$)")
        lines = [f"solid: {LABEL_CORRECT}" if h0 else f"squares: {LABEL_INFINITE}",
                 "exact spectrum (Eqs. 14, 15) × detector (Eq. 20)"]
        if h0 and printed_eq5:
            lines.append(f"dashed, open circles: {LABEL_PRINTED}")
        lines.append(r"black dotted: closed form $6.13\times10^{22}\,\zeta^2 e^{-1/\zeta}$ "
                     f"({panel['labels'][panel['closed_index']]})")
        _model_box(ax, lines)
        ax.legend(fontsize=7.5, loc="lower left", framealpha=0.9)
    for row in axes:
        lo = min(a.get_ylim()[0] for a in row)
        hi = max(a.get_ylim()[1] for a in row)
        for a in row:
            a.set_ylim(lo, hi * (hi / lo) ** 0.22)  # room for the model box (log axis)
    fig.suptitle(f"Fig. 6 ({PAPER}):\nthermal Bremsstrahlung photon yield vs number of open "
                 f"channels, $V_b = {data['bias']:g}$ V, $T_L = {LATTICE_TEMPERATURE_K:g}$ K",
                 fontsize=11)
    y = ab["Y_hinf"]
    i = ab["closed_index"]
    ratio = ab["Y_hinf"][i] / ab["Y_closed_hinf"]
    caption = [
        "Settings of the Fig. 6 caption: (A, B) L_c = R0/6 ... 3R0/4 (no L_c = R0 there); (C, D) L_c = λF/2 "
        "fixed (Fig. 5 C, D use R0/3). Yield = ∫Q(ω) dN/dSdωdt dω.",
        f"(A) at L_c = R0/6 the yield falls {y[0, 0] / y[0, -1]:.0f}-fold from N = 1 to N = 10; "
        f"at L_c = 3R0/4 {y[-1, 0] / y[-1, -1]:.1f}-fold. Exact/closed form for L_c = R0/3: "
        f"{np.nanmin(ratio):.2f} ... {np.nanmax(ratio):.2f}. " + _lines_note(data["fine_lines"]),
    ]
    if printed_eq5:
        caption.append("Dashed (B, D): the temperatures of the printed Eq. 5 (first term twice too large).")
    return _finish(fig, path, caption)


def plot_fig3b(data, path, printed_eq5=False):
    """Fig. 3B model: counts per bin vs power, (a) the circuit, (b) the paper's convention."""
    fig = Figure(figsize=(11, 5.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    dark = data["dark_counts"]
    panels = (("circuit", "(a) 0.7 V source, 470 Ω in series: $P = V_c^2 N G_0$"),
              ("paper", "(b) paper's convention: 0.7 V on the contact, $P_N = V_b^2 N G_0$"))
    for ax, (name, title) in zip(axes, panels):
        d = data[name]
        for tag, color, mfc, ms, label in (
                ("hinf", "tab:blue", "tab:blue", 8, "$h = \\infty$ ($h \\gg 1$, blue in the paper)"),
                ("h0", "magenta", "none", 11, f"$h = 0$ ($h \\ll 1$, magenta), {LABEL_CORRECT}")):
            ax.plot(d["power_uW_fine"], d[f"counts_{tag}_fine"], color=color, lw=1.0)
            ax.plot(d["power_uW_fine"], d[f"counts_{tag}_fine"] - dark, color=color, lw=0.8, ls="-.")
            ax.plot(d["power_uW"], d[f"counts_{tag}"] - dark, ls="none", marker="v", ms=ms * 0.6,
                    mfc=mfc, mec=color, mew=0.8)
            ax.plot(d["power_uW"], d[f"counts_{tag}"], ls="none", marker="v", ms=ms, mfc=mfc,
                    mec=color, mew=1.2, label=label)
        if printed_eq5:
            ax.plot(d["power_uW_fine"], d["counts_printed_fine"], color="0.35", lw=1.0, ls="--")
            ax.plot(d["power_uW"], d["counts_printed"], ls="none", marker="^", ms=6, mfc="none",
                    mec="0.35", label=f"{LABEL_PRINTED} (h ignored)")
        ax.axhline(dark, color="0.5", lw=0.8, ls=":")
        ax.text(0.5, dark / 1.12, "dark counts (300 s$^{-1}$)", ha="center", va="top",
                fontsize=7.5, color="0.4", transform=ax.get_yaxis_transform())
        for j, (nn, p, c) in enumerate(zip(d["n"], d["power_uW"], d["counts_hinf"] - dark)):
            last = j == d["n"].size - 1
            ax.annotate(f"N = {nn:g}", (p, c), textcoords="offset points",
                        xytext=(-7 if last else 7, 4), ha="right" if last else "left", fontsize=7.5)
        ax.margins(x=0.07)
        ax.set_yscale("log")
        ax.set_xlabel(r"electrical power in the contact ($\mu$W)")
        ax.set_title(title, fontsize=9.5)
        ax.grid(alpha=0.25, which="both")
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="k", lw=1.0), Line2D([], [], color="k", lw=0.8, ls="-.")]
        labels += ["expected counts per bin (signal + dark)", "signal only (without dark counts)"]
        ax.legend(handles, labels, fontsize=7.5, loc="lower left", framealpha=0.9)
    axes[0].set_ylabel(f"counts per {FIG3B_BIN_S * 1e3:g} ms bin")
    fig.suptitle(f"Fig. 3B model ({PAPER}): counts vs power, "
                 f"$R_0 = {FIG3B_R0:g}\\,\\lambda_F$, $L_c = \\lambda_F/4$, $N = 4\\ldots8$, "
                 f"$\\eta = {FIG3B_ETA:g}$", fontsize=11)
    c, p = data["circuit"], data["paper"]
    return _finish(fig, path, [
        f"Radiating area πR0² + 2πR0Lc = {data['area_cm2']:.3g} cm² (the paper prints 4.84e-14). "
        "Dark rate 300 s⁻¹: the paper's 'about 300 counts/s'. Exact spectrum, Eq. 20 detector.",
        f"(a) V_c = {c['voltage'][0]:.3f} V at N = 4 ... {c['voltage'][-1]:.3f} V at N = 8; P = "
        f"{c['power_uW'][0]:.0f} ... {c['power_uW'][-1]:.0f} µW; T_e = {c['Te_hinf'][0]:.0f} ... "
        f"{c['Te_hinf'][-1]:.0f} K; signal {c['counts_hinf'][0] - dark:.3g} ... "
        f"{c['counts_hinf'][-1] - dark:.2g} counts per bin.",
        f"(b) ignores the 470 Ω: P_N = {p['power_uW'][0]:.0f} ... {p['power_uW'][-1]:.0f} µW, "
        f"T_e = {p['Te_hinf'][0]:.0f} ... {p['Te_hinf'][-1]:.0f} K, signal "
        f"{p['counts_hinf'][0] - dark:.3g} ... {p['counts_hinf'][-1] - dark:.2g} counts per bin.",
        "At L_c/R0 = 1/8 the two h limits coincide (counts within "
        f"{np.max(np.abs(c['counts_h0'] / c['counts_hinf'] - 1)):.0e}): with the correct formula they "
        "cannot bound the data from two sides, as the paper's blue and magenta triangles do;",
        f"the printed Eq. 5 gives T_e = {c['Te_printed'][0]:.0f} K and "
        f"{(c['counts_printed'][0] - dark) / (c['counts_hinf'][0] - dark):.1f}× the signal of h = ∞ "
        "at N = 4 in (a). " + _lines_note(data["fine_lines"]),
    ])


def plot_heat_input(data, path, printed_eq5=False):
    """Heat input: T_e, signal counts, P_R/P and the ratios to the paper's choice vs N."""
    del printed_eq5  # (no printed variant here: h = ∞)
    fig = Figure(figsize=(11, 8.4), layout="constrained")
    (ax_f, ax_t), (ax_c, ax_r) = fig.subplots(2, 2)
    n = data["n"]
    markers = ("o", "s", "D")
    for i, (label, color, m) in enumerate(zip(data["labels"], _HEAT_COLORS, markers)):
        ax_f.plot(n, data["fraction"][i], color=color, marker=m, ms=4.5, label=label)
        ax_t.plot(n, data["Te"][i], color=color, marker=m, ms=4.5, label=label)
        ax_c.plot(n, data["signal"][i], color=color, marker=m, ms=4.5, label=label)
        if i:
            ax_r.plot(n, data["Te_ratio"][i], color=color, marker=m, ms=4.5, ls="--",
                      label=f"$T_e$ ratio, {'$P_R/P = 1/2$' if i == 1 else 'saddle point'}")
            ax_r.plot(n, data["signal_ratio"][i], color=color, marker=m, ms=4.5,
                      label=f"counts ratio, {'$P_R/P = 1/2$' if i == 1 else 'saddle point'}")
    for i, (nn, f) in enumerate(zip(n, data["fraction"][2])):
        ax_f.annotate(f"{f:.3f}", (nn, f), textcoords="offset points", xytext=(0, 6), ha="center",
                      fontsize=7)
    ax_c.axhline(data["dark_counts"], color="0.5", lw=0.8, ls=":")
    ax_c.text(n[-1], data["dark_counts"] * 1.15, "dark counts (300 s$^{-1}$)", ha="right",
              fontsize=7.5, color="0.4")
    ax_c.set_yscale("log")
    ax_r.set_yscale("log")
    ax_f.set_ylim(0.4, 1.1)
    ax_f.set_ylabel(r"share of $P$ heating the drain, $P_R/P$")
    ax_t.set_ylabel(r"peak electron temperature $T_e$ (K)")
    ax_c.set_ylabel(f"signal counts per {FIG3B_BIN_S * 1e3:g} ms bin (no dark counts)")
    ax_r.set_ylabel("ratio to the paper's choice ($P_R/P = 1$)")
    titles = ("(a) heat input share", "(b) peak electron temperature",
              "(c) detected signal", "(d) relative change: $T_e$ (dashed) and counts (solid)")
    for ax, title in zip((ax_f, ax_t, ax_c, ax_r), titles):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("number of open channels $N$")
        ax.set_xticks(n)
        ax.grid(alpha=0.25, which="major")
        ax.axvspan(FIG3B_CHANNELS[0] - 0.2, FIG3B_CHANNELS[-1] + 0.2, color="0.92", zorder=0)
    ax_f.legend(fontsize=7.5, loc="upper right", bbox_to_anchor=(1.0, 0.82), framealpha=0.95)
    ax_r.legend(fontsize=7.5, loc="lower left", framealpha=0.9)
    fig.suptitle(f"Heat input at the drain ({PAPER} model, Fig. 3B setting):\n"
                 f"$R_0 = {FIG3B_R0:g}\\,\\lambda_F$, $L_c = \\lambda_F/4$, 0.7 V source with 470 Ω, "
                 f"$\\eta = {FIG3B_ETA:g}$, $h = \\infty$ (h = 0 is the same here)", fontsize=11)
    k = int(np.flatnonzero(n == HEAT_REPORT_N)[0])
    te_drop = 100.0 * (1.0 - data["Te_ratio"][:, k])
    factor = 1.0 / data["signal_ratio"][:, k]
    return _finish(fig, path, [
        "Shaded: N = 4...8, the range of Fig. 3B. Contact voltage from the circuit, T_L = 300 K. "
        "T_e² − T_L² is proportional to the heat input: T_e = (T_L² + f (T_e,paper² − T_L²))^{1/2}, "
        "f = P_R/P.",
        "(i) energy-independent T (a constant table T(ε) = N): Landauer gives P_R = P_L = P/2 exactly "
        f"(computed: {np.max(np.abs(data['fraction'][1] - 0.5)):.0e} from 1/2).",
        f"(ii) Büttiker saddle-point contact, energies in eV: a threshold every "
        f"{data['saddle_spacing_eV']:g} eV, placed so that T(ε_F = 5.53 eV) = N; T rises across the "
        "bias window, so P_R/P > 1/2 (values in a).",
        f"At N = {HEAT_REPORT_N} when only P_R heats the drain: T_e drops by {te_drop[1]:.1f} % and "
        f"counts by a factor {factor[1]:.0f} (P_R/P = 1/2); by {te_drop[2]:.1f} % and a factor "
        f"{factor[2]:.0f} (saddle point, P_R/P = {data['fraction'][2, k]:.3f}).",
    ])


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

_FIGURES = (
    (fig5_data, plot_fig5),
    (fig6_data, plot_fig6),
    (fig3b_data, plot_fig3b),
    (heat_input_data, plot_heat_input),
)


def make_figures(out_dir, resolution="full", printed_eq5=False, *, verbose=False):
    """Compute and write the emission figures as PNGs (:data:`FIGURE_FILES`) into ``out_dir``.

    Args:
        out_dir: output directory (created if missing). Existing files of the
            same names are overwritten (the command line refuses unless --force).
        resolution: ``"full"`` (model lines at real N between the integer
            markers) or ``"low"`` (straight segments; for tests and previews).
        printed_eq5: also draw the paper's printed Eq. 5 (dashed) in Figs. 5 and
            6 (B, D) and in Fig. 3B.
        verbose: print each figure's computing time.

    Returns:
        The list of written paths, in the order of :data:`FIGURE_FILES`.
    """
    _grid(resolution)
    return write_figures(out_dir, zip(FIGURE_FILES, _FIGURES), resolution, verbose=verbose,
                         printed_eq5=printed_eq5)
