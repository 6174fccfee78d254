"""The ``jaxqpc`` command and the QPC figure reproduction (Blaas-Anselmi et al. 2022, Figs. 2-5)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import jaxqpc
from inference.cli import main

FIGURES = ("fig2.png", "fig3.png", "fig4.png", "fig5.png")


@pytest.fixture(scope="module")
def low_res_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs") / "nested" / "dir"  # created by the command
    assert main(["figures", "qpc", "--out", str(out), "--low-res"]) == 0
    return out


def test_figures_qpc_writes_four_pngs(low_res_dir, capsys):
    for name in FIGURES:
        path = low_res_dir / name
        assert path.is_file(), name
        assert path.stat().st_size > 10_000, f"{name} is suspiciously small"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refuses_to_overwrite_without_force(low_res_dir, capsys):
    before = {name: (low_res_dir / name).stat().st_mtime_ns for name in FIGURES}
    code = main(["figures", "qpc", "--out", str(low_res_dir), "--low-res"])
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "--force" in err
    assert {name: (low_res_dir / name).stat().st_mtime_ns for name in FIGURES} == before


def test_force_overwrites_and_prints_paths(tmp_path, capsys):
    (tmp_path / "fig3.png").write_bytes(b"old")
    assert main(["figures", "qpc", "--out", str(tmp_path), "--low-res"]) == 2
    assert (tmp_path / "fig3.png").read_bytes() == b"old"
    capsys.readouterr()
    assert main(["figures", "qpc", "--out", str(tmp_path), "--low-res", "--force"]) == 0
    printed = capsys.readouterr().out.split()
    assert [os.path.basename(p) for p in printed[-4:]] == list(FIGURES)
    assert (tmp_path / "fig3.png").stat().st_size > 10_000


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"jaxqpc {jaxqpc.__version__}"


@pytest.mark.parametrize("argv", [[], ["figures"]])
def test_missing_subcommand_is_usage_error(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_unknown_option_is_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["figures", "qpc", "--out", str(tmp_path), "--bogus"])
    assert exc.value.code == 2


def test_python_dash_m_version():
    """``python -m inference.cli`` is the same command as the ``jaxqpc`` console script."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "inference.cli", "--version"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0
    assert done.stdout.strip() == f"jaxqpc {jaxqpc.__version__}"


def test_figure_numbers_match_the_paper(low_res_dir):
    """The plotted data reproduce the paper's numbers (same grids as the figures; cached compiles)."""
    from jaxqpc.figures import qpc

    fig3 = qpc.fig3_data("low")  # Fig. 3 colour bars: max hP_R/2E1² ≈ 0.99, max hP_A/2E1² ≈ 0.21
    assert 0.93 < np.max(fig3["power_right"]) < 1.0
    assert 0.19 < np.max(fig3["power_asymmetry"]) < 0.22
    fig4 = qpc.fig4_data("low")  # Fig. 4: the upstream reservoir is cooled at large k_BT
    assert np.all(fig4["power_left"][:, -1] < 0)
    assert np.all(fig4["power_left"][:, 0] > 0)
    # onsets of P_L < 0 at μ̄ = E1 (docs/errata-blaas-anselmi2022.md: 0.048 and 0.134 for eV = 0.2, 0.6 E1)
    np.testing.assert_allclose(fig4["cooling_onset"], [0.048, 0.134], atol=0.003)


def test_bad_resolution(tmp_path):
    from jaxqpc.figures import qpc

    with pytest.raises(ValueError, match="resolution"):
        qpc.make_figures(tmp_path, resolution="medium")
