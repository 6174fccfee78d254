"""inference.data: CSV + metadata loading, validation, saving and the bundled example.

1. round trip save_csv -> load_csv (bit-identical arrays and metadata), refusal
   to overwrite, the metadata JSON written beside;
2. every validation error is a DataError (a ValueError) naming the file, the
   1-based line (header = line 1) and the column;
3. metadata: keyword arguments override the file; <stem>.json / <stem>.toml /
   explicit metadata=; required source_voltage and series_resistance; defaults;
4. a conductance column is converted with the circuit, the exact inverse of
   jaxqpc.conductance_from_power;
5. the input file is never modified;
6. the bundled example loads (120 rows, two detectors, truth in its JSON).
"""

import hashlib
import json
import math
import os


import numpy as np
import pytest

import jaxqpc
from inference.data import (DataError, example_metadata, example_path, load_csv,
                            load_example, power_from_conductance, read_metadata, save_csv)
from inference.dataset import Dataset

G0_S = 2.0 * 1.602176634e-19**2 / 6.62607015e-34
META = {"source_voltage": 0.7, "series_resistance": 470.0, "dark_rate": [300.0, 300.0]}
GOOD = ("power,counts,bin_time,detector\n"
        "1.2e-4,12,0.01,0\n"
        "1.3e-4,3,0.01,1\n"
        "1.5e-4,0,0.02,0\n")


def _write(tmp_path, text, meta=META, name="data.csv", suffix=".json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    if meta is not None:
        meta_path = path.with_suffix(suffix)
        if suffix == ".json":
            meta_path.write_text(json.dumps(meta))
        else:
            meta_path.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in meta.items()) + "\n")
    return path


