"""Reading and writing photon-count data: CSV rows plus experiment metadata.

File format (one row per time bin, or per group of bins, and per detector)::

    power,counts,bin_time,detector
    1.1570075604e-04,312,0.5,0
    ...

- ``power``: power dissipated in the contact (W), > 0 and at most V_s²/(4R_s)
  (no contact conductance dissipates more in the circuit). Instead of it, a
  ``conductance`` column (G/G0) may be given; it is converted with the
  circuit, P = V_c² G G0 with V_c = V_s/(1 + R_s G G0) (the inverse of
  :func:`jaxqpc.conductance_from_power`), and must lie on the branch the model
  uses, G ≤ 1/R_s.
- ``counts``: detected photons in the row (non-negative integers).
- ``bin_time``: counting time of the row (s), > 0.
- ``detector`` (optional, default 0): detector index 0, 1, … (e.g. the two
  cross-polarised APDs of Buret et al. 2020).

Columns may come in any order; blank lines and lines starting with ``#`` are
skipped; line numbers in messages are those of the file (header = line 1 when
the file has no leading comments). The input file is only read, never changed.

Experiment metadata: ``source_voltage`` (V, required), ``series_resistance``
(Ω, **required**: no default, because R_s changes the contact voltage and with
it the predicted counts several-fold, so a forgotten 0 would silently bias every
fit; state ``series_resistance = 0`` if there really is none), ``dark_rate``
(s⁻¹, one number for every detector or a list with one entry per detector;
default 0) and ``lattice_temperature`` (K, default 300). They come from keyword
arguments (e.g. command-line flags), which override a metadata file: an
explicit ``metadata=`` path, else ``<data stem>.json`` or ``<data stem>.toml``
beside the data file (both present is an error). Other keys in the file (notes,
``truth``, ``seed``…) are ignored, except near-misses of the known names (e.g.
``dark_rates``), which are reported as probable typos.

Detectors and efficiency: the number of detectors of a dataset is
``len(dataset.dark_rate)`` (a single ``dark_rate`` number is repeated for
indices 0 … max(detector)). The convention of the simulator and the bundled
example is that the overall detection efficiency η of the paper (0.43 for the
sum of both APDs) is shared equally, so a row of detector d has the Poisson mean
``photon_counts(power, eta=η/len(dark_rate), dark_rate=dark_rate[d], …)``.
"""

import csv
import difflib
import importlib.resources
import json
import math
import os
import pathlib
import tomllib

import jax.numpy as jnp
import numpy as np

from jaxqpc import CONDUCTANCE_QUANTUM_S

from .dataset import Dataset

__all__ = [
    "DataError",
    "load_csv",
    "save_csv",
    "read_metadata",
    "example_path",
    "example_metadata",
    "load_example",
]

POWER_COLUMN = "power"
CONDUCTANCE_COLUMN = "conductance"
REQUIRED_COLUMNS = ("counts", "bin_time")
OPTIONAL_COLUMNS = ("detector",)
KNOWN_COLUMNS = (POWER_COLUMN, CONDUCTANCE_COLUMN) + REQUIRED_COLUMNS + OPTIONAL_COLUMNS
METADATA_KEYS = ("source_voltage", "series_resistance", "dark_rate", "lattice_temperature")
DEFAULT_LATTICE_TEMPERATURE_K = 300.0
DEFAULT_DARK_RATE = 0.0


class DataError(ValueError):
    """Invalid data or metadata. ``path``, ``line`` (1-based) and ``column`` locate it (or None)."""

    def __init__(self, detail, *, path=None, line=None, column=None):
        self.path, self.line, self.column, self.detail = path, line, column, detail
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {detail}" if where else detail)


