"""ModeMatchedQPC: the exact hard-wall QPC by mode matching (docs/qpc-exact.md).

Convergence in the number of modes, unitarity, thresholds, long channels, gradients, an
independent tight-binding calculation of the same geometry (numpy, below), transport, the
comparison with AbruptQPC and the domain rules. Every jitted function is compiled once: the
model is built inside with a fixed static structure (``grid_lead_width`` = 3 covers W = 2 and 3).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from jaxqpc import AbruptQPC, ModeMatchedQPC
from jaxqpc._spectral import node_energies

LENGTH, LEAD_WIDTH = 1.0, 3.0
LEAD_THRESHOLDS = [(m / LEAD_WIDTH) ** 2 for m in range(1, 12)]
CHANNEL_THRESHOLDS = [1.0, 4.0, 9.0]


def _model(length, lead_width):
    """The default structure (48 channel and 144 lead modes, max_energy 16) for any ℓ and 1 < W ≤ 3."""
    return ModeMatchedQPC(length, lead_width, grid_length=1.0, grid_lead_width=3.0)


CHUNK = 256
"""Every evaluation is padded to this many points, so each jitted function compiles once."""


def _padded(fn, *columns):
    """``fn`` over 1-D ``columns`` (broadcast), in chunks of CHUNK points padded with the last point."""
    columns = np.broadcast_arrays(*(np.atleast_1d(np.asarray(c, dtype=float)) for c in columns))
    n = columns[0].size
    out = []
    for start in range(0, n, CHUNK):
        chunk = [c[start:start + CHUNK] for c in columns]
        chunk = [np.pad(c, (0, CHUNK - c.size), mode="edge") for c in chunk]
        out.append(jax.tree.map(lambda x: np.asarray(x)[: min(CHUNK, n - start)], fn(*chunk)))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *out)


@jax.jit
@jax.vmap
def _channels_points(energy, length, lead_width):
    return _model(length, lead_width).channel_transmissions(energy)


def channels(energy, length=LENGTH, lead_width=LEAD_WIDTH):
    """T_m at each point (ε, ℓ, W), broadcast."""
    return _padded(_channels_points, energy, length, lead_width)


def transmission(energy, length=LENGTH, lead_width=LEAD_WIDTH):
    return np.sum(channels(energy, length, lead_width), axis=-1)


def _total(energy, length, lead_width):
    return _model(length, lead_width).transmission(energy)


_gradient_points = jax.jit(jax.vmap(jax.grad(_total, argnums=(0, 1, 2))))


def gradient(energy, length=LENGTH, lead_width=LEAD_WIDTH):
    """∂T/∂(ε, ℓ, W) at each point, stacked on the last axis."""
    return np.stack(_padded(_gradient_points, energy, length, lead_width), axis=-1)


@pytest.fixture(scope="module")
def dense():
    """T over ε ∈ [0.5, 12] E1 (ℓ = 1, W = 3) at the default truncation."""
    energy = np.linspace(0.5, 12.0, 231)
    return energy, transmission(energy)


# ---------------------------------------------------------------------------
# Truncation, unitarity, thresholds
# ---------------------------------------------------------------------------


def test_default_truncation_converged(dense):
    """Default n_modes = 48 (144 lead modes) against 96 (288): |ΔT| < 1e-3 over [0.5, 12] E1."""
    energy, t = dense
    model = ModeMatchedQPC(LENGTH, LEAD_WIDTH)
    assert (model.n_modes, model.n_lead_modes, model.n_open) == (48, 144, 14)
    reference = np.asarray(jax.jit(lambda m, e: m.transmission(e))(ModeMatchedQPC(LENGTH, LEAD_WIDTH, n_modes=96),
                                                                    energy))
    error = np.max(np.abs(t - reference))
    print(f"\nmax |T(48 modes) - T(96 modes)| over [0.5, 12] E1: {error:.2e}")
    assert error < 1e-3


def test_scattering_matrix_unitary():
    """S†S = 1 on the propagating block to 1e-10 (thresholds included), 0 ≤ T_m ≤ 1, Σ T_m = |t|²."""
    energy = np.concatenate([np.linspace(0.05, 16.0, 37), LEAD_THRESHOLDS, CHANNEL_THRESHOLDS])
    model = ModeMatchedQPC(LENGTH, LEAD_WIDTH)
    s, opened = (np.asarray(x) for x in jax.jit(lambda m, e: m.scattering_matrix(e))(model, energy))
    worst = 0.0
    for sk, ok in zip(s, opened):
        block = sk[np.ix_(ok, ok)]
        worst = max(worst, np.max(np.abs(block.conj().T @ block - np.eye(ok.sum())), initial=0.0))
        assert np.all(sk[~ok] == 0) and np.all(sk[:, ~ok] == 0)
    print(f"\nmax |S†S - 1| = {worst:.1e}")
    assert worst < 1e-10
    size = model.n_open
    t_m = channels(energy)
    np.testing.assert_allclose(t_m, np.sum(np.abs(s[:, size:, :size]) ** 2, axis=-2), atol=1e-12)
    assert np.all(t_m >= 0) and np.all(t_m <= 1 + 1e-12)


def test_steps_and_closed_leads(dense):
    """T = 0 below the first lead subband (1/W)²; plateaus near 1, 2 and steps near n²."""
    assert np.all(transmission([-1.0, 0.0, 0.05, 1.0 / 9.0]) < 1e-15)
    energy, t = dense
    assert np.all(t >= 0)
    for lo, hi, level in ((2.0, 3.5, 1), (6.0, 8.5, 2), (11.0, 12.0, 3)):
        window = (energy > lo) & (energy < hi)
        assert np.all(np.abs(t[window] - level) < 0.1), (lo, hi)


def test_long_channel_finite():
    """ℓ = 50: closed channels decay as e^{−κL} inside ``_phase_functions`` (never e^{+κL}): finite, 0 ≤ T_m ≤ 1;
    tunnelling below the first channel threshold is negligible and the plateaus remain."""
    energy = np.array([0.5, 0.99, 1.0, 1.5, 2.0, 3.999, 4.0, 6.5, 9.0, 15.9])
    t_m = channels(energy, 50.0)
    assert np.all(np.isfinite(t_m)) and np.all(t_m >= 0) and np.all(t_m <= 1 + 1e-12)
    t = t_m.sum(-1)
    assert t[0] < 1e-25  # e^{-2κL} ≈ 1e-96 in truth; |t| = |R₊ − R₋|/2 is resolved to ~1e-16 only
    assert 0.3 < t[4] < 1.0 + 1e-9


def test_threshold_values_continuous():
    """Across lead and channel thresholds T is continuous (square-root cusps at the lead thresholds)."""
    points = np.array(LEAD_THRESHOLDS[1:] + CHANNEL_THRESHOLDS)
    t = transmission(np.concatenate([points - 1e-12, points, points + 1e-12]))
    below, at, above = np.split(t, 3)
    assert np.max(np.abs(at - below)) < 1e-4 and np.max(np.abs(at - above)) < 1e-4


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gradients():
    """∂T/∂(ε, ℓ, W) at the thresholds and next to them (ℓ = 1 and 50, W = 3), and at 8 generic
    energies at ℓ = 1, W = 2.9 (so that W ± h stays below ``grid_lead_width``), in one call."""
    points = np.array(LEAD_THRESHOLDS + CHANNEL_THRESHOLDS)
    generic = np.array([0.7, 1.3, 2.2, 3.3, 4.6, 6.2, 8.1, 10.5])
    near = np.concatenate([points, points + 1e-9, points - 1e-9])
    energy = np.concatenate([near, near, generic])
    length = np.concatenate([np.full(near.size, LENGTH), np.full(near.size, 50.0), np.full(generic.size, LENGTH)])
    lead_width = np.concatenate([np.full(2 * near.size, LEAD_WIDTH), np.full(generic.size, 2.9)])
    return gradient(energy, length, lead_width), generic


def test_gradients_finite_at_and_next_to_thresholds(gradients):
    grads, _ = gradients
    assert np.all(np.isfinite(grads))


def test_gradients_match_finite_differences(gradients):
    """Away from thresholds: central differences (step 1e-5) agree to 1e-5 relative."""
    grads, generic = gradients
    analytic = grads[-generic.size:]
    h = 1e-5
    e, ell, w = generic, np.full_like(generic, LENGTH), np.full_like(generic, 2.9)
    steps = [(h, 0, 0), (0, h, 0), (0, 0, h)]
    plus = [np.stack([e + de, ell + dl, w + dw]) for de, dl, dw in steps]
    minus = [np.stack([e - de, ell - dl, w - dw]) for de, dl, dw in steps]
    t = transmission(*np.concatenate(plus + minus, axis=1))
    t_plus, t_minus = np.split(t, 2)
    numeric = ((t_plus - t_minus) / (2 * h)).reshape(3, -1).T
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)


# ---------------------------------------------------------------------------
# Independent check: tight-binding lattice of the same geometry
# ---------------------------------------------------------------------------


def _lead_self_energy(energy, sites):
    """Retarded self-energies (E, n, n) of a semi-infinite hard-wall lead of n = ``sites`` sites across
    (square lattice, hopping 1, on-site 4: E = 4 − 2cos k_x − 2cos k_y) on its surface column,
    for energies (E,)."""
    j = np.arange(1, sites + 1)
    modes = np.sqrt(2.0 / (sites + 1)) * np.sin(np.outer(j, j) * np.pi / (sites + 1))
    b = 4.0 - 2.0 * np.cos(j * np.pi / (sites + 1)) - energy[:, None]  # λ + 1/λ = b, λ = e^{ik}
    root = np.sqrt(b * b - 4.0 + 0j)
    lam = np.where(np.abs(b) < 2, np.exp(1j * np.arccos(np.clip(b / 2, -1, 1))),
                   np.where(np.abs(b + root) < np.abs(b - root), b + root, b - root) / 2)
    return (modes * -lam[:, None, :]) @ modes.T


def lattice_transmission(energy, per_width, lead_ratio, length):
    """Fisher–Lee T at energies (E,) (hopping units) by recursive Green's functions, all energies at once.

    The channel is ``per_width`` − 1 sites wide (hard walls on the missing sites: width 2w =
    ``per_width`` a), the leads ``lead_ratio·per_width`` − 1, centred; the channel has
    ``length·per_width`` + 1 columns, so the walls of the two leads are ℓ·2w apart.
    """
    energy = np.asarray(energy, dtype=float)
    n_c, n_l = per_width - 1, lead_ratio * per_width - 1
    columns = int(round(length * per_width)) + 1
    h_c = 4.0 * np.eye(n_c) - np.eye(n_c, k=1) - np.eye(n_c, k=-1)
    h_l = 4.0 * np.eye(n_l) - np.eye(n_l, k=1) - np.eye(n_l, k=-1)
    rows = (n_l - n_c) // 2 + np.arange(n_c)  # lead sites facing the channel (hopping −1 to them)
    sigma = _lead_self_energy(energy, n_l)
    z_c, z_l = energy[:, None, None] * np.eye(n_c), energy[:, None, None] * np.eye(n_l)
    # every hop between neighbouring columns (lead ↔ channel on the facing sites, channel ↔ channel) is −1
    g = np.linalg.inv(z_l - h_l - sigma)  # left lead's surface column
    g_first_last = -g[:, :, rows]  # G(lead column, ·) times the hop to the next column
    g = g[:, rows[:, None], rows]  # self-energy of the first channel column
    for _ in range(columns):
        g = np.linalg.inv(z_c - h_c - g)  # this column with everything to its left
        g_first_last = -(g_first_last @ g)
    inner = z_l - h_l - sigma  # right lead's surface column with everything to its left
    inner[:, rows[:, None], rows] -= g
    g_lr = g_first_last @ np.linalg.inv(inner)[:, rows, :]
    gamma = 1j * (sigma - np.conj(np.swapaxes(sigma, -1, -2)))
    product = gamma @ g_lr @ gamma @ np.conj(np.swapaxes(g_lr, -1, -2))
    return np.real(np.trace(product, axis1=-2, axis2=-1))


def lattice_continuum_limit(energies, widths, lead_ratio=2, length=1.0):
    """Richardson extrapolation (error ∝ a²) of the lattice T at 2w = ``widths`` (a, a/2), energies in E1.

    On the lattice E1 = t(πa/2w)²; energies are measured from the bottom of the infinite lattice's
    band (E = 0), the potential floor of the continuum model, so both count from the same level
    (the lowest lead subband, 2t(1 − cos(πa/W_lead)) on the lattice, (1/W)² E1 in the continuum,
    differ by O(a²), removed by the extrapolation).
    """
    coarse, fine = (lattice_transmission(energies * (math.pi / n) ** 2, n, lead_ratio, length) for n in widths)
    return (4.0 * fine - coarse) / 3.0


def _lattice_check(energies, widths):
    lattice = lattice_continuum_limit(energies, widths=widths)
    exact = transmission(energies, 1.0, 2.0)
    difference = np.max(np.abs(lattice - exact))
    print(f"\nmax |T(lattice 2w = {widths[0]}a, {widths[1]}a, extrapolated) - T(mode matching)| "
          f"at ℓ = 1, W = 2, {energies.size} energies: {difference:.1e}")
    assert difference < 1e-2
    return difference


def test_lattice_agrees():
    """Five energies away from thresholds (ℓ = 1, W = 2), lattices 2w = 20a and 40a."""
    _lattice_check(np.array([0.9, 2.0, 4.3, 7.0, 9.7]), (20, 40))


@pytest.mark.slow
def test_lattice_agrees_dense():
    energies = np.linspace(0.5, 10.0, 39)
    thresholds = np.array([(m / 2.0) ** 2 for m in range(1, 7)] + [9.0])
    energies = energies[np.min(np.abs(energies[:, None] - thresholds), axis=1) > 0.05]
    _lattice_check(energies, (40, 80))


# ---------------------------------------------------------------------------
# Transport, AbruptQPC, grid
# ---------------------------------------------------------------------------


def test_transport_and_quadrature():
    """One ``transport`` call: P_L + P_R = V·I, and I against Gauss–Legendre quadrature of T split at the knots."""
    model = ModeMatchedQPC(LENGTH, LEAD_WIDTH)
    mu = np.array([1.0, 2.3, 4.1, 6.0])
    bias = 0.3
    r = jaxqpc.transport(model, mu, bias, 0.0)
    np.testing.assert_allclose(np.asarray(r.power_left + r.power_right), bias * np.asarray(r.current),
                               atol=1e-15)
    x, w = np.polynomial.legendre.leggauss(24)
    knots = np.asarray(model._grid.knots)
    energies, weights = [], []
    for m0 in mu:
        edges = np.concatenate([[m0 - bias / 2], knots[(knots > m0 - bias / 2) & (knots < m0 + bias / 2)],
                                [m0 + bias / 2]])
        a, b = edges[:-1, None], edges[1:, None]
        # ε = a + (c − a)u² and b − (b − c)u² on the two halves (c the middle) absorb the square-root cusps
        u, wu = 0.5 * (x + 1.0), w * (0.5 * (x + 1.0))
        half = 0.5 * (b - a)
        energies.append(np.concatenate([a + half * u**2, b - half * u**2], axis=-1).ravel())
        weights.append(np.concatenate([half * wu, half * wu], axis=-1).ravel())
    t = transmission(np.concatenate(energies))
    sizes = np.cumsum([len(e) for e in energies])[:-1]
    quadrature = np.array([np.sum(wk * tk) for wk, tk in zip(weights, np.split(t, sizes))])
    error = np.max(np.abs(np.asarray(r.current) - quadrature))
    print(f"\nmax |I(transport) - I(quadrature)| = {error:.1e} (2eE1/h)")
    assert error < 1e-8


def test_grid_aligned_with_thresholds():
    """Knots at 0, every lead threshold (m/3)² and channel threshold n² up to max_energy = 16."""
    grid = ModeMatchedQPC(LENGTH, LEAD_WIDTH)._grid
    expected = sorted({0.0, 16.0, *[(m / 3.0) ** 2 for m in range(1, 13)], 1.0, 4.0, 9.0})
    np.testing.assert_allclose(grid.knots, expected, atol=1e-12)
    assert np.all(np.diff(grid.edges) > 0)
    pieces, s = (np.asarray(x) for x in grid.locate(jnp.asarray(node_energies(grid)[:, 3])))
    np.testing.assert_array_equal(pieces, np.arange(grid.n_pieces))
    np.testing.assert_allclose(s, np.polynomial.chebyshev.chebpts1(8)[3], atol=1e-6)


def test_differs_from_abrupt(dense):
    """The paper's approximation (Eqs. 18–20) against the exact T of the same geometry over [0.5, 10] E1."""
    energy, t = dense
    keep = energy <= 10.0
    difference = t[keep] - np.asarray(AbruptQPC(LENGTH).transmission(energy[keep]))
    worst, rms = np.max(np.abs(difference)), np.sqrt(np.mean(difference**2))
    print(f"\nModeMatchedQPC(ℓ = 1, W = 3) - AbruptQPC(ℓ = 1): max |ΔT| = {worst:.3f}, rms = {rms:.3f}")
    assert 0.1 < worst < 0.35 and 0.03 < rms < 0.15


