"""Reports of a fit: summary.json, predictions.csv, fit.png and corner.png.

Everything here works on posterior draws (a dict of flat arrays per
parameter) and the expected counts of each draw: the Bayesian fit's draws
(``inference.sample``), or for ``--method map`` draws of the Laplace
approximation (:func:`inference.optimize.laplace_draws`: a Gaussian in the
unconstrained coordinates mapped to the physical parameters, so every draw
lies inside the domain). Posterior summaries (median, mean, sd, quantiles)
and the correlation matrix are those of the draws; the MAP column is the
multi-start optimiser's mode. Correlations are computed on the scale where
each prior is simple (η linear, ln Lc, ln R0, log₁₀ h), where the ridge is
closest to straight.

Identifiability: for each parameter the ratio of the width of the central 95 %
interval of the draws to that of the prior
(:data:`inference.likelihood.PRIOR`), each measured on the scale where the
prior is simple: η linear (prior width 0.95), Lc and R0 in ln (2·1.96·σ_ln),
h in log₁₀ (0.95·6 decades). The data-dependent truncation of the prior
(R0 ≥ R0_min, Lc ≤ 1.5 R0) is ignored, so a ratio near or above 1 means "the
data add next to nothing". For h a ratio > 0.5 is reported as "h is not
constrained by these data".

Figures use matplotlib's object API with the Agg canvas (no pyplot, no global
state).
"""

import csv
import json
import math
import os

import numpy as np

from .likelihood import PRIOR
from .params import PARAM_NAMES

__all__ = [
    "QUANTILES",
    "parameter_summary",
    "identifiability",
    "correlation_dict",
    "map_diagnostics",
    "build_summary",
    "draws_and_bands",
    "write_summary",
    "write_predictions",
    "plot_fit",
    "plot_corner",
    "write_fit",
]

QUANTILES = {"q2.5": 2.5, "q16": 16.0, "q84": 84.0, "q97.5": 97.5}
"""Reported quantiles (key: percent)."""

H_UNCONSTRAINED_RATIO = 0.5
"""Posterior/prior width ratio above which h is reported as not constrained."""

LABELS = {"eta": "η", "Lc": "Lc (nm)", "R0": "R0 (nm)", "h": "h"}
LOG_AXES = {"eta": False, "Lc": True, "R0": True, "h": True}


