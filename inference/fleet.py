"""Many contacts at once with the default posterior: the Python side of ``jaxqpc fit-batch``.

:func:`fit_fleet` computes, for every dataset, the quadrature posterior with h free
(:func:`inference.quadrature.fit_quadrature_batch`: ragged datasets, the physics vmapped over
datasets and sharded over devices) and, unless ``compare=False``, the h limits h → 0 and h → ∞
and the other heat input, whose evidences compare the models. :func:`contact_report` turns one
contact's fits into what ``jaxqpc fit`` reports (draws, predictive bands, diagnostics, evidence,
PSIS-LOO, the ArviZ InferenceData); ``jaxqpc fit`` itself is :func:`fit_fleet` of one dataset.
:func:`results_row` is one contact's row of ``results.csv``.

Docs: docs/batch-gpu.md (Fleets).
"""

import csv
from typing import NamedTuple

import jax
import numpy as np

from . import quadrature
from .dataset import HEAT_INPUTS
from .params import PARAM_NAMES
from .report import draws_and_bands
from .sample import H_MODELS

__all__ = ["ContactFit", "fit_fleet", "contact_report", "results_row", "write_results", "plot_fleet",
           "RESULT_COLUMNS"]

RESULT_QUANTILES = ("median", "q2.5", "q16", "q84", "q97.5")
"""The per-parameter statistics of ``results.csv`` (``<name>_<statistic>``), as in ``summary.json``."""
RESULT_COLUMNS = (("file",) + tuple(f"{p}_{q}" for p in PARAM_NAMES for q in RESULT_QUANTILES)
                  + ("log_evidence", "log_evidence_error", "max_quantile_shift", "outer_mass", "converged",
                     "evidence_conclusion", "heat_input_conclusion", "warnings", "error"))
"""The columns of ``results.csv``, in order."""

class ContactFit(NamedTuple):
    """The quadrature fits of one contact: ``fits`` (h model name → QuadraturePosterior; only
    ``"free"`` without comparison) and ``other_heat_input`` (h free with the other heat input, or
    None), with the name of that heat input."""

    fits: dict
    other_heat_input: object
    other_name: str


def fit_fleet(datasets, *, key, table, heat_input="drain", transmission="constant", compare=True,
              n_draws=4000, batch_size=None, devices=None, progress=False, on_model=None):
    """The default posterior of every dataset (and, with ``compare``, its model comparisons).

    Args:
        datasets: sequence of :class:`~inference.dataset.Dataset`, each with its heat input set
            (``heat_input``/``transmission`` name it, for the comparison with the other one).
        key: ``jax.random`` key; each model gets its own split, each dataset its own within it.
        table: a :class:`jaxqpc.YieldTable`.
        compare: also fit h → 0, h → ∞ and the other heat input (h free).
        n_draws, batch_size, devices, progress: as :func:`~inference.quadrature.fit_quadrature_batch`.
        on_model: optional callback ``on_model(name)`` before each model's batch (progress messages).
    Returns:
        a list of :class:`ContactFit`, in the order of ``datasets``.
    """
    if heat_input not in HEAT_INPUTS:
        raise ValueError(f"`heat_input` must be one of {HEAT_INPUTS}, got {heat_input!r}")
    datasets = list(datasets)
    names = list(H_MODELS) if compare else ["free"]
    keys = dict(zip(names + ["heat"], jax.random.split(key, len(names) + 1)))
    options = dict(table=table, n_draws=n_draws, batch_size=batch_size, devices=devices, progress=progress)
    per_model = {}
    for name in names:
        if on_model is not None:
            on_model(name)
        per_model[name] = quadrature.fit_quadrature_batch(datasets, key=keys[name], h=H_MODELS[name], **options)
    other_name = next(h for h in HEAT_INPUTS if h != heat_input)
    others = [None] * len(datasets)
    if compare:
        if on_model is not None:
            on_model(f"heat input {other_name}")
        others = quadrature.fit_quadrature_batch(
            [d.with_heat_input(other_name, transmission) for d in datasets], key=keys["heat"], evidence_only=True,
            **options)
    return [ContactFit({name: per_model[name][i] for name in names}, others[i], other_name)
            for i in range(len(datasets))]