# ---------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------
def read_metadata(path):
    """The metadata file ``path`` (``.json`` or ``.toml``) as a dict (every key, unvalidated)."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise DataError("metadata files must end in .json or .toml", path=path)
    try:
        if suffix == ".json":
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
        else:
            with open(path, "rb") as f:
                meta = tomllib.load(f)
    except json.JSONDecodeError as err:
        raise DataError(f"not valid JSON: {err.msg}", path=path, line=err.lineno) from err
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"not valid TOML: {err}", path=path) from err
    if not isinstance(meta, dict):
        raise DataError("the metadata must be an object of key: value pairs", path=path)
    return meta


def _metadata_file(data_path, metadata):
    """The metadata file to read: explicit, else ``<stem>.json``/``.toml`` beside the data, else None."""
    if metadata is not None:
        metadata = pathlib.Path(metadata)
        if not metadata.is_file():
            raise FileNotFoundError(f"metadata file {str(metadata)!r} not found")
        return metadata
    found = [p for p in (data_path.with_suffix(".json"), data_path.with_suffix(".toml")) if p.is_file()]
    if len(found) > 1:
        raise DataError(f"both {found[0].name} and {found[1].name} lie beside the data; keep one "
                        "or pass metadata= explicitly", path=data_path)
    return found[0] if found else None


def _number(value, key, source, *, allow_list=False):
    def one(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DataError(f"{key} must be a number, got {v!r}", path=source, column=key)
        v = float(v)
        if not math.isfinite(v):
            raise DataError(f"{key} must be finite, got {v!r}", path=source, column=key)
        return v

    if allow_list and isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 0:
            raise DataError(f"{key} must not be an empty list", path=source, column=key)
        return tuple(one(v) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    return one(value)


def _resolve_metadata(data_path, metadata, overrides, spelling=None):
    """Merge keyword overrides over the metadata file and validate. Returns (values, sources).

    ``spelling``: how the caller's user passes each override (e.g. a command-line flag), for
    the messages; by default the keyword argument ``name=``."""
    spelling = {k: f"the keyword argument {k}=" for k in METADATA_KEYS} | (spelling or {})
    meta_path = _metadata_file(data_path, metadata)
    file_meta = read_metadata(meta_path) if meta_path is not None else {}
    for key in file_meta:
        if key not in METADATA_KEYS:
            close = difflib.get_close_matches(key, METADATA_KEYS, n=1, cutoff=0.8)
            if close:
                raise DataError(f"unknown key {key!r}; did you mean {close[0]!r}?",
                                path=meta_path, column=key)
    values, sources = {}, {}
    for key in METADATA_KEYS:
        if overrides.get(key) is not None:
            values[key], sources[key] = overrides[key], spelling[key]
        elif key in file_meta:
            values[key], sources[key] = file_meta[key], meta_path
    where = f" (read {meta_path})" if meta_path is not None else " (no metadata file found beside it)"
    for key in ("source_voltage", "series_resistance"):
        if key not in values:
            hint = " (write series_resistance = 0 if there is none)" if key == "series_resistance" else ""
            raise DataError(f"the experiment's {key} is required: pass it with {spelling[key]} or put it in "
                            f"{data_path.with_suffix('.json').name} / .toml{hint}{where}",
                            path=data_path, column=key)
    out = {k: _number(values[k], k, sources[k], allow_list=(k == "dark_rate")) for k in values}
    out.setdefault("dark_rate", DEFAULT_DARK_RATE)
    out.setdefault("lattice_temperature", DEFAULT_LATTICE_TEMPERATURE_K)
    sources.setdefault("dark_rate", "default")
    sources.setdefault("lattice_temperature", "default")
    checks = {"source_voltage": (lambda v: v > 0, "> 0"),
              "series_resistance": (lambda v: v >= 0, ">= 0"),
              "lattice_temperature": (lambda v: v > 0, "> 0"),
              "dark_rate": (lambda v: v >= 0, ">= 0")}
    for key, (ok, text) in checks.items():
        vals = out[key] if isinstance(out[key], tuple) else (out[key],)
        if not all(ok(v) for v in vals):
            raise DataError(f"{key} must be {text}, got {out[key]!r}", path=sources[key], column=key)
    return out, sources


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------
def _read_rows(path):
    """Header and data rows of ``path`` as (line_number, [cells]); comments and blank lines skipped."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise DataError(f"not a UTF-8 text file ({err.reason})", path=path) from err
    reader = csv.reader(text.splitlines())
    header, rows = None, []
    for cells in reader:
        line = reader.line_num
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = (line, cells)
        else:
            rows.append((line, cells))
    return header, rows


def _check_header(path, header):
    if header is None:
        raise DataError("the file is empty; expected a header line such as "
                        "'power,counts,bin_time' followed by data rows", path=path, line=1)
    line, names = header
    if len(names) == 1 and any(sep in names[0] for sep in (";", "\t", " ")):
        raise DataError(f"the header {names[0]!r} is not comma-separated; use commas, e.g. "
                        "'power,counts,bin_time'", path=path, line=line)
    seen = set()
    for name in names:
        if name == "":
            raise DataError("empty column name in the header", path=path, line=line)
        if name in seen:
            raise DataError("the column appears twice in the header", path=path, line=line, column=name)
        seen.add(name)
        if name not in KNOWN_COLUMNS:
            close = difflib.get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataError(f"unknown column (known: {', '.join(KNOWN_COLUMNS)}){hint}",
                            path=path, line=line, column=name)
    if POWER_COLUMN in seen and CONDUCTANCE_COLUMN in seen:
        raise DataError(f"give either {POWER_COLUMN!r} or {CONDUCTANCE_COLUMN!r}, not both",
                        path=path, line=line, column=CONDUCTANCE_COLUMN)
    if POWER_COLUMN not in seen and CONDUCTANCE_COLUMN not in seen:
        raise DataError(f"missing column: the header needs {POWER_COLUMN!r} (or {CONDUCTANCE_COLUMN!r})",
                        path=path, line=line, column=POWER_COLUMN)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise DataError("missing column in the header", path=path, line=line, column=name)
    return names


