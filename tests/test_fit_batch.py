"""``jaxqpc fit-batch``: a directory of CSV files, one malformed, metadata from files and flags.

Two short simulated contacts of one shape (one with its own metadata file, one taking it from the
flags) and a file with a bad cell; ``--no-compare`` keeps it short (the model comparison is the
same code as ``jaxqpc fit``'s, tests/test_fit_cli.py; ragged batches: tests/test_quadrature_fleet.py).
"""

import csv
import json
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from inference.cli import main
from inference.data import save_csv
from inference.fleet import RESULT_COLUMNS
from inference.simulate import simulate_experiment

FILES = ("summary.json", "predictions.csv", "fit.png", "corner.png", "posterior.nc")
FLAGS = ["--source-voltage", "0.7", "--series-resistance", "470"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    data = root / "data"
    data.mkdir()
    for i, dark in enumerate([(200.0, 200.0), (300.0, 300.0)]):  # one shape: one compilation
        _, ds = simulate_experiment(jax.random.PRNGKey(i), n_steps=300, n_groups=14, dark_rate=dark)
        save_csv(ds, data / f"c{i}.csv")
    (data / "c1.json").unlink()  # c1 takes its metadata from the flags
    (data / "bad.csv").write_text("power,counts,bin_time\n1e-4,5,0.01\n2e-4,x,0.01\n", encoding="utf-8")
    out = root / "out"
    assert main(["fit-batch", str(data), *FLAGS, "--dark-rate", "250", "--no-compare", "--out", str(out)]) == 0
    return data, out


def _results(out):
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_results_and_files(fleet):
    _, out = fleet
    rows = _results(out)
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert [r["file"] for r in rows] == ["bad", "c0", "c1"]
    assert "bad.csv, line 3, column 'counts'" in rows[0]["error"] and rows[0]["eta_median"] == ""
    assert (out / "fleet.png").stat().st_size > 0 and not (out / "bad").exists()
    for row in rows[1:]:
        name = row["file"]
        for f in FILES:
            assert (out / name / f).is_file(), (name, f)
        summary = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert row["error"] == "" and row["converged"] == "True"
        for p, entry in summary["parameters"].items():
            got = [float(row[f"{p}_{q}"]) for q in ("q2.5", "q16", "median", "q84", "q97.5")]
            np.testing.assert_array_equal(got, [entry[q] for q in ("q2.5", "q16", "median", "q84", "q97.5")])
            assert np.all(np.diff(got) >= 0)
        assert summary["method"] == "quadrature" and summary["diagnostics"]["converged"]


def test_metadata_from_files_then_flags(fleet):
    _, out = fleet
    meta = {n: json.loads((out / n / "summary.json").read_text(encoding="utf-8"))["metadata"] for n in ("c0", "c1")}
    assert meta["c0"]["dark_rate"] == [200.0, 200.0]  # its own file; --dark-rate only fills in gaps
    assert meta["c1"]["dark_rate"] == [250.0, 250.0] and meta["c1"]["source_voltage"] == 0.7


def test_refuses_to_overwrite_and_resumes(fleet):
    data, out = fleet
    kept = (out / "c0" / "summary.json").stat().st_mtime_ns
    assert main(["fit-batch", str(data), *FLAGS, "--no-compare", "--out", str(out)]) == 2
    assert (out / "c0" / "summary.json").stat().st_mtime_ns == kept
    for f in (out / "c1").iterdir():  # c1 unfinished: no summary.json
        f.unlink()
    assert main(["fit-batch", str(data), *FLAGS, "--dark-rate", "250", "--no-compare", "--resume",
                 "--out", str(out)]) == 0
    assert (out / "c0" / "summary.json").stat().st_mtime_ns == kept  # skipped: already done
    assert (out / "c1" / "summary.json").is_file()
    assert [r["file"] for r in _results(out) if r["error"] == ""] == ["c0", "c1"]


def test_no_files(tmp_path, capsys):
    assert main(["fit-batch", str(tmp_path / "*.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "no CSV files match" in capsys.readouterr().err


def test_hierarchical(fleet, tmp_path):
    """--hierarchical: one η for the fleet (shared_eta.json; every contact's eta columns equal), the
    contacts' own directories, η's panel in fleet.png; --resume refused with it."""
    data, _ = fleet
    out = tmp_path / "h"
    files = str(data / "c[01].csv")
    assert main(["fit-batch", files, *FLAGS, "--hierarchical", "--out", str(out)]) == 0
    shared = json.loads((out / "shared_eta.json").read_text(encoding="utf-8"))
    assert shared["contacts"] == ["c0", "c1"]
    q = shared["eta_quantiles"]
    assert 0 < q["q2.5"] < q["q50"] < q["q97.5"] <= 1
    # the η grid's own check is reported, and warned about above 0.01 (it does warn here: the cells'
    # η conditionals are narrower than their spread across a cell, docs/batch-gpu.md)
    warned = any(w.startswith("shared eta") for w in shared["warnings"])
    assert warned == (shared["eta_quantile_shift"] > 0.01)
    rows = _results(out)
    assert [r["file"] for r in rows] == ["c0", "c1"] and rows[0]["eta_median"] == rows[1]["eta_median"]
    summary = json.loads((out / "c1" / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "quadrature (shared eta)"
    assert summary["parameters"]["eta"]["median"] == pytest.approx(q["q50"], abs=0.02)
    assert main(["fit-batch", files, *FLAGS, "--hierarchical", "--resume", "--out", str(out)]) == 2


def test_distributed_processes_share_the_work(fleet, tmp_path):
    """--distributed: two processes (jax.distributed on this host, Gloo for the final barrier) fit one
    contact each into one DIR; process 0 writes results.csv with both, and the skipped file's error.
    The evidence is deterministic (a grid, no draws): equal to the one-process run's to 1e-10. The
    processes reuse the programs the fixture compiled (the suite's compilation cache). With
    --no-plots: each contact's files except fit.png and corner.png."""
    data, out1 = fleet
    out2 = tmp_path / "two"
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "inference.cli", "fit-batch", str(data), *FLAGS, "--dark-rate", "250",
               "--no-compare", "--no-plots", "--out", str(out2), "--coordinator", f"localhost:{port}",
               "--num-processes", "2"]
    procs = [subprocess.Popen(command + ["--process-id", str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    logs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in logs]
    assert "results.csv" in logs[0][0] and "results.csv" not in logs[1][0]
    one, two = _results(out1), _results(out2)
    assert [r["file"] for r in two] == ["bad", "c0", "c1"] and two[0]["error"] == one[0]["error"]
    for name in ("c0", "c1"):
        z = [json.loads((o / name / "summary.json").read_text(encoding="utf-8"))["diagnostics"]["log_evidence"]
             for o in (out1, out2)]
        assert z[1] == pytest.approx(z[0], rel=1e-10)
        assert sorted(f.name for f in (out2 / name).iterdir()) == sorted(set(FILES) - {"fit.png", "corner.png"})