def contact_report(dataset, contact, *, key, table, heat_input="drain"):
    """What ``jaxqpc fit`` reports for one contact, from its :class:`ContactFit`.

    Returns:
        (draws, predicted, replicated, diagnostics, comparison, evidence, idata): draws dict
        name → (n,); expected and replicated counts (n, rows); the quadrature's diagnostics; the
        PSIS-LOO comparison and the evidence table (None without comparison); the InferenceData.
    """
    from .diagnostics import compare_h_models, to_inference_data

    posteriors = {name: quadrature.as_posterior(f, dataset) for name, f in contact.fits.items()}
    diagnostics = quadrature.diagnostics(contact.fits["free"])
    comparison = evidence = None
    if len(contact.fits) == 1:
        idata = to_inference_data(posteriors["free"], dataset, table, key=jax.random.fold_in(key, 1))
    else:
        evidence = quadrature.evidence_table(contact.fits)
        evidence["heat_input"] = quadrature.evidence_table(
            {heat_input: contact.fits["free"], contact.other_name: contact.other_heat_input}, kind="heat input")
        comparison, idatas = compare_h_models(dataset, key=jax.random.fold_in(key, 2), table=table,
                                              posteriors=posteriors)
        idata = idatas["free"]  # the comparison has already converted the main fit
    return (*draws_and_bands(idata, dataset), diagnostics, comparison, evidence, idata)


def results_row(name, summary):
    """One contact's row of ``results.csv`` (:data:`RESULT_COLUMNS`) from its ``summary.json`` dict:
    ``file``, then ``<parameter>_<statistic>``, then the diagnostics, the evidence's conclusions
    (empty without comparison), warnings and ``error`` (empty: fitted)."""
    row = {"file": name}
    for p in PARAM_NAMES:
        for q in RESULT_QUANTILES:
            row[f"{p}_{q}"] = summary["parameters"][p][q]
    d = summary["diagnostics"]
    row["log_evidence"] = d["log_evidence"]
    row["log_evidence_error"] = d["log_evidence_error"]
    row["max_quantile_shift"] = max(d["quantile_shift"].values())
    row["outer_mass"] = d["outer_mass"]
    row["converged"] = d["converged"]
    row["evidence_conclusion"] = summary.get("evidence", {}).get("conclusion", "")
    row["heat_input_conclusion"] = summary.get("evidence", {}).get("heat_input", {}).get("conclusion", "")
    row["warnings"] = "; ".join(d["warnings"])
    row["error"] = ""
    return row


def write_results(rows, path):
    """``results.csv``: one row per contact (:func:`results_row`; a skipped file has only ``file``
    and ``error``), the columns :data:`RESULT_COLUMNS`."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return path


def plot_fleet(rows, path, eta=None):
    """``fleet.png``: each parameter across the contacts (rows of :func:`results_row`), the median
    with its 68 % (thick) and 95 % (thin) intervals; skipped contacts are left out. ``eta``: optional
    (grid, density) of a shared η's posterior, drawn in an extra panel."""
    from matplotlib.ticker import FuncFormatter

    from .report import LABELS, LOG_AXES, _figure

    rows = [r for r in rows if not r.get("error")]
    n_panels = len(PARAM_NAMES) + (eta is not None)
    fig = _figure((8.0, 2.0 + 1.2 * n_panels))
    axes = fig.subplots(n_panels, 1)
    x = np.arange(len(rows))
    for ax, name in zip(axes, PARAM_NAMES):
        q = {k: np.array([r[f"{name}_{k}"] for r in rows], dtype=float) for k in RESULT_QUANTILES}
        ax.vlines(x, q["q2.5"], q["q97.5"], color="tab:blue", lw=1)
        ax.vlines(x, q["q16"], q["q84"], color="tab:blue", lw=4)
        ax.plot(x, q["median"], "o", color="white", mec="tab:blue", ms=4)
        ax.set_ylabel(LABELS[name])
        if LOG_AXES[name]:
            ax.set_yscale("log")
            if name != "h":  # plain numbers for the lengths (nm) on their narrow log ranges
                for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
                    axis(FuncFormatter(lambda v, _: f"{v:g}"))
    for ax in axes[:len(PARAM_NAMES)]:
        ax.set_xticks(x)
        ax.set_xticklabels([r["file"] for r in rows] if ax is axes[len(PARAM_NAMES) - 1] else [],
                           rotation=90 if len(rows) > 8 else 0, fontsize=7)
    axes[0].set_title(f"{len(rows)} contacts: median, 68 % and 95 % intervals")
    if eta is not None:
        grid, density = eta
        ax = axes[-1]
        ax.plot(grid, density, color="tab:blue")
        ax.fill_between(grid, density, alpha=0.3)
        cdf = np.cumsum(density) / np.sum(density)
        lo, hi = np.interp([0.0005, 0.9995], cdf, grid)
        ax.set_xlim(max(0.0, lo - 0.05), min(1.0, hi + 0.05))
        ax.set_xlabel("η shared by the fleet")
        ax.set_ylabel("posterior density")
    fig.savefig(path, dpi=110)
    return path