def parameter_summary(draws, map_params=None):
    """{name: {median, mean, sd, q2.5, q16, q84, q97.5[, map]}} from draws (dict of arrays)."""
    out = {}
    for k in PARAM_NAMES:
        x = np.asarray(draws[k], dtype=float)
        entry = {"median": float(np.median(x)), "mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1))}
        for name, q in QUANTILES.items():
            entry[name] = float(np.percentile(x, q))
        if map_params is not None:
            entry["map"] = float(map_params[k])
        out[k] = entry
    return out


def _prior_scale(name):
    """(transform to the prior's natural scale, prior 95 % width on it, scale name)."""
    kind, *p = PRIOR[name]
    if kind == "uniform":
        lo, hi = p
        return (lambda x: x), 0.95 * (hi - lo), "linear"
    if kind == "lognormal":
        _, sigma = p
        return np.log, 2.0 * 1.959963984540054 * sigma, "ln"
    if kind == "log10uniform":
        lo, hi = p
        return np.log10, 0.95 * (hi - lo), "log10"
    raise ValueError(f"unknown prior kind {kind!r} for {name}")


def identifiability(draws):
    """Per parameter: posterior/prior 95 %-width ratio, the scale, and a short verdict."""
    out = {}
    for k in PARAM_NAMES:
        f, prior_width, scale = _prior_scale(k)
        y = f(np.asarray(draws[k], dtype=float))
        post_width = float(np.percentile(y, 97.5) - np.percentile(y, 2.5))
        ratio = post_width / prior_width
        if k == "h" and ratio > H_UNCONSTRAINED_RATIO:
            note = "h is not constrained by these data"
        elif ratio > H_UNCONSTRAINED_RATIO:
            note = f"{k} is weakly constrained by these data (posterior close to the prior)"
        elif ratio > 0.1:
            note = f"{k} is partly constrained by these data"
        else:
            note = f"{k} is well constrained by these data"
        out[k] = {"posterior_to_prior_width": ratio, "scale": scale,
                  "posterior_width_95": post_width, "prior_width_95": prior_width, "note": note}
    return out


def correlation_dict(draws):
    """Correlation matrix of the draws on the priors' scales (η, ln Lc, ln R0, log₁₀ h), JSON-ready.

    A parameter that does not vary (h fixed) has NaN correlations, written as null.
    """
    y = np.stack([_prior_scale(k)[0](np.asarray(draws[k], dtype=float)) for k in PARAM_NAMES])
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(y)
    return {"names": list(PARAM_NAMES), "scales": [_prior_scale(k)[2] for k in PARAM_NAMES],
            "matrix": [[None if not math.isfinite(v) else float(v) for v in row] for row in c]}


def map_diagnostics(result, n_starts):
    """The multi-start optimiser's diagnostics (JSON-ready)."""
    return {
        "fraction_of_starts_near_best": float(result.fraction_near_best),
        "log_likelihood": float(result.log_likelihood),
        "n_starts": int(n_starts),
        "wall_s": float(result.wall_s),
    }


def build_summary(*, method, data, dataset, map_result, draws, metadata, diagnostics,
                  heat_input="drain", evidence=None, model_comparison=None, truth=None):
    """The summary.json dict (keys in the documented order; optional parts only when given).

    Args:
        method: the fit method (``quadrature``, ``map`` or a sampler name).
        map_result: the :class:`~inference.optimize.MapResult` (``None`` for ``quadrature``,
            which needs no MAP: the parameters then have no ``map`` entry).
        diagnostics: dict (:func:`inference.quadrature.diagnostics`; the sampler's
            :func:`inference.diagnostics.diagnose` with the MAP's :func:`map_diagnostics` under
            ``"map"``; or the MAP's alone for ``map``).
        heat_input: the model's heat input, e.g. ``"drain"`` or ``"landauer (constant transmission)"``.
        evidence: :func:`inference.quadrature.evidence_table` of the h models (with the heat
            inputs' table under ``"heat_input"`` when they were compared).
        model_comparison: rows of :func:`inference.diagnostics.compare_h_models`.
    """
    summary = {
        "method": method,
        "data": str(data),
        "n_rows": int(dataset.n_rows),
        "metadata": metadata,
        "heat_input": heat_input,
        "parameters": parameter_summary(draws, None if map_result is None else map_result.params),
        "correlation": correlation_dict(draws),
        "diagnostics": diagnostics,
        "identifiability": identifiability(draws),
    }
    if evidence is not None:
        summary["evidence"] = evidence
    if model_comparison is not None:
        summary["model_comparison"] = model_comparison
    if truth is not None:
        summary["truth"] = {k: float(v) for k, v in truth.items()}
    return summary


def draws_and_bands(idata, dataset):
    """The posterior draws (dict name → (n,)), expected and replicated counts (n, rows) of an
    InferenceData (:func:`inference.diagnostics.to_inference_data`), for the summary, the bands
    and the plots."""
    draws = {k: np.asarray(v).reshape(-1) for k, v in idata.posterior.data_vars.items()}
    predicted, replicated = (np.asarray(idata.posterior_predictive[name]).reshape(-1, dataset.n_rows)
                             for name in ("expected_counts", "counts"))
    return draws, predicted, replicated


def write_fit(out, summary, dataset, draws, predicted, replicated, *, idata, title, source, truth=None,
              map_params=None, plots=True):
    """Write the files of one fit into the directory ``out`` (created if missing) and return their
    paths: ``posterior.nc`` (the ArviZ InferenceData, unless ``idata`` is None), ``predictions.csv``,
    ``fit.png`` and ``corner.png`` (unless ``plots`` is false) and, last (so that its presence marks
    a complete fit), ``summary.json``. The caller has checked that ``out`` may be written (nothing
    is asked here)."""
    os.makedirs(out, exist_ok=True)
    paths = []
    if idata is not None:
        path = os.path.join(out, "posterior.nc")
        if os.path.exists(path):
            os.remove(path)  # netCDF refuses to overwrite an open-able file in place
        idata.to_netcdf(path)
        paths.append(path)
    paths.append(write_predictions(dataset, predicted, replicated, os.path.join(out, "predictions.csv")))
    if plots:
        paths += [plot_fit(dataset, predicted, os.path.join(out, "fit.png"), title=title),
                  plot_corner(draws, os.path.join(out, "corner.png"), source=source, truth=truth,
                              map_params=map_params)]
    paths.append(write_summary(summary, os.path.join(out, "summary.json")))
    return paths


def write_summary(summary, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return path


def prediction_band(predicted):
    """(median, q2.5, q97.5) of the expected counts over draws, each (n_rows,)."""
    return (np.median(predicted, axis=0), np.percentile(predicted, 2.5, axis=0),
            np.percentile(predicted, 97.5, axis=0))


def write_predictions(dataset, predicted, replicated, path):
    """predictions.csv: each data row with the expected-count band and the posterior predictive band.

    Columns: power, counts, bin_time, detector, expected_median, expected_q2.5,
    expected_q97.5 (of μ_i over the draws), replicated_q2.5, replicated_q97.5
    (of replicated counts: where the observed count should fall 95 % of the time).
    """
    med, lo, hi = prediction_band(predicted)
    rep_lo, rep_hi = np.percentile(replicated, [2.5, 97.5], axis=0)
    cols = [np.asarray(dataset.power), np.asarray(dataset.counts), np.asarray(dataset.bin_time),
            np.asarray(dataset.detector)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["power", "counts", "bin_time", "detector", "expected_median", "expected_q2.5",
                    "expected_q97.5", "replicated_q2.5", "replicated_q97.5"])
        for p, c, b, d, m, l_, h, rl, rh in zip(*cols, med, lo, hi, rep_lo, rep_hi):
            w.writerow([repr(float(p)), int(c), repr(float(b)), int(d), f"{m:.6g}", f"{l_:.6g}",
                        f"{h:.6g}", f"{rl:.6g}", f"{rh:.6g}"])
    return path


def _figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_fit(dataset, predicted, path, *, title):
    """fit.png: counts per second vs power (log y), data per detector, median and 95 % band.

    Counts are divided by each row's bin time (rows may have different bins),
    so data and model share one axis.
    """
    med, lo, hi = prediction_band(predicted)
    power = np.asarray(dataset.power) * 1e6
    bins = np.asarray(dataset.bin_time)
    counts = np.asarray(dataset.counts)
    det = np.asarray(dataset.detector)
    fig = _figure((6.4, 4.4))
    ax = fig.add_subplot()
    colors = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for d in np.unique(det):
        sel = det == d
        order = np.argsort(power[sel])
        c = colors[int(d) % len(colors)]
        x = power[sel][order]
        ax.plot(x, counts[sel][order] / bins[sel][order], "o", ms=3.5, color=c, alpha=0.8,
                label=f"data, detector {int(d)}")
        ax.fill_between(x, lo[sel][order] / bins[sel][order], hi[sel][order] / bins[sel][order],
                        color=c, alpha=0.2, lw=0, label=f"95 % band, detector {int(d)}")
        ax.plot(x, med[sel][order] / bins[sel][order], "-", color=c, lw=1.3,
                label=f"median prediction, detector {int(d)}")
    ax.set_yscale("log")
    ax.set_xlabel("power dissipated in the contact (µW)")
    ax.set_ylabel("counts per second")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return path


def plot_corner(draws, path, *, source, truth=None, map_params=None, bins=40):
    """corner.png: 1-D histograms on the diagonal, 2-D histograms below it.

    ``source`` names the draws in the title (e.g. "Laplace draws", "AIES posterior draws").

    η on a linear axis, Lc, R0, h on log axes; the truth (if given) in red, the MAP in black.
    """
    names = [k for k in PARAM_NAMES if np.ptp(np.asarray(draws[k], dtype=float)) > 0]  # h may be fixed
    n = len(names)
    vals = {}
    for k in names:
        x = np.asarray(draws[k], dtype=float)
        vals[k] = np.log10(x) if LOG_AXES[k] else x

    def tr(k, v):
        return math.log10(v) if LOG_AXES[k] else v

    def label(k):
        return f"log10 {LABELS[k]}" if LOG_AXES[k] else LABELS[k]

    fig = _figure((7.5, 7.5))
    axes = fig.subplots(n, n, squeeze=False)
    for i, ki in enumerate(names):
        for j, kj in enumerate(names):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                ax.hist(vals[ki], bins=bins, color="0.4", histtype="stepfilled", alpha=0.7)
                ax.set_yticks([])
                if truth is not None and ki in truth:
                    ax.axvline(tr(ki, truth[ki]), color="red", lw=1.2)
                if map_params is not None:
                    ax.axvline(tr(ki, map_params[ki]), color="k", lw=1.0, ls="--")
            else:
                ax.hist2d(vals[kj], vals[ki], bins=bins, cmap="Greys", cmin=1)
                if truth is not None and ki in truth and kj in truth:
                    ax.plot(tr(kj, truth[kj]), tr(ki, truth[ki]), "s", color="red", ms=5,
                            mfc="none", mew=1.5)
                if map_params is not None:
                    ax.plot(tr(kj, map_params[kj]), tr(ki, map_params[ki]), "x", color="k", ms=5)
            if i == n - 1:
                ax.set_xlabel(label(kj), fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(label(ki), fontsize=8)
            elif j > 0 or i == 0:
                if i != j:
                    ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    note = source + ("; red: truth" if truth is not None else "")
    fig.suptitle(note + ("; black: MAP" if map_params is not None else ""), fontsize=9)
    fig.savefig(path, dpi=110)
    return path

