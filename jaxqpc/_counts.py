"""Detected photon counts of an atomic contact vs dissipated power (Buret et al. 2020).

Chain: circuit → contact voltage V_c and channel number N = G/G0 → peak
electron temperature T_e (Eqs. 2–5) → detected Bremsstrahlung photon rate per
area (Eqs. 14–20) → counts per time bin

    counts = t_bin (η S Y(T_e) + dark_rate),   S = π R0² + 2π R0 Lc.

The circuit is a source voltage V_s in series with a resistance R_s and the
contact (conductance G): P = V_c² G with V_c = V_s/(1 + R_s G). For a given P
two conductances are possible when R_s > 0; the branch with the contact
resistance above the series one (G < 1/R_s, where most of the voltage drops on
the contact, as in the experiment) is used. No conductance gives
P > V_s²/(4R_s).

Heat input: the paper deposits the whole P at the drain end (``heat_fraction``
= 1, default). Landauer–Büttiker says the drain side receives P_R only; pass
``heat_fraction`` = P_R/P from :func:`downstream_fraction` for a transmission
model of the contact (1/2 for an energy-independent transmission), or from
:func:`drain_heat_fraction` per data point (conductance and contact voltage).
Θ = T_e² − T_L² is proportional to the heat flux, so it scales with the fraction.

Outside the domain (P > V_s²/4R_s, ζ > 1, Lc > 1.5 R0, η ∉ (0, 1], …):
ValueError eagerly (naming the argument), NaN under jit. Data generated exactly
on an edge (P = V_s²/4R_s, ζ = 1, …) are accepted up to round-off (1e-9
relative) and evaluated on the edge.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ._bremsstrahlung import (
    DetectorResponse,
    YieldTable,
    _photon_yield_unchecked,
    _yield_rules,
)
from ._constants import BOLTZMANN_EV_K, ELEMENTARY_CHARGE_C, PLANCK_J_S
from ._heating import _peak_domain, _peak_temperature
from ._landauer import transport
from ._materials import GOLD
from ._transmission import SaddlePointQPC
from ._validate import (
    arrays,
    check_at_most,
    check_nonnegative,
    check_positive,
    check_range_open,
    checked,
    clamp_to_edge,
    nan_outside,
    substitute,
)

__all__ = [
    "CONDUCTANCE_QUANTUM_S",
    "contact_voltage",
    "conductance_from_power",
    "radiating_area_nm2",
    "photon_counts",
    "photon_counts_from_conductance",
    "downstream_fraction",
    "drain_heat_fraction",
    "SADDLE_SPACING_EV",
]

CONDUCTANCE_QUANTUM_S = 2.0 * ELEMENTARY_CHARGE_C**2 / PLANCK_J_S
"""G0 = 2e²/h in siemens (7.748e-5 S)."""


def conductance_from_power(power, source_voltage, series_resistance=0.0):
    """Contact conductance G (units of G0) that dissipates ``power`` (W) in the circuit.

    Solves P = V_s² G/(1 + R_s G)² on the branch G < 1/R_s (contact resistance
    above the series one). ``source_voltage`` in V, ``series_resistance`` in Ω.
    P above the maximum V_s²/(4R_s): ValueError eagerly, NaN under jit; P past
    it by round-off (1e-9 relative) is on the edge, G = 1/R_s.
    """
    ok_p, p = checked(check_positive("power", power), power, 1e-6)
    ok_v, v = checked(check_positive("source_voltage", source_voltage), source_voltage, 1.0)
    ok_r, r = checked(check_nonnegative("series_resistance", series_resistance), series_resistance, 0.0)
    ok_limit = _power_limit_rule(p, v, r)
    ok = ok_p & ok_v & ok_r & ok_limit
    return nan_outside(ok, _conductance(p, v, r, ok_limit))


@jax.jit
def _conductance(p, v, r, inside):
    """The branch G < 1/R_s of P = V² G/(1 + R G)² in G0, P clamped onto V²/4R; ``inside``: the
    mask of P ≤ V²/4R (elsewhere a stand-in discriminant). Compiled as one program, so that an
    eager call on data costs one dispatch, not one per operation."""
    p, v, r = (jnp.asarray(x, dtype=float) for x in (p, v, r))
    p = clamp_to_edge(p, hi=_max_power(v, r, jnp))  # onto the edge: round-off, or outside (NaN after)
    v2 = v * v
    # outside, √ at 0 would give an infinite derivative (0 · ∞ = NaN)
    disc = jnp.where(inside, jnp.maximum(v2 - 4.0 * p * r, 0.0), 1.0)
    g = 2.0 * p / ((v2 - 2.0 * p * r) + v * jnp.sqrt(disc))
    return g / CONDUCTANCE_QUANTUM_S


def _max_power(v, r, xp):
    """V_s²/(4R_s), +inf for R_s = 0."""
    positive = r > 0
    return xp.where(positive, v * v / (4.0 * xp.where(positive, r, 1.0)), xp.inf)


def _power_limit_rule(power, source_voltage, series_resistance):
    p, v, r = arrays(power, source_voltage, series_resistance)
    xp = jnp if isinstance(p, jnp.ndarray) else np
    limit = _max_power(v, r, xp)
    return check_at_most(p, limit, lambda bad: (
        "`power`: no contact conductance dissipates this much with `source_voltage` "
        f"{np.max(v):g} V and `series_resistance` {np.max(r):g} Ω (maximum V²/4R = "
        f"{np.min(limit):g} W)"))


def contact_voltage(conductance, source_voltage, series_resistance=0.0):
    """Voltage across the contact V_c = V_s/(1 + R_s G) (V); ``conductance`` in G0."""
    g = jnp.asarray(conductance, dtype=float) * CONDUCTANCE_QUANTUM_S
    return jnp.asarray(source_voltage, dtype=float) / (1.0 + jnp.asarray(series_resistance) * g)


def radiating_area_nm2(R0, Lc):
    """S = π R0² + 2π R0 Lc (nm²): the end disk and side wall of the hot cylinder.

    4.25e-14 cm² (4.25 nm²) for R0 = 2λF, Lc = λF/4, λF = 0.52 nm; the paper
    prints 4.84e-14 cm², not reproducible with its own numbers
    (``docs/errata-buret2020.md``).
    """
    R0 = jnp.asarray(R0, dtype=float)
    return math.pi * R0 * R0 + 2.0 * math.pi * R0 * jnp.asarray(Lc, dtype=float)


def photon_counts_from_conductance(conductance, *, eta, R0, Lc, h, source_voltage, bin_time,
                                   series_resistance=0.0, dark_rate=0.0, spectrum="exact",
                                   detector=None, material=GOLD, lattice_temperature=300.0,
                                   L0=jnp.inf, heat_fraction=1.0):
    """Expected counts per time bin for a contact of conductance ``conductance`` (units of G0).

    Args:
        conductance: G/G0 = N (real, > 0); r_N = N λF/4 must not exceed R0.
        eta: overall detection efficiency η ∈ (0, 1].
        R0, Lc: radius and length of the hot interconnection cylinder (nm).
        h: side-wall exchange parameter ∈ [0, ∞].
        source_voltage: V_s (V). series_resistance: R_s (Ω).
        bin_time: counting time per bin (s). dark_rate: dark counts (s⁻¹), ≥ 0.
        spectrum: ``"exact"`` (Eq. 15), ``"eq17"`` or ``"closed_form"``
            (6.13·10²² ζ² e^{−1/ζ} cm⁻² s⁻¹), see :func:`photon_yield`; or a
            prebuilt :class:`YieldTable` (same values to ~1e-12, ~100× faster:
            use it in fits; it fixes the detector and the metal).
        detector: detector response (default: Eq. 20, 1070/740/600 nm, 0.65).
        material, lattice_temperature (K), L0 (nm): see :func:`peak_temperature`.
        heat_fraction: share of the power deposited at the drain (1 = the paper;
            see :func:`downstream_fraction`), in (0, 1].
    Returns:
        Expected counts per bin (float array; the Poisson mean).

    Outside the domain of any argument (including ζ = NλF/(4R0) ≤ 1,
    Lc ≤ 1.5 R0 and, for a :class:`YieldTable`, T_e within its range):
    ValueError eagerly, NaN under jit. Edges tolerate round-off (1e-9 relative).
    """
    detector = DetectorResponse() if detector is None else detector
    # double where: each argument's own stand-in where its own rule fails (shapes kept: scalar
    # parameters stay scalars); ζ and Lc/R0 are clamped onto their edges in _peak_temperature
    ok, conductance = checked(check_positive("conductance", conductance), conductance, 1.0)
    ok_c, (eta, source_voltage, series_resistance, bin_time, dark_rate) = _circuit_domain(
        eta, source_voltage, series_resistance, bin_time, dark_rate)
    v_contact = contact_voltage(conductance, source_voltage, series_resistance)
    ok_p, (conductance, R0, Lc, h, v_contact, lattice_temperature, L0, heat_fraction) = _peak_domain(
        conductance, R0, Lc, h, v_contact, material, lattice_temperature, L0, heat_fraction)
    ok = ok & ok_c & ok_p
    table = isinstance(spectrum, YieldTable)
    if not table:
        ok_detector = _yield_rules(spectrum, detector, material.fermi_energy_eV)
        ok &= ok_detector
        detector = detector._safe(ok_detector)
    te = _peak_temperature(conductance, R0, Lc, h, v_contact, material, lattice_temperature, L0,
                           heat_fraction)
    if table:
        ok_t = spectrum._rules(te)  # T_e within the table's range
        (te,) = substitute(ok_t, (te, spectrum._safe_temperature()))
        ok &= ok_t
        rate = spectrum._evaluate(te)
    else:
        rate = _photon_yield_unchecked(te, detector, material.fermi_energy_eV, spectrum)
    area_m2 = radiating_area_nm2(R0, Lc) * 1e-18
    eta = jnp.asarray(eta, dtype=float)
    counts = jnp.asarray(bin_time, dtype=float) * (eta * area_m2 * rate + jnp.asarray(dark_rate, dtype=float))
    return nan_outside(ok, counts)


def photon_counts(power, *, eta, R0, Lc, h, source_voltage, bin_time, series_resistance=0.0,
                  dark_rate=0.0, **kwargs):
    """Expected counts per time bin vs the power dissipated in the contact ``power`` (W).

    The conductance follows from the circuit (:func:`conductance_from_power`);
    all other arguments as :func:`photon_counts_from_conductance`. Differentiable
    in every parameter; broadcasts over data points and parameter batches.
    Outside the domain (P > V_s²/4R_s and the domain of
    :func:`photon_counts_from_conductance`): ValueError eagerly, NaN under jit.
    """
    g = conductance_from_power(power, source_voltage, series_resistance)
    return photon_counts_from_conductance(
        g, eta=eta, R0=R0, Lc=Lc, h=h, source_voltage=source_voltage, bin_time=bin_time,
        series_resistance=series_resistance, dark_rate=dark_rate, **kwargs)


def _circuit_domain(eta, source_voltage, series_resistance, bin_time, dark_rate):
    """(mask, the arguments with their own stand-ins where their own rules fail)."""
    ok_e, eta = checked(check_range_open("eta", eta, 0.0, 1.0), eta, 0.5)
    ok_v, source_voltage = checked(check_positive("source_voltage", source_voltage), source_voltage, 1.0)
    ok_r, series_resistance = checked(check_nonnegative("series_resistance", series_resistance),
                                      series_resistance, 0.0)
    ok_b, bin_time = checked(check_positive("bin_time", bin_time), bin_time, 1.0)
    ok_d, dark_rate = checked(check_nonnegative("dark_rate", dark_rate), dark_rate, 0.0)
    return ok_e & ok_v & ok_r & ok_b & ok_d, (eta, source_voltage, series_resistance, bin_time, dark_rate)


def downstream_fraction(model, *, mu, bias_V, temperature_K, energy_unit_eV):
    """P_R/(P_L + P_R): the share of the dissipated power released on the drain side.

    Landauer–Büttiker (Blaas-Anselmi et al. 2022, Eqs. 2–5) for a transmission
    ``model`` of the contact whose energies are in units of ``energy_unit_eV``
    (eV), measured from the band bottom; ``mu`` = μ̄ in those units.
    1/2 for an energy-independent transmission; above 1/2 when T(ε) rises across
    the bias window. Differentiable in the model's parameters and all arguments.
    Outside the domain (also that of :func:`jaxqpc.transport` for the converted
    arguments): ValueError eagerly, NaN under jit.
    """
    ok_unit = check_positive("energy_unit_eV", energy_unit_eV)
    ok_bias = check_positive("bias_V", bias_V)
    ok_t = check_nonnegative("temperature_K", temperature_K)
    # each argument replaced by its own rule's mask (a scalar temperature stays scalar);
    # transport's rules give NaN through its result, which is only divided by itself here
    (unit,) = substitute(ok_unit, (energy_unit_eV, 1.0))
    (bias_V,) = substitute(ok_bias, (bias_V, 1.0))
    (temperature_K,) = substitute(ok_t, (temperature_K, 0.0))
    unit = jnp.asarray(unit, dtype=float)
    r = transport(model, mu, jnp.asarray(bias_V, dtype=float) / unit,
                  BOLTZMANN_EV_K * jnp.asarray(temperature_K, dtype=float) / unit)
    return nan_outside(ok_unit & ok_bias & ok_t, r.power_right / (r.power_left + r.power_right))


SADDLE_SPACING_EV = 0.125
"""ħω_x = ħω_y (eV) of the ``"saddle"`` contact of :func:`drain_heat_fraction`."""
_SADDLE_CHANNELS = 24
_SADDLE_MAX_ENERGY_EV = 8.0
_SADDLE_MAX_CONDUCTANCE = _SADDLE_CHANNELS // 2
_BLOCK = 32
_WINDOW_MARGIN_EV = 1.0  # ≥ 36 k_BT up to 320 K beyond μ_L: the thermal window inside the grid


def drain_heat_fraction(conductance, contact_voltage, *, transmission="constant", lattice_temperature=300.0,
                        material=GOLD):
    """P_R/P per data point: the Landauer share of a contact's power released on the drain side.

    The whole pipeline transmission → power split → T_e → photons for an atomic
    contact of conductance N = G/G0 carrying the voltage V_c, both leads at the
    lattice temperature, μ̄ at the Fermi energy of ``material``
    (:func:`downstream_fraction`, Blaas-Anselmi et al. 2022 Eqs. 2–5). Pass the
    result as ``heat_fraction`` to :func:`photon_counts`.

    Args:
        conductance: N = G/G0 (> 0), any shape.
        contact_voltage: V_c (V, > 0), broadcast with ``conductance``.
        transmission:
            ``"constant"``: T(ε) = N at every energy; P_R/P = 1/2 exactly
            (particle–hole symmetry: returned as such; the Landauer integrals
            give it to 1e-9, tests/test_counts.py).
            ``"saddle"``: a saddle-point constriction with ħω_x = ħω_y =
            :data:`SADDLE_SPACING_EV` eV whose thresholds are placed so that
            T(ε_F) = N (N thresholds below ε_F); T rises across the window, so
            P_R/P > 1/2 (0.78 at N = 1, V_c = 0.68 V). An illustrative strong
            energy dependence, not a model of gold; needs N ≤ 12 and
            V_c ≤ 2(8 − ε_F − 1) V.
            a transmission model (``jaxqpc.TabulatedTransmission``,
            ``SaddlePointQPC``, …) with energies in eV from the band bottom:
            the same T(ε) for every point.
        lattice_temperature: T_L (K, ≥ 0). material: a :class:`Metal` (its ε_F).
    Returns:
        P_R/P, the broadcast shape of ``conductance`` and ``contact_voltage``.

    Docs: ``docs/emission.md`` (Heat input). Outside the domain: ValueError
    eagerly, NaN under jit.
    """
    ok_n, n = checked(check_positive("conductance", conductance), conductance, 1.0)
    ok_v, v = checked(check_positive("contact_voltage", contact_voltage), contact_voltage, 0.1)
    ok = ok_n & ok_v
    ef = material.fermi_energy_eV
    n, v = jnp.broadcast_arrays(jnp.asarray(n, dtype=float), jnp.asarray(v, dtype=float))
    kind = transmission if isinstance(transmission, str) else "model"
    if kind not in ("constant", "saddle", "model"):
        raise ValueError(f"`transmission` must be 'constant', 'saddle' or a transmission model, "
                         f"got {transmission!r}")
    if kind == "saddle":
        ok &= check_at_most(conductance, float(_SADDLE_MAX_CONDUCTANCE), lambda bad: (
            f"`conductance`: the 'saddle' contact has {_SADDLE_CHANNELS} channels and needs N <= "
            f"{_SADDLE_MAX_CONDUCTANCE}, got {np.max(bad):g}"))
        ok &= check_at_most(contact_voltage, 2.0 * (_SADDLE_MAX_ENERGY_EV - ef - _WINDOW_MARGIN_EV),
                            lambda bad: f"`contact_voltage`: the bias window leaves the 'saddle' "
                                        f"contact's energy grid, got {np.max(bad):g} V")
        n, v = substitute(ok, (n, 1.0), (v, 0.1))
    if kind == "constant":  # exactly 1/2 at any N, V_c and T (docs/fitting.md, Heat input): no integral
        return nan_outside(ok, jnp.full(n.shape, 0.5))

    def one(n_i, v_i):
        if kind == "saddle":  # E_k = v0 + ħω_y(k − ½), v0 = ε_F − N ħω_y: T(ε_F) = N
            model = SaddlePointQPC(omega_x=SADDLE_SPACING_EV, omega_y=SADDLE_SPACING_EV,
                                   v0=ef - SADDLE_SPACING_EV * n_i, n_channels=_SADDLE_CHANNELS,
                                   max_energy=_SADDLE_MAX_ENERGY_EV, grid_step=0.5 * SADDLE_SPACING_EV)
        else:
            model = transmission
        return downstream_fraction(model, mu=ef, bias_V=v_i, temperature_K=lattice_temperature,
                                   energy_unit_eV=1.0)

    shape = n.shape
    # in blocks: one transport table per point (a saddle's is ~10 MB), so memory stays bounded
    fraction = jax.lax.map(lambda x: one(*x), (n.reshape(-1), v.reshape(-1)), batch_size=_BLOCK).reshape(shape)
    return nan_outside(ok, fraction)