# ---------------------------------------------------------------------------
# Domain, constructors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("length, lead_width, match", [
    (0.0, 3.0, "length"), (-1.0, 3.0, "length"), (np.nan, 3.0, "length"),
    (1.0, 1.0, "lead_width"), (1.0, 0.5, "lead_width"), (1.0, np.inf, "lead_width"),
])
def test_invalid_parameters_raise(length, lead_width, match):
    with pytest.raises(ValueError, match=match):
        ModeMatchedQPC(length, lead_width)


def test_domain_errors():
    model = ModeMatchedQPC(LENGTH, LEAD_WIDTH)
    with pytest.raises(ValueError, match="energy"):
        model.transmission(16.5)
    with pytest.raises(ValueError, match="grid_lead_width"):
        ModeMatchedQPC(1.0, 3.5, grid_lead_width=3.0)
    with pytest.raises(ValueError, match="grid_length"):
        ModeMatchedQPC(5.0, 3.0, grid_length=1.0)
    with pytest.raises(ValueError, match="lead_width_nm"):
        ModeMatchedQPC.from_nm(40.0, 40.0, -1.0)


def test_invalid_traced_parameters_give_nan():
    """Under jit: NaN for ℓ ≤ 0, W ≤ 1, W > grid_lead_width or ε > max_energy, finite elsewhere."""
    t = channels([2.0, 2.0, 2.0, 2.0, 2.0, 17.0], [1.0, -1.0, 1.0, 1.0, 1.0, 1.0], [3.0, 3.0, 0.8, 3.5, np.nan, 3.0])
    assert np.all(np.isfinite(t[0])) and np.all(np.isnan(t[1:]))


