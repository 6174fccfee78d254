"""The ``jaxqpc figures emission`` command and the numbers behind Buret et al. 2020, Figs. 3B, 5, 6."""

import os

import numpy as np
import pytest

from inference.cli import main

FIGURES = ("emission_fig5.png", "emission_fig6.png", "emission_fig3b.png", "emission_heat_input.png")


@pytest.fixture(scope="module")
def low_res_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("emission") / "nested"  # created by the command
    assert main(["figures", "emission", "--out", str(out), "--low-res", "--printed-eq5"]) == 0
    return out


@pytest.fixture(scope="module")
def emission():
    from jaxqpc.figures import emission

    return emission


@pytest.fixture(scope="module")
def fig5(emission):
    return emission.fig5_data("low")


def test_writes_four_pngs(low_res_dir):
    for name in FIGURES:
        path = low_res_dir / name
        assert path.is_file(), name
        assert path.stat().st_size > 10_000, f"{name} is suspiciously small"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refuses_to_overwrite_without_force(low_res_dir, capsys):
    before = {name: (low_res_dir / name).stat().st_mtime_ns for name in FIGURES}
    assert main(["figures", "emission", "--out", str(low_res_dir), "--low-res"]) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "--force" in err
    assert {name: (low_res_dir / name).stat().st_mtime_ns for name in FIGURES} == before


def test_force_overwrites_and_prints_paths(tmp_path, capsys):
    (tmp_path / "emission_fig6.png").write_bytes(b"old")
    assert main(["figures", "emission", "--out", str(tmp_path), "--low-res"]) == 2
    assert (tmp_path / "emission_fig6.png").read_bytes() == b"old"
    capsys.readouterr()
    assert main(["figures", "emission", "--out", str(tmp_path), "--low-res", "--force"]) == 0
    printed = capsys.readouterr().out.split()
    assert [os.path.basename(p) for p in printed[-4:]] == list(FIGURES)
    assert (tmp_path / "emission_fig6.png").stat().st_size > 10_000