def _assert_same(a, b):
    for name in ("power", "counts", "bin_time", "detector"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
    for name in ("source_voltage", "series_resistance", "dark_rate", "lattice_temperature"):
        assert getattr(a, name) == getattr(b, name)


# ---------------------------------------------------------------------------
# 1. loading and round trip
# ---------------------------------------------------------------------------
def test_load_basic(tmp_path):
    ds = load_csv(_write(tmp_path, GOOD))
    assert isinstance(ds, Dataset)
    np.testing.assert_array_equal(ds.power, [1.2e-4, 1.3e-4, 1.5e-4])
    np.testing.assert_array_equal(ds.counts, [12, 3, 0])
    np.testing.assert_array_equal(ds.bin_time, [0.01, 0.01, 0.02])
    np.testing.assert_array_equal(ds.detector, [0, 1, 0])
    assert ds.power.dtype == np.float64 and ds.counts.dtype == np.float64
    assert ds.source_voltage == 0.7 and ds.series_resistance == 470.0
    assert ds.dark_rate == (300.0, 300.0) and ds.lattice_temperature == 300.0
    np.testing.assert_array_equal(ds.dark_rate_per_row, [300.0, 300.0, 300.0])


def test_column_order_comments_blank_lines_bom_crlf(tmp_path):
    text = ("\ufeff# measured 2019\r\n\r\nbin_time, counts ,power\r\n0.01,5,1e-4\r\n\r\n"
            "# a comment between rows\r\n0.02,7,2e-4\r\n")
    ds = load_csv(_write(tmp_path, text, meta={"source_voltage": 0.7, "series_resistance": 0}))
    np.testing.assert_array_equal(ds.power, [1e-4, 2e-4])
    np.testing.assert_array_equal(ds.counts, [5, 7])
    np.testing.assert_array_equal(ds.detector, [0, 0])
    assert ds.dark_rate == (0.0,)  # default, one detector


def test_round_trip(tmp_path):
    ds = Dataset(power=np.array([1.0e-4, 1.234567890123e-4, 2.5e-4]), counts=np.array([0.0, 17.0, 1e6]),
                 bin_time=np.array([0.01, 0.51, 3.0]), detector=np.array([2, 0, 1]), source_voltage=0.8,
                 series_resistance=470.0, dark_rate=(300.0, 250.5, 0.0), lattice_temperature=295.0)
    csv_path, json_path = save_csv(ds, tmp_path / "run.csv", extra_metadata={"note": "hand-made"})
    assert json_path == tmp_path / "run.json"
    meta = json.loads(json_path.read_text())
    assert meta["note"] == "hand-made" and meta["dark_rate"] == [300.0, 250.5, 0.0]
    assert csv_path.read_text().splitlines()[0] == "power,counts,bin_time,detector"
    back = load_csv(csv_path)
    for name in ("power", "counts", "bin_time", "detector"):
        np.testing.assert_array_equal(np.asarray(getattr(back, name)), np.asarray(getattr(ds, name)))
    assert back.dark_rate == ds.dark_rate and back.source_voltage == 0.8
    assert back.series_resistance == 470.0 and back.lattice_temperature == 295.0


def test_round_trip_example(tmp_path):
    ds = load_example()
    save_csv(ds, tmp_path / "copy.csv")
    _assert_same(load_csv(tmp_path / "copy.csv"), ds)


def test_save_refuses_to_overwrite(tmp_path):
    ds = load_example()
    save_csv(ds, tmp_path / "a.csv")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_csv(ds, tmp_path / "a.csv")
    (tmp_path / "a.csv").unlink()  # the JSON alone also blocks
    with pytest.raises(FileExistsError, match="a.json"):
        save_csv(ds, tmp_path / "a.csv")
    save_csv(ds, tmp_path / "a.csv", overwrite=True)
    _assert_same(load_csv(tmp_path / "a.csv"), ds)
    (tmp_path / "b.toml").write_text("source_voltage = 1.0\n")
    with pytest.raises(FileExistsError, match="two metadata files"):
        save_csv(ds, tmp_path / "b.csv", overwrite=True)
    with pytest.raises(ValueError, match="redefine"):
        save_csv(ds, tmp_path / "c.csv", extra_metadata={"dark_rate": 1.0})
    with pytest.raises(ValueError, match="must not end in .json"):
        save_csv(ds, tmp_path / "c.json")
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_save_refuses_unloadable_data(tmp_path):
    ds = load_example()
    bad = Dataset(power=ds.power, counts=ds.counts + 0.5, bin_time=ds.bin_time, detector=ds.detector,
                  source_voltage=0.7, series_resistance=470.0, dark_rate=ds.dark_rate)
    with pytest.raises(ValueError, match="integers"):
        save_csv(bad, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


# ---------------------------------------------------------------------------
# 2. validation errors name file, line and column
# ---------------------------------------------------------------------------
H = "power,counts,bin_time,detector\n"
OK = "1.2e-4,12,0.01,0\n"
CASES = {
    # id: (text, line, column, message fragment)
    "missing counts": ("power,bin_time\n1e-4,0.01\n", 1, "counts", "missing column"),
    "missing bin_time": ("power,counts\n1e-4,3\n", 1, "bin_time", "missing column"),
    "missing power": ("counts,bin_time\n3,0.01\n", 1, "power", "missing column"),
    "unknown column": ("power,count,bin_time\n1e-4,3,0.01\n", 1, "count", "did you mean 'counts'"),
    "duplicate column": ("power,counts,counts,bin_time\n1e-4,3,3,0.01\n", 1, "counts", "twice"),
    "power and conductance": ("power,conductance,counts,bin_time\n1e-4,4,3,0.01\n", 1,
                              "conductance", "not both"),
    "semicolons": ("power;counts;bin_time\n1e-4;3;0.01\n", 1, None, "comma"),
    "non-numeric": (H + OK + "1.2e-4,abc,0.01,0\n", 3, "counts", "not a number"),
    "empty cell": (H + OK + OK + "1.2e-4,,0.01,0\n", 4, "counts", "missing value"),
    "nan power": (H + "nan,3,0.01,0\n", 2, "power", "finite"),
    "inf bin": (H + OK + "1.2e-4,3,inf,0\n", 3, "bin_time", "finite"),
    "-inf counts": (H + "1.2e-4,-inf,0.01,0\n", 2, "counts", "finite"),
    "negative counts": (H + OK + "1.2e-4,-1,0.01,0\n", 3, "counts", "non-negative integer"),
    "fractional counts": (H + OK + "1.2e-4,2.5,0.01,0\n", 3, "counts", "non-negative integer"),
    "zero bin": (H + OK + OK + "1.2e-4,3,0,0\n", 4, "bin_time", "> 0"),
    "negative bin": (H + "1.2e-4,3,-0.01,0\n", 2, "bin_time", "> 0"),
    "zero power": (H + OK + "0,3,0.01,0\n", 3, "power", "> 0"),
    "negative power": (H + "-1e-4,3,0.01,0\n", 2, "power", "> 0"),
    "impossible power": (H + OK + "3e-4,3,0.01,0\n", 3, "power", "V_s²/(4R_s)"),
    "zero conductance": ("conductance,counts,bin_time\n4,3,0.01\n0,3,0.01\n", 3, "conductance", "> 0"),
    "negative conductance": ("conductance,counts,bin_time\n-4,3,0.01\n", 2, "conductance", "> 0"),
    "conductance above 1/Rs": ("conductance,counts,bin_time\n4,3,0.01\n30,3,0.01\n", 3,
                               "conductance", "1/R_s"),
    "negative detector": (H + OK + "1.2e-4,3,0.01,-1\n", 3, "detector", "non-negative integer"),
    "fractional detector": (H + "1.2e-4,3,0.01,0.5\n", 2, "detector", "non-negative integer"),
    "text detector": (H + "1.2e-4,3,0.01,APD1\n", 2, "detector", "not a number"),
    "more detectors than dark rates": (H + OK + OK + "1.2e-4,3,0.01,2\n", 4, "detector",
                                       "only 2 dark rate"),
    "too many fields": (H + OK + "1.2e-4,3,0.01,0,7\n", 3, None, "5 fields"),
    "too few fields": (H + "1.2e-4,3\n", 2, None, "2 fields"),
    "empty file": ("", 1, None, "empty"),
    "blank file": ("\n  \n\n", 1, None, "empty"),
    "comments only": ("# nothing here\n", 1, None, "empty"),
    "header only": (H, 2, None, "no data rows"),
    "header only + blank lines": (H + "\n\n", 2, None, "no data rows"),
    "comment shifts the line": ("# note\n" + H + OK + "1.2e-4,x,0.01,0\n", 4, "counts", "not a number"),
}


@pytest.mark.parametrize("text,line,column,fragment", CASES.values(), ids=list(CASES))
def test_validation_errors(tmp_path, text, line, column, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_csv(path)
    err = info.value
    assert isinstance(err, ValueError)
    msg = str(err)
    assert str(path) in msg and f"line {line}" in msg and fragment in msg
    assert err.path == path and err.line == line and err.column == column
    if column is not None:
        assert f"column '{column}'" in msg


def test_power_at_the_circuit_limit_is_accepted(tmp_path):
    p_max = 0.7**2 / (4 * 470.0)
    ds = load_csv(_write(tmp_path, f"power,counts,bin_time\n{p_max!r},3,0.01\n"))
    assert float(ds.power[0]) == p_max
    # with no series resistance any positive power is possible
    ds = load_csv(_write(tmp_path, "power,counts,bin_time\n1.0,3,0.01\n"), series_resistance=0.0)
    assert float(ds.power[0]) == 1.0


def test_integer_valued_floats_accepted(tmp_path):
    ds = load_csv(_write(tmp_path, H + "1.2e-4,12.0,0.01,1.0\n1.2e-4,1e3,0.01,0\n"))
    np.testing.assert_array_equal(ds.counts, [12, 1000])
    np.testing.assert_array_equal(ds.detector, [1, 0])


def test_missing_data_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------
# 3. metadata
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["source_voltage", "series_resistance"])
def test_required_metadata(tmp_path, missing):
    meta = {k: v for k, v in META.items() if k != missing}
    path = _write(tmp_path, GOOD, meta=meta)
    with pytest.raises(DataError, match=f"{missing} is required") as info:
        load_csv(path)
    assert info.value.column == missing and str(path) in str(info.value)
    # ... and a keyword argument supplies it
    ds = load_csv(path, **{missing: 0.8})
    assert getattr(ds, missing) == 0.8


def test_no_metadata_file_keywords_only(tmp_path):
    path = _write(tmp_path, GOOD, meta=None)
    with pytest.raises(DataError, match="no metadata file found"):
        load_csv(path)
    ds = load_csv(path, source_voltage=0.7, series_resistance=470.0, dark_rate=[300, 250])
    assert ds.dark_rate == (300.0, 250.0) and ds.lattice_temperature == 300.0
    ds = load_csv(path, source_voltage=0.7, series_resistance=0.0)  # dark rate defaults to 0
    assert ds.dark_rate == (0.0, 0.0)


def test_keywords_override_file(tmp_path):
    path = _write(tmp_path, GOOD, meta={**META, "lattice_temperature": 290.0})
    ds = load_csv(path)
    assert (ds.source_voltage, ds.lattice_temperature, ds.dark_rate) == (0.7, 290.0, (300.0, 300.0))
    ds = load_csv(path, source_voltage=0.8, dark_rate=100.0, lattice_temperature=4.2)
    assert (ds.source_voltage, ds.lattice_temperature, ds.dark_rate) == (0.8, 4.2, (100.0, 100.0))
    assert ds.series_resistance == 470.0  # not overridden: from the file


def test_toml_beside(tmp_path):
    path = _write(tmp_path, GOOD, meta={**META, "lattice_temperature": 280.0}, suffix=".toml")
    ds = load_csv(path)
    assert ds.lattice_temperature == 280.0 and ds.dark_rate == (300.0, 300.0)


def test_explicit_metadata_wins_over_beside(tmp_path):
    path = _write(tmp_path, GOOD)  # data.json beside: 0.7 V
    other = tmp_path / "elsewhere.toml"
    other.write_text('source_voltage = 0.9\nseries_resistance = 100\ndark_rate = [1, 2]\nnote = "x"\n')
    ds = load_csv(path, metadata=other)
    assert (ds.source_voltage, ds.series_resistance, ds.dark_rate) == (0.9, 100.0, (1.0, 2.0))
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_csv(path, metadata=tmp_path / "missing.json")


def test_json_and_toml_beside_is_ambiguous(tmp_path):
    path = _write(tmp_path, GOOD)
    path.with_suffix(".toml").write_text("source_voltage = 0.7\n")
    with pytest.raises(DataError, match="both data.json and data.toml"):
        load_csv(path)
    assert load_csv(path, metadata=path.with_suffix(".toml"), series_resistance=0).source_voltage == 0.7


@pytest.mark.parametrize("meta,column,fragment", [
    ({**META, "source_voltage": "0.7"}, "source_voltage", "must be a number"),
    ({**META, "source_voltage": True}, "source_voltage", "must be a number"),
    ({**META, "source_voltage": -0.7}, "source_voltage", "> 0"),
    ({**META, "series_resistance": -1}, "series_resistance", ">= 0"),
    ({**META, "dark_rate": [300, -1]}, "dark_rate", ">= 0"),
    ({**META, "dark_rate": []}, "dark_rate", "empty"),
    ({**META, "lattice_temperature": 0}, "lattice_temperature", "> 0"),
    ({**META, "dark_rates": [1, 2]}, "dark_rates", "did you mean 'dark_rate'"),
])
def test_bad_metadata(tmp_path, meta, column, fragment):
    path = _write(tmp_path, GOOD, meta=meta)
    with pytest.raises(DataError, match=fragment) as info:
        load_csv(path)
    assert info.value.column == column and info.value.path == path.with_suffix(".json")
    assert "data.json" in str(info.value)


def test_bad_keyword_metadata(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(DataError, match="keyword argument source_voltage=.*> 0"):
        load_csv(path, source_voltage=0.0)
    with pytest.raises(DataError, match="dark_rate"):
        load_csv(path, dark_rate=[1.0, float("nan")])


def test_more_detectors_than_dark_rates_from_keywords(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(DataError, match=r"only 1 dark rate\(s\) given \(the keyword argument") as info:
        load_csv(path, dark_rate=[300.0])
    assert info.value.line == 3 and info.value.column == "detector"


def test_invalid_json_names_line(tmp_path):
    path = _write(tmp_path, GOOD, meta=None)
    path.with_suffix(".json").write_text('{\n "source_voltage": 0.7,\n oops\n}\n')
    with pytest.raises(DataError, match="not valid JSON") as info:
        load_csv(path)
    assert info.value.line == 3
    path.with_suffix(".json").write_text("[0.7, 470]")
    with pytest.raises(DataError, match="key: value"):
        load_csv(path)


def test_extra_keys_ignored_and_readable(tmp_path):
    path = _write(tmp_path, GOOD, meta={**META, "truth": {"eta": 0.4}, "seed": 3, "units": {"a": "b"}})
    load_csv(path)
    assert read_metadata(path.with_suffix(".json"))["truth"] == {"eta": 0.4}


# ---------------------------------------------------------------------------
# 4. conductance column
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("vs,rs", [(0.7, 470.0), (0.8, 0.0), (0.3, 1000.0)])
def test_conductance_column(tmp_path, vs, rs):
    n = np.array([0.5, 1.0, 3.2, 4.0, 6.9, 8.0])
    text = "conductance,counts,bin_time\n" + "".join(f"{float(x)!r},1,0.01\n" for x in n)
    ds = load_csv(_write(tmp_path, text, meta=None), source_voltage=vs, series_resistance=rs)
    g = n * G0_S
    np.testing.assert_allclose(ds.power, vs**2 * g / (1 + rs * g) ** 2, rtol=1e-14)
    np.testing.assert_allclose(jaxqpc.conductance_from_power(ds.power, vs, rs), n, rtol=1e-11)
    np.testing.assert_allclose(power_from_conductance(n, vs, rs), ds.power, rtol=0)


# ---------------------------------------------------------------------------
# 5. the input is never modified
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", [GOOD, H + "1.2e-4,-1,0.01,0\n", ""])
def test_input_not_modified(tmp_path, text):
    path = _write(tmp_path, text)
    files = sorted(tmp_path.iterdir())
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in files}
    try:
        load_csv(path)
    except DataError:
        pass
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns)
             for p in sorted(tmp_path.iterdir())}
    assert after == before


# ---------------------------------------------------------------------------
# 6. the bundled example
# ---------------------------------------------------------------------------
def test_example():
    path = example_path()
    assert path.is_file() and path.name == "example.csv"
    assert path.stat().st_size + path.with_suffix(".json").stat().st_size < 20_000
    ds = load_example()
    assert ds.n_rows == 120 and ds.dark_rate == (300.0, 300.0)
    assert (ds.source_voltage, ds.series_resistance, ds.lattice_temperature) == (0.7, 470.0, 300.0)
    np.testing.assert_array_equal(np.bincount(np.asarray(ds.detector)), [60, 60])
    assert np.all(np.asarray(ds.counts) >= 0) and np.all(np.asarray(ds.counts) % 1 == 0)
    meta = example_metadata()
    assert meta["truth"] == {"eta": 0.43, "Lc": 0.13, "R0": 1.04, "h": 1.0}
    assert isinstance(meta["seed"], int) and "simulate_experiment" in meta["made_with"]
    # every power is a conductance the truth's geometry allows (N lambda_F/4 <= R0)
    n = np.asarray(jaxqpc.conductance_from_power(ds.power, 0.7, 470.0))
    assert n.max() * 0.52 / 4 <= meta["truth"]["R0"] and n.min() > 1.0
    assert math.isclose(float(np.sum(ds.bin_time)), 2 * 30.0, rel_tol=1e-12)
