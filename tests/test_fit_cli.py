"""``jaxqpc fit``: MAP and Bayesian fits of the bundled example, their report files, the errors.

The default fit (the quadrature posterior with the evidence and PSIS-LOO of the h models) runs as
the README's main command does; the AIES path runs with short chains (``--samples 600 --warmup 300``,
no comparison) to keep CI fast; its defaults are longer (see inference.sample).
"""

import csv
import json

import numpy as np
import pytest

from inference.cli import main

FILES = ("summary.json", "predictions.csv", "fit.png", "corner.png")
PARAMS = ("eta", "Lc", "R0", "h")
STATS = {"median", "mean", "sd", "q2.5", "q16", "q84", "q97.5", "map"}


@pytest.fixture(scope="module")
def example_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "out"
    # 16 starts, as the example's MAP in tests/test_inference_fit.py and test_inference_bayes.py: one
    # compiled MAP for all three (the suite's disk cache)
    assert main(["fit", "--example", "--method", "map", "--starts", "16", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def bayes_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("bayes") / "out"
    assert main(["fit", "--example", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def aies_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("aies") / "out"
    assert main(["fit", "--example", "--method", "aies", "--samples", "600", "--warmup", "300",
                 "--starts", "16", "--no-compare", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def summary(example_fit):
    return json.loads((example_fit / "summary.json").read_text(encoding="utf-8"))


def test_writes_all_files(example_fit):
    for name in FILES:
        assert (example_fit / name).is_file(), name
    for name in ("fit.png", "corner.png"):
        data = (example_fit / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name


def test_summary_keys(summary):
    assert list(summary) == ["method", "data", "n_rows", "metadata", "heat_input", "parameters",
                             "correlation", "diagnostics", "identifiability", "truth"]
    assert summary["heat_input"] == "drain"
    assert summary["method"] == "map"
    assert summary["n_rows"] == 120
    assert summary["data"].endswith("example.csv")
    assert summary["metadata"] == {"source_voltage": 0.7, "series_resistance": 470.0,
                                   "dark_rate": [300.0, 300.0], "lattice_temperature": 300.0}
    assert list(summary["parameters"]) == list(PARAMS)
    for name, entry in summary["parameters"].items():
        assert set(entry) == STATS, name
        assert entry["q2.5"] <= entry["q16"] <= entry["median"] <= entry["q84"] <= entry["q97.5"]
        assert entry["sd"] > 0
    assert summary["correlation"]["names"] == list(PARAMS)
    corr = np.array(summary["correlation"]["matrix"])
    assert corr.shape == (4, 4)
    np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-9)
    np.testing.assert_allclose(corr, corr.T, atol=1e-9)
    assert summary["correlation"]["scales"] == ["linear", "ln", "ln", "log10"]
    assert set(summary["diagnostics"]) == {"fraction_of_starts_near_best", "log_likelihood",
                                           "n_starts", "wall_s"}
    assert summary["diagnostics"]["n_starts"] == 16
    assert 0 < summary["diagnostics"]["fraction_of_starts_near_best"] <= 1
    assert list(summary["identifiability"]) == list(PARAMS)
    for entry in summary["identifiability"].values():
        assert entry["posterior_to_prior_width"] > 0
    assert summary["truth"] == {"eta": 0.43, "Lc": 0.13, "R0": 1.04, "h": 1.0}


def test_h_reported_unconstrained(summary):
    h = summary["identifiability"]["h"]
    assert h["posterior_to_prior_width"] > 0.5
    assert "h is not constrained by these data" in h["note"]


# Lc is marginal: with --seed 0 the Laplace q2.5 of Lc is 0.12974 nm against the truth 0.13 nm
# (other seeds give 0.1290-0.1308); the draws are deterministic for a given seed.
@pytest.mark.parametrize("name", ["eta", "Lc"])
def test_truth_inside_95_percent_interval(summary, name):
    entry, truth = summary["parameters"][name], summary["truth"][name]
    assert entry["q2.5"] <= truth <= entry["q97.5"], (name, truth, entry)


# Not tested for MAP: R0's truth (1.04 nm) falls just below the Laplace q2.5 (≈ 1.08 nm) on the
# example: along the Lc–R0 ridge the MAP sits ~1σ high (see inference.optimize). This is a known
# limit of MAP + Laplace; the Bayesian fit covers all four (test_bayes_truth_inside_95_percent).


def test_bayes_summary(bayes_fit):
    s = json.loads((bayes_fit / "summary.json").read_text(encoding="utf-8"))
    assert list(s) == ["method", "data", "n_rows", "metadata", "heat_input", "parameters", "correlation",
                       "diagnostics", "identifiability", "evidence", "model_comparison", "truth"]
    assert s["method"] == "quadrature"
    for name in PARAMS:
        entry = s["parameters"][name]
        assert set(entry) == STATS - {"map"}  # the quadrature needs no MAP
        assert entry["q2.5"] <= s["truth"][name] <= entry["q97.5"], name
    d = s["diagnostics"]
    assert d["converged"] and d["warnings"] == [] and d["draws"] == 4000
    assert max(d["quantile_shift"].values()) <= d["quantile_tolerance"]
    assert set(d["edge_mass"]) == {"R0 = R0_min", "Lc = 1.5 R0", "h = 1e-3", "h = 1e3"}
    evidence = s["evidence"]["models"]
    assert {m["model"] for m in evidence} == {"free", "zero", "infinite"}
    # at Lc/R0 ≈ 1/8 the h limits give the same counts (docs/errata-buret2020.md): not distinguishable
    assert max(m["ln_bayes_factor_best_vs_this"] for m in evidence) < 1.0
    assert "h is not measurable" in s["evidence"]["conclusion"]
    # the example was simulated with all of the power heating the drain: the evidence must say so
    heat = s["evidence"]["heat_input"]
    assert [m["model"] for m in heat["models"]] == ["drain", "landauer"]
    assert heat["models"][1]["ln_bayes_factor_best_vs_this"] > 3.0 + heat["models"][1]["error_of_ln_bayes_factor"]
    assert heat["conclusion"] == "the evidence prefers heat input 'drain' over 'landauer'"
    rows = s["model_comparison"]["models"]
    assert {m["model"] for m in rows} == {"free", "zero", "infinite"}
    assert [r["rank"] for r in rows] == [0, 1, 2]
    assert all(np.isfinite(r["elpd_loo"]) and r["se"] > 0 for r in rows)
    assert max(r["elpd_diff"] for r in rows) < 1.0
    assert "h is not measurable" in s["model_comparison"]["conclusion"]
    assert "h is not constrained by these data" in s["identifiability"]["h"]["note"]


def test_bayes_files(bayes_fit):
    for name in FILES:
        assert (bayes_fit / name).is_file(), name
    import arviz as az

    idata = az.from_netcdf(bayes_fit / "posterior.nc")  # the ArviZ InferenceData of the fit
    assert idata.posterior["Lc"].sizes["chain"] == 1  # independent draws
    assert idata.log_likelihood["counts"].sizes["row"] == 120
    with open(bayes_fit / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    counts = np.array([float(r["counts"]) for r in rows])
    lo, hi = (np.array([float(r[k]) for r in rows]) for k in ("replicated_q2.5", "replicated_q97.5"))
    inside = np.mean((counts >= lo) & (counts <= hi))
    assert 0.85 < inside <= 1.0  # ~95 % of the data inside the posterior predictive band


def test_aies_summary(aies_fit):
    s = json.loads((aies_fit / "summary.json").read_text(encoding="utf-8"))
    assert list(s) == ["method", "data", "n_rows", "metadata", "heat_input", "parameters", "correlation",
                       "diagnostics", "identifiability", "truth"]
    assert s["method"] == "aies"
    for name in PARAMS:
        assert set(s["parameters"][name]) == STATS
    d = s["diagnostics"]
    for key in ("r_hat", "ess_bulk", "ess_tail"):
        assert set(d[key]) == set(PARAMS), key
    assert d["divergences"] == 0 and d["chains"] == 32 and d["draws_per_chain"] == 600
    assert isinstance(d["warnings"], list) and d["map"]["n_starts"] == 16
    import arviz as az

    assert az.from_netcdf(aies_fit / "posterior.nc").posterior["Lc"].sizes["chain"] == 32


@pytest.mark.parametrize("method", ["quadrature", "map"])
def test_no_chain_options_without_chains(method, tmp_path, capsys):
    assert main(["fit", "--example", "--method", method, "--walkers", "8", "--out", str(tmp_path / "o")]) == 2
    assert "--walkers" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_predictions_csv(example_fit):
    with open(example_fit / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120
    assert list(rows[0]) == ["power", "counts", "bin_time", "detector", "expected_median",
                             "expected_q2.5", "expected_q97.5", "replicated_q2.5", "replicated_q97.5"]
    lo, med, hi = (np.array([float(r[k]) for r in rows])
                   for k in ("expected_q2.5", "expected_median", "expected_q97.5"))
    assert np.all(lo <= med) and np.all(med <= hi) and np.all(lo > 0)
    counts = np.array([float(r["counts"]) for r in rows])
    # the predicted mean follows the data: mean residual small against the Poisson scatter
    assert abs(np.mean((counts - med) / np.sqrt(med))) < 0.5


def test_default_starts():
    from inference.cli import build_parser

    assert build_parser().parse_args(["fit", "--example", "--out", "x"]).starts == 32


def test_refuses_non_empty_out_without_force(example_fit, capsys):
    before = (example_fit / "summary.json").stat().st_mtime_ns
    assert main(["fit", "--example", "--out", str(example_fit), "--starts", "8"]) == 2
    err = capsys.readouterr().err
    assert "refusing" in err and "--force" in err
    assert (example_fit / "summary.json").stat().st_mtime_ns == before


def test_bad_sampler_lengths(tmp_path, capsys):
    assert main(["fit", "--example", "--samples", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--samples must be positive" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_transmission_needs_the_landauer_heat_input(tmp_path, capsys):
    assert main(["fit", "--example", "--transmission", "saddle", "--out", str(tmp_path / "o")]) == 2
    assert "--transmission only applies with --heat-input landauer" in capsys.readouterr().err


def test_malformed_csv(tmp_path, capsys):
    data = tmp_path / "bad.csv"
    data.write_text("power,counts,bin_time\n1e-4,12,0.5\n1e-4,twelve,0.5\n", encoding="utf-8")
    code = main(["fit", str(data), "--source-voltage", "0.7", "--series-resistance", "470", "--dark-rate", "300",
                 "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "line 3" in err and "not a number" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [["fit", "--out", "x"], ["fit", "a.csv", "--example", "--out", "x"]])
def test_data_or_example_required(argv, capsys):
    assert main(argv) == 2
    assert "--example" in capsys.readouterr().err


def test_missing_data_file(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope.csv"), "--source-voltage", "0.7", "--series-resistance", "470",
                 "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err


def test_missing_source_voltage_names_the_flag(tmp_path, capsys):
    data = tmp_path / "counts.csv"
    data.write_text("power,counts,bin_time\n1e-4,12,0.5\n", encoding="utf-8")
    assert main(["fit", str(data), "--series-resistance", "470", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--source-voltage" in err and "source_voltage=" not in err
    assert not (tmp_path / "o").exists()


def test_bias_is_a_deprecated_alias(tmp_path, capsys):
    data = tmp_path / "counts.csv"
    data.write_text("power,counts,bin_time\n1e-4,12,0.5\n", encoding="utf-8")
    with pytest.warns(FutureWarning, match="--source-voltage"):
        code = main(["fit", str(data), "--bias", "0.7", "--out", str(tmp_path / "o")])
    assert code == 2  # the series resistance is still missing: the alias was taken as V_s
    err = capsys.readouterr().err
    assert "deprecated" in err and "series_resistance is required" in err