def test_out_must_be_a_directory(tmp_path, capsys):
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    assert main(["figures", "emission", "--out", str(target), "--low-res"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_missing_out_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["figures", "emission"])
    assert exc.value.code == 2


def test_bad_resolution(tmp_path, emission):
    with pytest.raises(ValueError, match="resolution"):
        emission.make_figures(tmp_path, resolution="medium")


def _curves(fig5):
    """(name, T_e row) of every curve of the four Fig. 5 panels (correct formula), NaN removed."""
    for panel in ("AB", "CD"):
        p = fig5[panel]
        for key in ("Te_hinf", "Te_h0"):
            for label, row in zip(p["labels"], p[key]):
                yield f"{panel} {key} {label}", row[np.isfinite(row)]


def test_fig5_correct_formula_decreases_except_insulated_long_cylinder(fig5):
    """T_e falls with N in every Fig. 5 curve with the correct formula, except h = 0, Lc = R0.

    There (ζ = 1 at N = 10: uniform heating of a cylinder with insulating walls, S = ℓ/2)
    the 1D term ζℓ/2 wins at large N: a shallow minimum at N = 6 and a 2 % rise to N = 10.
    """
    exception = "AB Te_h0 $L_c = R_0$"
    for name, row in _curves(fig5):
        if name == exception:
            continue
        assert row.size >= 8, name
        assert np.all(np.diff(row) < 0), name
    row = fig5["AB"]["Te_h0"][-1]
    assert int(np.argmin(row)) + 1 == 6
    assert 1.0 < row[-1] / row.min() < 1.03
    assert row[0] > row[1] > row[2]  # starts falling like the others
    np.testing.assert_allclose(row[[0, 5, 9]], [2217, 2182, 2229], atol=1.0)


def test_fig5_printed_eq5_rises_with_n_at_long_cylinder(fig5):
    """The printed Eq. 5 (first term twice too large) at Lc = R0, h = 0: T_e grows with N.

    Its maximum is at the largest N allowed (N = 10, ζ = 1), not inside the range: the
    paper's 'maximum shifting to higher N' is a monotonic rise here. At Lc = R0/2 the
    printed curve has a minimum at N = 5 instead.
    """
    printed = fig5["AB"]["Te_printed"]
    row = printed[-1]  # Lc = R0
    assert int(np.argmax(row)) + 1 == 10
    assert np.all(np.diff(row) > 0)
    np.testing.assert_allclose(row[[0, 9]], [2324, 3138], atol=1.0)
    assert np.all(np.diff(printed[4]) > 0)  # Lc = 3R0/4 rises too
    assert int(np.argmin(printed[3])) + 1 == 5  # Lc = R0/2: minimum at N = 5
    # the misprint only adds heat: printed >= correct h = 0 everywhere
    assert np.all(printed >= fig5["AB"]["Te_h0"] - 1e-9)
    print("printed Eq. 5, Lc = R0:", np.round(row))


def test_fig5_h_limits_agree_for_short_cylinders(fig5, emission):
    """h is not identifiable at small Lc/R0: the two limits agree far better than 5 %."""
    ab = fig5["AB"]
    rel = np.abs(ab["Te_h0"] / ab["Te_hinf"] - 1.0)
    print("max |Te(h=0)/Te(h=inf) - 1| per Lc/R0 (1/6 ... 1):", np.nanmax(rel, axis=1))
    assert np.nanmax(rel[0]) < 5e-4  # Lc = R0/6: 2.2e-4 at most (N = 10)
    assert np.nanmax(rel[:3]) < 0.02  # Lc ≤ R0/3: within 1.9 %
    assert np.nanmax(rel[-1]) > 0.3  # Lc = R0: 37 % at N = 10, the limits do matter there
    # Lc/R0 = 1/8: the Fig. 3B geometry (R0 = 2λF, Lc = λF/4) and Fig. 6 (C, D) at R0 = 4λF
    fig3b = emission.fig3b_data("low")["circuit"]
    rel_3b = np.max(np.abs(fig3b["Te_h0"] / fig3b["Te_hinf"] - 1.0))
    print("Lc/R0 = 1/8, Fig. 3B geometry: max relative T_e difference", rel_3b)
    assert rel_3b < 1e-4
    assert np.max(np.abs(fig3b["counts_h0"] / fig3b["counts_hinf"] - 1.0)) < 1e-4


def test_fig5_temperatures_in_the_papers_range(fig5):
    """Peak temperatures stay below the paper's 3.5e3 K; T0 = 4938 K·(λF/R0)^{1/2} at 0.7 V."""
    for panel in ("AB", "CD"):
        for key in ("Te_hinf", "Te_h0", "Te_printed"):
            assert np.nanmax(fig5[panel][key]) < 3500.0
    np.testing.assert_allclose(np.nanmax(fig5["CD"]["Te_h0"]), 2325.0, atol=1.0)


def test_fig6_yield_falls_with_n_and_matches_closed_form(emission):
    data = emission.fig6_data("low")
    ab, cd = data["AB"], data["CD"]
    for p in (ab, cd):
        for row in p["Y_hinf"]:
            row = row[np.isfinite(row)]
            assert np.all(np.diff(row) < 0)
    # exponential decay: Lc = R0/6 falls by more than three decades from N = 1 to 10
    assert ab["Y_hinf"][0, 0] / ab["Y_hinf"][0, -1] > 1e3
    # closed form vs exact integral within the documented 0.76 ... 1.03 (T_e ≤ 3500 K)
    i = ab["closed_index"]
    ratio = ab["Y_hinf"][i] / ab["Y_closed_hinf"]
    assert np.all((ratio > 0.75) & (ratio < 1.04))


def test_fig3b_counts_order_of_magnitude(emission):
    """Counts per 10 ms bin at N = 4 in the Fig. 3B setting (η = 0.43, dark 300 s⁻¹)."""
    data = emission.fig3b_data("low")
    dark = data["dark_counts"]
    c, p = data["circuit"], data["paper"]
    print(f"\nFig. 3B, N = 4: circuit (V_c = {c['voltage'][0]:.3f} V, P = {c['power_uW'][0]:.1f} µW): "
          f"T_e = {c['Te_hinf'][0]:.0f} K, {c['counts_hinf'][0]:.3f} counts/bin "
          f"(signal {c['counts_hinf'][0] - dark:.3f}); paper's convention (0.7 V, "
          f"P_N = {p['power_uW'][0]:.1f} µW): T_e = {p['Te_hinf'][0]:.0f} K, signal "
          f"{p['counts_hinf'][0] - dark:.3f}; printed Eq. 5 (circuit): signal "
          f"{c['counts_printed'][0] - dark:.3f}")
    np.testing.assert_allclose(data["area_cm2"], 4.25e-14, rtol=2e-3)
    np.testing.assert_allclose(c["voltage"][0], 0.611, atol=1e-3)
    np.testing.assert_allclose(p["power_uW"][[0, -1]], [151.9, 303.7], atol=0.1)  # 152-304 µW
    np.testing.assert_allclose(c["Te_hinf"][0], 1116.0, atol=1.0)
    assert dark == pytest.approx(3.0)
    signal = c["counts_hinf"][0] - dark
    assert 0.1 < signal < 2.0  # ≈ 0.44 counts per 10 ms bin (44 s⁻¹)
    assert 1.0 < p["counts_hinf"][0] - dark < 10.0  # ≈ 2.4 at 0.7 V on the contact
    # the signal decays with N (power) in both conventions
    for d in (c, p):
        assert np.all(np.diff(d["counts_hinf"] - dark) < 0)


def test_heat_input_fractions_and_effect(emission):
    data = emission.heat_input_data("low")
    n = data["n"]
    k = int(np.flatnonzero(n == 4)[0])
    f = data["fraction"]
    np.testing.assert_array_equal(f[0], 1.0)
    np.testing.assert_allclose(f[1], 0.5, atol=1e-12)  # energy-independent T: exactly 1/2
    assert np.all(np.diff(f[2]) < 0) and np.all(f[2] > 0.5)
    assert 0.55 < f[2, k] < 0.7 and f[2, -1] > 0.54
    # less heat: lower T_e, far fewer counts (exponential in 1/T_e)
    assert np.all(data["Te_ratio"][1:] < 1.0) and np.all(data["signal_ratio"][1:] < 1.0)
    drop = 1.0 - data["Te_ratio"][:, k]
    factor = 1.0 / data["signal_ratio"][:, k]
    print(f"\nheat input at N = 4: P_R/P = 1/2 -> Te -{100 * drop[1]:.1f} %, counts / {factor[1]:.0f}; "
          f"saddle P_R/P = {f[2, k]:.3f} -> Te -{100 * drop[2]:.1f} %, counts / {factor[2]:.0f}")
    assert 0.2 < drop[1] < 0.3 and 50 < factor[1] < 500
    assert 0.1 < drop[2] < drop[1] and 5 < factor[2] < factor[1]