def load_csv(path, *, source_voltage=None, series_resistance=None, dark_rate=None,
             lattice_temperature=None, metadata=None, spelling=None):
    """Load photon-count data from a CSV file (format in the module docstring) as a :class:`Dataset`.

    Args:
        path: the CSV file (read only).
        source_voltage: V_s (V). series_resistance: R_s (Ω). dark_rate: dark
            counts (s⁻¹), a number for every detector or a sequence with one
            entry per detector. lattice_temperature: T_L (K). Each overrides
            the metadata file; ``None`` means "take it from the file".
        metadata: path of a ``.json``/``.toml`` metadata file; by default
            ``<stem>.json`` or ``<stem>.toml`` beside ``path`` if present.
        spelling: optional dict metadata key → how the user passes it (e.g.
            ``{"source_voltage": "--source-voltage V"}`` for a command line), used in
            messages; by default the keyword argument.
    Returns:
        A :class:`Dataset` (rows in file order).
    Raises:
        DataError (a ``ValueError``) naming the file, line (1-based) and column
        of the first problem; FileNotFoundError for a missing file.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} not found")
    header, rows = _read_rows(path)
    names = _check_header(path, header)
    if not rows:
        raise DataError(f"no data rows after the header (line {header[0]})", path=path, line=header[0] + 1)
    meta, sources = _resolve_metadata(path, metadata, dict(
        source_voltage=source_voltage, series_resistance=series_resistance, dark_rate=dark_rate,
        lattice_temperature=lattice_temperature), spelling)
    vs, rs = meta["source_voltage"], meta["series_resistance"]
    p_max = vs * vs / (4.0 * rs) if rs > 0 else math.inf
    n_max = 1.0 / (rs * CONDUCTANCE_QUANTUM_S) if rs > 0 else math.inf
    dark = meta["dark_rate"]

    columns = {name: np.empty(len(rows)) for name in names}
    for i, (line, cells) in enumerate(rows):
        if len(cells) != len(names):
            raise DataError(f"{len(cells)} fields, but the header (line {header[0]}) has {len(names)}",
                            path=path, line=line)
        for name, cell in zip(names, cells):
            def bad(detail, name=name, line=line):
                return DataError(detail, path=path, line=line, column=name)

            if cell == "":
                raise bad("missing value")
            try:
                v = float(cell)
            except ValueError:
                raise bad(f"not a number: {cell!r}") from None
            if not math.isfinite(v):
                raise bad(f"must be finite, got {cell!r}")
            if name == "counts":
                if v < 0 or v != int(v):
                    raise bad(f"counts must be a non-negative integer, got {cell!r}")
            elif name == "detector":
                if v < 0 or v != int(v):
                    raise bad(f"detector must be a non-negative integer index (0, 1, …), got {cell!r}")
                if isinstance(dark, tuple) and v >= len(dark):
                    raise bad(f"detector {int(v)}, but only {len(dark)} dark rate(s) given "
                              f"({sources['dark_rate']}), for detectors 0…{len(dark) - 1}")
            elif name == "bin_time":
                if not v > 0:
                    raise bad(f"bin_time must be > 0, got {cell!r}")
            elif name == POWER_COLUMN:
                if not v > 0:
                    raise bad(f"power must be > 0, got {cell!r}")
                if v > p_max:
                    raise bad(f"power {v:g} W exceeds the most any contact dissipates in this circuit, "
                              f"V_s²/(4R_s) = {p_max:g} W (V_s = {vs:g} V, R_s = {rs:g} Ω)")
            elif name == CONDUCTANCE_COLUMN:
                if not v > 0:
                    raise bad(f"conductance must be > 0, got {cell!r}")
                if v > n_max:
                    raise bad(f"conductance {v:g} G0 lies above 1/R_s = {n_max:g} G0; the model maps "
                              "power to the conductance branch G ≤ 1/R_s, so this row could not be "
                              "represented (check series_resistance)")
            columns[name][i] = v

    if CONDUCTANCE_COLUMN in columns:
        power = power_from_conductance(columns[CONDUCTANCE_COLUMN], vs, rs)
    else:
        power = columns[POWER_COLUMN]
    detector = columns["detector"].astype(np.int64) if "detector" in columns else np.zeros(len(rows), np.int64)
    if isinstance(dark, tuple):
        dark_rate_t = dark
    else:
        dark_rate_t = (dark,) * (int(detector.max()) + 1)
    return Dataset(power=jnp.asarray(power, dtype=float), counts=jnp.asarray(columns["counts"], dtype=float),
                   bin_time=jnp.asarray(columns["bin_time"], dtype=float), detector=jnp.asarray(detector),
                   source_voltage=vs, series_resistance=rs, dark_rate=dark_rate_t,
                   lattice_temperature=meta["lattice_temperature"])


def power_from_conductance(conductance, source_voltage, series_resistance):
    """P = V_c² G G0 with V_c = V_s/(1 + R_s G G0) (W), in NumPy double precision.

    The inverse of :func:`jaxqpc.conductance_from_power` on its branch G ≤ 1/R_s.
    """
    g = np.asarray(conductance, dtype=float) * CONDUCTANCE_QUANTUM_S
    vc = source_voltage / (1.0 + series_resistance * g)
    return vc * vc * g


def _metadata_dict(dataset):
    return {"source_voltage": float(dataset.source_voltage),
            "series_resistance": float(dataset.series_resistance),
            "dark_rate": [float(d) for d in dataset.dark_rate],
            "lattice_temperature": float(dataset.lattice_temperature)}


def _atomic_write(path, text):
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_csv(dataset, path, *, overwrite=False, extra_metadata=None):
    """Write ``dataset`` as ``path`` (CSV, the :func:`load_csv` format) and ``<stem>.json`` beside it.

    Floats are written in their shortest exact form (``repr``), so
    :func:`load_csv` gives the same dataset back. ``extra_metadata``: further JSON-serialisable entries for
    the metadata file (e.g. ``{"truth": …, "seed": …}``). Refuses to replace
    existing files unless ``overwrite=True``; refuses outright if a
    ``<stem>.toml`` lies beside (the loader would find two metadata files).
    Returns the paths written (csv, json).
    """
    path = pathlib.Path(path)
    if path.suffix.lower() in (".json", ".toml"):
        raise ValueError(f"{path}: the data file must not end in {path.suffix} (the metadata goes there)")
    meta_path, toml_path = path.with_suffix(".json"), path.with_suffix(".toml")
    if toml_path.exists():
        raise FileExistsError(f"{toml_path} exists; the loader would find two metadata files. Remove it "
                              "or write elsewhere")
    if not overwrite:
        for p in (path, meta_path):
            if p.exists():
                raise FileExistsError(f"{p} exists; pass overwrite=True to replace it")
    power, counts, bin_time, detector = (np.asarray(getattr(dataset, k)) for k in
                                      ("power", "counts", "bin_time", "detector"))
    if power.ndim != 1:
        raise ValueError(f"save_csv writes one dataset (1-D arrays), got shape {power.shape}")
    if not (np.all(counts >= 0) and np.all(counts == np.round(counts))):
        raise ValueError("counts must be non-negative integers to be written")
    if not (np.all(power > 0) and np.all(bin_time > 0)):
        raise ValueError("power and bin_time must be > 0 to be written")
    meta = _metadata_dict(dataset)
    extra = dict(extra_metadata or {})
    clash = set(extra) & set(meta)
    if clash:
        raise ValueError(f"extra_metadata must not redefine {sorted(clash)} (taken from the dataset)")
    lines = [f"{POWER_COLUMN},counts,bin_time,detector"]
    lines += [f"{float(p)!r},{int(c)},{float(b)!r},{int(d)}"
              for p, c, b, d in zip(power, counts, bin_time, detector)]
    _atomic_write(path, "\n".join(lines) + "\n")
    _atomic_write(meta_path, json.dumps({**meta, **extra}, indent=2, ensure_ascii=False) + "\n")
    return path, meta_path


# ---------------------------------------------------------------------------
# the bundled example
# ---------------------------------------------------------------------------
def example_path():
    """Path of the bundled example dataset ``inference/examples/example.csv``.

    Simulated (see ``example.json`` beside it: metadata, the true parameters
    under ``"truth"``, the seed and the call that made it).
    """
    return pathlib.Path(str(importlib.resources.files("inference").joinpath("examples", "example.csv")))


def example_metadata():
    """The bundled example's metadata dict (including ``"truth"`` and ``"seed"``)."""
    return read_metadata(example_path().with_suffix(".json"))


def load_example():
    """The bundled example as a :class:`Dataset` (120 rows, two detectors)."""
    return load_csv(example_path())