def test_from_nm():
    model = ModeMatchedQPC.from_nm(40.0, 40.0, 120.0)
    assert float(model.length) == 1.0 and float(model.lead_width) == 3.0
    traced = jax.jit(lambda w: ModeMatchedQPC.from_nm(w, 40.0, 120.0, grid_lead_width=3.0).lead_width)
    assert np.isnan(float(traced(-40.0)))


@pytest.mark.slow
def test_hot_spot_position_runs():
    r = jaxqpc.hot_spot_position(ModeMatchedQPC(LENGTH, LEAD_WIDTH), density_cm2=2e11, mu=4.0, bias_V=4e-3,
                                 temperature_K=1.5)
    assert np.isfinite(float(r)) and float(r) > 0


def test_figure_qpc_exact(tmp_path):
    """`jaxqpc figures qpc-exact --low-res` writes qpc_exact.png; its coarse data reproduce the sign
    changes of P_A that docs/qpc-exact.md lists (found there on the full-resolution grid)."""
    from inference.cli import main
    from jaxqpc.figures import qpc_exact

    assert main(["figures", "qpc-exact", "--out", str(tmp_path), "--low-res"]) == 0
    assert (tmp_path / "qpc_exact.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = qpc_exact.exact_data("low")
    np.testing.assert_allclose(data["zeros_exact"], [1.54, 1.99, 2.79, 2.81, 4.61, 5.19, 6.39], atol=0.01)
    np.testing.assert_allclose(data["zeros_abrupt"], [1.34, 1.68, 2.49, 3.15, 4.44, 4.88, 5.83, 6.67], atol=0.01)
