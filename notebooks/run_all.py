"""Execute the notebooks top to bottom and store their outputs (how the stored outputs are made).

    python notebooks/run_all.py                      # every notebook, full mode, in place
    python notebooks/run_all.py gradient_design      # one (or several) by name
    python notebooks/run_all.py --fast --no-write    # fast mode, nothing written (what the tests run)

Full mode stores the outputs of a full run in each ``.ipynb``, with ``metadata["jaxqpc"]``:
``code_sha256`` (:func:`code_sha256` of the code cells that made the outputs; the tests compare it
with the current code), ``fast`` (false), ``wall_s`` and the JAX version. It also writes each
notebook's thumbnail, ``docs/images/notebook_<name>.png``, from the first image output of the cell
tagged ``thumbnail``. Fast mode sets ``JAXQPC_NOTEBOOK_FAST=1`` in the kernel's environment: every
notebook reads it in its first code cell and shrinks draws, grids, fleets and optimiser steps.
"""

import argparse
import base64
import copy
import hashlib
import io
import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
THUMBNAILS = ROOT / "docs" / "images"
THUMBNAIL_WIDTH = 360
THUMBNAIL_MAX_BYTES = 40_000
FAST_VARIABLE = "JAXQPC_NOTEBOOK_FAST"


def notebooks():
    """The notebooks of this directory, by name."""
    return sorted(HERE.glob("*.ipynb"))


def code_cells(nb):
    """The sources of the code cells of a notebook (a dict or nbformat node), in order."""
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


def code_sha256(nb):
    """SHA-256 of the code cells (their sources as a JSON list): what made the stored outputs."""
    return hashlib.sha256(json.dumps(code_cells(nb), ensure_ascii=False).encode()).hexdigest()


def execute(path, *, fast, timeout=4 * 3600):
    """Run the notebook at ``path`` in a fresh kernel (working directory: this folder) and return
    the executed notebook node and the wall time (s); the file itself is not touched. ``timeout``:
    the longest a cell may run (s); a full run's longest, the shared η of gpu_batch_inference's 100
    contacts, takes about an hour on a 2-core CPU."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get(FAST_VARIABLE)
    os.environ[FAST_VARIABLE] = "1" if fast else "0"  # the kernel inherits this process's environment
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                         resources={"metadata": {"path": str(HERE)}})
        start = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - start
    finally:
        if env_before is None:
            os.environ.pop(FAST_VARIABLE, None)
        else:
            os.environ[FAST_VARIABLE] = env_before
    return nb, wall


def first_thumbnail_png(nb):
    """The first PNG output of the cell tagged ``thumbnail`` (bytes), or None."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "thumbnail" in cell.metadata.get("tags", []):
            for out in cell.outputs:
                data = out.get("data", {})
                if "image/png" in data:
                    return base64.b64decode(data["image/png"])
    return None


def write_thumbnail(png, path):
    """A small palette PNG (≤ :data:`THUMBNAIL_MAX_BYTES`) of ``png``."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width = THUMBNAIL_WIDTH
    while True:
        small = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        buf = io.BytesIO()
        small.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
        if buf.tell() <= THUMBNAIL_MAX_BYTES or width < 120:
            break
        width = int(width * 0.85)
    path.write_bytes(buf.getvalue())
    return path


def store(path, nb, wall):
    """Write the executed notebook in place, with the hash of its code and the run's facts."""
    import jax
    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata["jaxqpc"] = {"code_sha256": code_sha256(nb), "fast": False, "wall_s": round(wall, 1),
                             "jax": jax.__version__, "executed_by": "notebooks/run_all.py"}
    nbformat.write(nb, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--fast", action="store_true", help=f"fast mode ({FAST_VARIABLE}=1); implies --no-write")
    parser.add_argument("--no-write", action="store_true", help="execute only, write nothing")
    args = parser.parse_args(argv)
    paths = notebooks()
    if args.names:
        wanted = {pathlib.Path(n).stem for n in args.names}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(f"no such notebook: {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.stem in wanted]
    for path in paths:
        nb, wall = execute(path, fast=args.fast)
        kb = ""
        if not (args.fast or args.no_write):
            store(path, nb, wall)
            png = first_thumbnail_png(nb)
            if png is not None:
                write_thumbnail(png, THUMBNAILS / f"notebook_{path.stem}.png")
            kb = f", {path.stat().st_size / 1000:.0f} kB"
        print(f"{path.name}: {wall:.1f} s{kb}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
