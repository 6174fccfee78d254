"""Outside the domain: ValueError eagerly, NaN under jit, never a finite wrong number.

For every public function with a domain rule, and every rule:

(a) an eager call outside the domain raises a ``ValueError`` naming the
    argument (many of these are also covered, with more values, by the
    ``*_validation*``/``*bad_input*`` tests of test_counts.py, test_heating.py,
    test_hotspot.py, test_transmission.py, test_transport_accuracy.py,
    test_bremsstrahlung.py, test_expansions.py, test_units.py and
    test_sidewall.py);
(b) ``jax.jit(jax.vmap(f))`` over a batch mixing the in-domain point with the
    out-of-domain one gives the eager value for the former and NaN in every
    field for the latter (the Landauer functions are called on the whole
    batch, which they broadcast, and vmapped over models at a scalar kT);
(c) ``jax.grad`` of the valid element of that batch is finite for every
    element and argument, and for a parameter shared by all elements (the
    "double where": no NaN leaks out of the discarded elements);
(d) a value on an edge reached through arithmetic, plus round-off (1e-12
    relative), is accepted eagerly and under jit and gives the edge's value.

Each function is compiled once for all its rules: the batch holds the valid
point followed by one invalid point per rule.
"""

import concurrent.futures
import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxqpc
from jaxqpc import special

LAMBDA_F = jaxqpc.GOLD.fermi_wavelength_nm
FAST_COMPILE = {"xla_backend_optimization_level": 0}  # these programs run once: compile them fast
ROUNDOFF = 1e-12
ABRUPT = jaxqpc.AbruptQPC(1.0, n_channels=5)  # max_energy 25 E1
# small, coarse models keep the Landauer tables (and the compilations) cheap
COARSE = jaxqpc.SaddlePointQPC(omega_x=0.5, n_channels=3, max_energy=6.0, grid_step=0.2)
TABLE = jaxqpc.TabulatedTransmission(np.linspace(0.5, 10.0, 5), np.linspace(0.0, 3.0, 5) ** 1.5)
YIELD = jaxqpc.YieldTable(spectrum="eq17", t_min=250.0, t_max=5000.0, degree=16)


def _transport_model(mu, bias, omega_x):
    model = jaxqpc.SaddlePointQPC(omega_x=omega_x, n_channels=3, max_energy=6.0, grid_step=0.2)
    return jaxqpc.transport(model, mu, bias, 0.0)


def _units_transport(width_nm, mu_eV, bias_V, temperature_K):
    units = jaxqpc.QPCUnits.from_width(width_nm)
    return units.transport(COARSE, mu_eV=mu_eV, bias_V=bias_V, temperature_K=temperature_K)


def _photon_yield(temperature, peak_efficiency):
    detector = jaxqpc.DetectorResponse(peak_efficiency=peak_efficiency)
    return jaxqpc.photon_yield(temperature, detector, spectrum="closed_form")


def _photon_yield_tabulated(temperature, efficiency):
    detector = jaxqpc.TabulatedDetectorResponse(jnp.array([1000.0, 800.0, 650.0]),
                                                jnp.stack([0.3, efficiency, 0.5]))
    return jaxqpc.photon_yield(temperature, detector, spectrum="closed_form")


def _saddle_transmission(energy, omega_x):
    return jaxqpc.SaddlePointQPC(omega_x=omega_x, n_channels=3, max_energy=10.0).transmission(energy)


def _counts(power, eta, R0, Lc, h, source_voltage, series_resistance, bin_time, dark_rate,
            lattice_temperature, heat_fraction):
    return jaxqpc.photon_counts(power, eta=eta, R0=R0, Lc=Lc, h=h, source_voltage=source_voltage,
                                series_resistance=series_resistance, bin_time=bin_time,
                                dark_rate=dark_rate, lattice_temperature=lattice_temperature,
                                heat_fraction=heat_fraction, spectrum=YIELD)


def _counts_conductance(conductance, eta, R0, peak_efficiency):
    return jaxqpc.photon_counts_from_conductance(
        conductance, eta=eta, R0=R0, Lc=0.5, h=1.0, source_voltage=0.3, bin_time=1.0,
        series_resistance=200.0, spectrum="closed_form",
        detector=jaxqpc.DetectorResponse(peak_efficiency=peak_efficiency))


# name: (function of scalar keyword arguments, valid point, [(rule, changes, eager error pattern)])
FUNCTIONS = {
    "peak_temperature": (
        lambda **k: jaxqpc.peak_temperature(**k),
        dict(n_channels=4.0, R0=1.04, Lc=0.13, h=1.0, contact_voltage=0.61, lattice_temperature=300.0,
             L0=50.0, heat_fraction=0.8),
        [("zeta>1", dict(R0=0.1), "`n_channels`"),
         ("n_channels<=0", dict(n_channels=-1.0), "`n_channels`"),
         ("R0<=0", dict(R0=0.0), "`R0`"),
         ("Lc<=0", dict(Lc=-0.1), "`Lc`"),
         ("Lc>1.5R0", dict(Lc=2.0), "`Lc`"),
         ("h<0", dict(h=-1.0), "`h`"),
         ("h=nan", dict(h=math.nan), "`h`"),
         ("contact_voltage<=0", dict(contact_voltage=0.0), "`contact_voltage`"),
         ("lattice_temperature<0", dict(lattice_temperature=-1.0), "`lattice_temperature`"),
         ("L0<=0", dict(L0=0.0), "`L0`"),
         ("heat_fraction<=0", dict(heat_fraction=0.0), "`heat_fraction`"),
         ("heat_fraction>1", dict(heat_fraction=1.5), "`heat_fraction`")]),
    "hot_electron_T0": (
        lambda **k: jaxqpc.hot_electron_T0(**k),
        dict(contact_voltage=0.7, R0=1.0),
        [("contact_voltage<=0", dict(contact_voltage=-0.7), "`contact_voltage`"),
         ("R0<=0", dict(R0=0.0), "`R0`")]),
    "peak_heating_sum": (
        lambda **k: jaxqpc.peak_heating_sum(**k),
        dict(zeta=0.5, length_ratio=1.0, h=2.0, screening=0.1),
        [("zeta<=0", dict(zeta=0.0), "`zeta`"),
         ("zeta>1", dict(zeta=1.2), "`zeta`"),
         ("length_ratio<=0", dict(length_ratio=-1.0), "`length_ratio`"),
         ("length_ratio>1.5", dict(length_ratio=2.0), "`length_ratio`"),
         ("h<0", dict(h=-2.0), "`h`"),
         ("screening<0", dict(screening=-0.1), "`screening`")]),
    "conductance_from_power": (
        lambda **k: jaxqpc.conductance_from_power(**k),
        dict(power=1e-4, source_voltage=0.3, series_resistance=100.0),
        [("power<=0", dict(power=0.0), "`power`"),
         ("power>V^2/4R", dict(power=1e-3), "`power`"),
         ("source_voltage<=0", dict(source_voltage=-0.3), "`source_voltage`"),
         ("series_resistance<0", dict(series_resistance=-1.0), "`series_resistance`")]),
    "photon_counts": (
        _counts,
        dict(power=1e-5, eta=0.1, R0=1.0, Lc=0.5, h=1.0, source_voltage=0.3, series_resistance=200.0,
             bin_time=0.5, dark_rate=10.0, lattice_temperature=300.0, heat_fraction=1.0),
        [("power>V^2/4R", dict(power=1e-3), "`power`"),
         ("zeta>1", dict(R0=0.1, Lc=0.1), "`n_channels`"),
         ("Lc>1.5R0", dict(Lc=2.0), "`Lc`"),
         ("h<0", dict(h=-1.0), "`h`"),
         ("eta<=0", dict(eta=0.0), "`eta`"),
         ("eta>1", dict(eta=1.5), "`eta`"),
         ("source_voltage<=0", dict(source_voltage=0.0), "`source_voltage`"),
         ("series_resistance<0", dict(series_resistance=-5.0), "`series_resistance`"),
         ("bin_time<=0", dict(bin_time=0.0), "`bin_time`"),
         ("dark_rate<0", dict(dark_rate=-1.0), "`dark_rate`"),
         ("heat_fraction>1", dict(heat_fraction=2.0), "`heat_fraction`"),
         ("T_e>table", dict(lattice_temperature=6000.0), "`electron_temperature`")]),
    "photon_counts_from_conductance": (
        _counts_conductance,
        dict(conductance=2.0, eta=0.1, R0=1.0, peak_efficiency=0.65),
        [("conductance<=0", dict(conductance=0.0), "`conductance`"),
         ("zeta>1", dict(conductance=20.0), "`n_channels`"),
         ("eta>1", dict(eta=1.1), "`eta`"),
         ("peak_efficiency>1", dict(peak_efficiency=1.5), "`peak_efficiency`")]),
    "downstream_fraction": (
        lambda **k: jaxqpc.downstream_fraction(COARSE, **k),
        dict(mu=2.0, bias_V=1e-3, temperature_K=1.0, energy_unit_eV=2e-3),
        [("energy_unit_eV<=0", dict(energy_unit_eV=0.0), "`energy_unit_eV`"),
         ("bias_V<=0", dict(bias_V=-1e-3), "`bias_V`"),
         ("temperature_K<0", dict(temperature_K=-1.0), "`temperature_K`"),
         ("mu_R<0", dict(bias_V=1e-2), "μ_R"),
         ("window>max_energy", dict(mu=5.5), "max_energy")]),
    "transport": (  # broadcasting (array kT), not vmap: see BROADCAST
        lambda **k: jaxqpc.transport(COARSE, **k),
        dict(mu=2.0, bias=0.5, kT=0.02),
        [("mu=nan", dict(mu=math.nan), "`mu`"),
         ("bias<=0", dict(bias=0.0), "`bias`"),
         ("kT<0", dict(kT=-0.01), "`kT`"),
         ("mu_R<0", dict(mu=0.2), "μ_R"),
         ("window>max_energy", dict(mu=5.5), "max_energy")]),
    "transport_vmap_model": (  # vmap over models (a traced parameter) at a scalar kT
        _transport_model,
        dict(mu=2.0, bias=0.5, omega_x=0.5),
        [("omega_x<=0", dict(omega_x=-1.0), "`omega_x`"),
         ("mu_R<0", dict(mu=0.1), "μ_R")]),
    "transport_tabulated": (
        lambda **k: jaxqpc.transport(TABLE, k["mu"], 0.5, jnp.full(jnp.shape(k["mu"]), 0.02)),
        dict(mu=4.0),
        [("window<min_energy", dict(mu=0.8), "start of the tabulated"),
         ("window>max_energy", dict(mu=9.5), "max_energy")]),
    "QPCUnits.transport": (
        _units_transport,
        dict(width_nm=40.0, mu_eV=7e-3, bias_V=1e-3, temperature_K=0.5),
        [("width_nm<=0", dict(width_nm=0.0), "`width_nm`"),
         ("mu_eV=nan", dict(mu_eV=math.nan), "`mu_eV`"),
         ("bias_V<=0", dict(bias_V=0.0), "`bias_V`"),
         ("temperature_K<0", dict(temperature_K=-0.5), "`temperature_K`"),
         ("mu_R<0", dict(bias_V=5e-2), "μ_R")]),
    "QPCUnits.from_density": (
        lambda **k: jaxqpc.QPCUnits.from_density(**k).e1_eV,
        dict(density_cm2=2e11, fermi_energy_E1=4.0),
        [("density_cm2<=0", dict(density_cm2=-2e11), "`density_cm2`"),
         ("fermi_energy_E1<=0", dict(fermi_energy_E1=0.0), "`fermi_energy_E1`"),
         ("both<0", dict(density_cm2=-2e11, fermi_energy_E1=-4.0), "`density_cm2`")]),
    "QPCUnits.kT": (
        lambda **k: jaxqpc.QPCUnits(k["e1_eV"]).kT(k["temperature_K"]),
        dict(e1_eV=3.5e-3, temperature_K=1.0),
        [("e1_eV<=0", dict(e1_eV=-1.0), "`e1_eV`"),
         ("temperature_K<0", dict(temperature_K=-1.0), "`temperature_K`")]),
    "hot_spot": (
        lambda **k: jaxqpc.hot_spot(COARSE, k["mu"], k["bias"], k["kT"], a=k["a"]),
        dict(mu=2.0, bias=1.0, kT=0.04, a=0.04),
        [("mu<=0", dict(mu=-1.0), "`mu`"),
         ("bias<=0", dict(bias=0.0), "`bias`"),
         ("bias>=2mu", dict(bias=5.0), "`bias`"),
         ("kT<0", dict(kT=-0.04), "`kT`"),
         ("a<=0", dict(a=0.0), "`a`"),
         ("window>max_energy", dict(mu=5.0), "max_energy")]),
    "hot_spot_position": (
        lambda **k: jaxqpc.hot_spot_position(COARSE, **k),
        dict(density_cm2=2e11, mu=2.0, bias_V=1e-3, temperature_K=0.5, a=0.04),
        [("density_cm2<=0", dict(density_cm2=0.0), "`density_cm2`"),
         ("bias_V>=2eps_F", dict(bias_V=2e-2), "`bias_V`"),
         ("temperature_K<0", dict(temperature_K=-0.5), "`temperature_K`")]),
    "low_voltage_power": (
        lambda **k: jaxqpc.low_voltage_power(COARSE, **k),
        dict(mu=2.0, bias=0.1),
        [("mu=nan", dict(mu=math.nan), "`mu`"),
         ("mu>max_energy", dict(mu=7.0), "`mu`"),
         ("bias<=0", dict(bias=-0.1), "`bias`")]),
    "low_voltage_asymmetry": (
        lambda **k: jaxqpc.low_voltage_asymmetry(TABLE, **k),
        dict(mu=4.0, bias=0.1),
        [("mu<min_energy", dict(mu=0.2), "`mu`"),
         ("bias<=0", dict(bias=0.0), "`bias`")]),
    "low_temperature_correction": (
        lambda **k: jaxqpc.low_temperature_correction(COARSE, **k),
        dict(mu=2.0, bias=0.2, kT=0.01),
        [("mu_L>max_energy", dict(mu=5.95), "μ_L"),
         ("bias<=0", dict(bias=0.0), "`bias`"),
         ("kT<0", dict(kT=-0.01), "`kT`")]),
    "step_temperature_correction": (
        lambda **k: jaxqpc.step_temperature_correction(**k),
        dict(kT=0.01),
        [("kT<0", dict(kT=-0.01), "`kT`")]),
    "AbruptQPC.transmission": (
        lambda **k: jaxqpc.AbruptQPC(k["length"], n_channels=5, grid_length=2.0).transmission(k["energy"]),
        dict(energy=2.5, length=1.0),
        [("energy>max_energy", dict(energy=26.0), "`energy`"),
         ("energy=nan", dict(energy=math.nan), "`energy`"),
         ("length<=0", dict(length=0.0), "`length`")]),
    "AbruptQPC.from_nm": (
        lambda **k: jaxqpc.AbruptQPC.from_nm(**k, n_channels=5, grid_length=2.0).transmission(2.5),
        dict(width_nm=40.0, length_nm=40.0),
        [("width_nm<=0", dict(width_nm=0.0), "`width_nm`"),
         ("length_nm<=0", dict(length_nm=-40.0), "`length_nm`"),
         ("both<0", dict(width_nm=-40.0, length_nm=-40.0), "`width_nm`")]),
    "TabulatedTransmission.transmission": (
        lambda **k: jaxqpc.TabulatedTransmission(np.array([0.5, 1.0, 2.0]),
                                                 jnp.stack([0.0, k["value"], 1.0])).transmission(k["energy"]),
        dict(energy=1.5, value=0.5),
        [("energy<min_energy", dict(energy=0.2), "`energy`"),
         ("energy>max_energy", dict(energy=2.5), "`energy`"),
         ("values<0", dict(value=-0.5), "`values`")]),
    "SaddlePointQPC.transmission": (
        _saddle_transmission,
        dict(energy=1.5, omega_x=0.25),
        [("omega_x<=0", dict(omega_x=0.0), "`omega_x`"),
         ("energy>max_energy", dict(energy=11.0), "`energy`")]),
    "bremsstrahlung_F": (
        lambda **k: jaxqpc.bremsstrahlung_F(**k),
        dict(photon_energy=1.5, electron_temperature=2000.0, fermi_energy=5.53),
        [("photon_energy<=0", dict(photon_energy=0.0), "`photon_energy`"),
         ("electron_temperature<=0", dict(electron_temperature=-1.0), "`electron_temperature`"),
         ("fermi_energy<=0", dict(fermi_energy=0.0), "`fermi_energy`")]),
    "bremsstrahlung_spectrum": (
        lambda **k: jaxqpc.bremsstrahlung_spectrum(**k, approximation="eq17"),
        dict(photon_energy=1.5, electron_temperature=2000.0),
        [("photon_energy<=0", dict(photon_energy=-1.5), "`photon_energy`"),
         ("electron_temperature<=0", dict(electron_temperature=0.0), "`electron_temperature`")]),
    "bremsstrahlung_beta": (
        lambda **k: jaxqpc.bremsstrahlung_beta(**k),
        dict(photon_energy=1.5, fermi_energy=5.53),
        [("photon_energy<=0", dict(photon_energy=0.0), "`photon_energy`"),
         ("fermi_energy<=0", dict(fermi_energy=-1.0), "`fermi_energy`")]),
    "photon_yield": (
        _photon_yield,
        dict(temperature=2000.0, peak_efficiency=0.65),
        [("electron_temperature<=0", dict(temperature=0.0), "`electron_temperature`"),
         ("peak_efficiency>1", dict(peak_efficiency=1.2), "`peak_efficiency`")]),
    "photon_yield_tabulated_detector": (
        _photon_yield_tabulated,
        dict(temperature=2000.0, efficiency=0.6),
        [("efficiency>1", dict(efficiency=1.2), "`efficiency`"),
         ("electron_temperature=nan", dict(temperature=math.nan), "`electron_temperature`")]),
    "YieldTable": (
        lambda **k: YIELD(k["electron_temperature"]),
        dict(electron_temperature=2000.0),
        [("T<t_min", dict(electron_temperature=200.0), "`electron_temperature`"),
         ("T>t_max", dict(electron_temperature=6000.0), "`electron_temperature`")]),
    "sidewall_eigenvalues": (
        lambda **k: special.sidewall_eigenvalues(k["h"], 4),
        dict(h=2.0),
        [("h<0", dict(h=-2.0), "`h`")]),
    "sidewall_eigenvalues_squared": (
        lambda **k: special.sidewall_eigenvalues_squared(k["h"], 4),
        dict(h=2.0),
        [("h=nan", dict(h=math.nan), "`h`")]),
}

BROADCAST = {"transport", "transport_tabulated", "downstream_fraction", "QPCUnits.transport"}
"""Functions called on the whole batch (they broadcast; an array kT takes the per-point thermal
path, much cheaper to compile than vmap of the tabulated scalar-kT path)."""

RULES = [(fn, rule) for fn, (_, _, rules) in FUNCTIONS.items() for rule, _, _ in rules]


def _rule(fn, rule):
    call, good, rules = FUNCTIONS[fn]
    index, (_, changes, pattern) = next((i, r) for i, r in enumerate(rules) if r[0] == rule)
    return call, good, changes, pattern, index + 1  # row 0 of the batch is the valid point


def _batch(fn):
    """The valid point followed by one invalid point per rule, as arrays per argument."""
    _, good, rules = FUNCTIONS[fn]
    rows = [good] + [{**good, **changes} for _, changes, _ in rules]
    return {k: jnp.asarray([row[k] for row in rows], dtype=float) for k in good}


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _program(fn):
    """The traced program of one function: the outputs of every row of the batch (jit of vmap),
    and the gradient of the sum of the valid row's outputs with respect to every argument of
    every row and to a parameter ``shared`` by all rows (added to every argument; it is 0),
    which collects the backward pass of the discarded rows too (a NaN there would poison it)."""
    call = FUNCTIONS[fn][0]

    def valid_output(batch, shared):
        batch = {k: v + shared for k, v in batch.items()}
        out = call(**batch) if fn in BROADCAST else jax.vmap(lambda args: call(**args))(batch)
        return sum(jnp.sum(leaf[0]) for leaf in jax.tree.leaves(out)), out

    args = (_batch(fn), jnp.zeros(()))
    return jax.jit(jax.value_and_grad(valid_output, argnums=(0, 1), has_aux=True)).lower(*args), args


@functools.cache
def _results():
    """Every function's program, traced one by one and compiled concurrently (XLA compiles
    outside the GIL), then run once: {function: (outputs, gradients)}."""
    programs = {fn: _program(fn) for fn in FUNCTIONS}
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        executables = dict(zip(programs, pool.map(lambda p: p[0].compile(compiler_options=FAST_COMPILE),
                                                  programs.values())))
    results = {}
    for fn, (_, args) in programs.items():
        (_, out), (grads, grad_shared) = executables[fn](*args)
        results[fn] = out, {**grads, "(shared)": grad_shared}
    return results


def _compiled(fn):
    return _results()[fn]


@functools.cache
def _eager_valid(fn):
    call, good, _ = FUNCTIONS[fn]
    if fn in BROADCAST:  # the same (array kT) path as the batch
        return call(**{k: np.atleast_1d(v) for k, v in good.items()})
    return call(**good)


@pytest.mark.parametrize("fn, rule", RULES, ids=[f"{fn}-{rule}" for fn, rule in RULES])
def test_eager_raises_naming_the_argument(fn, rule):
    call, good, changes, pattern, _ = _rule(fn, rule)
    with pytest.raises(ValueError, match=pattern):
        call(**{**good, **changes})


@pytest.mark.parametrize("fn, rule", RULES, ids=[f"{fn}-{rule}" for fn, rule in RULES])
def test_jit_vmap_gives_nan_outside_and_the_value_inside(fn, rule):
    *_, row = _rule(fn, rule)
    got, want = _leaves(_compiled(fn)[0]), _leaves(_eager_valid(fn))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.reshape(()) if fn in BROADCAST else w  # (called there on arrays of one element)
        assert g[0].shape == w.shape, (fn, g.shape, w.shape)
        np.testing.assert_allclose(g[0], w, rtol=1e-12, atol=0)  # the valid element, every field
        assert np.all(np.isnan(g[row])), (fn, rule, g[row])  # the invalid one: NaN in every field


@pytest.mark.parametrize("fn, rule", RULES, ids=[f"{fn}-{rule}" for fn, rule in RULES])
def test_gradient_of_the_valid_element_is_finite(fn, rule):
    *_, row = _rule(fn, rule)
    grads = _compiled(fn)[1]
    assert np.isfinite(float(grads["(shared)"])), (fn, grads["(shared)"])  # a parameter of every row
    for name, g in grads.items():
        if name != "(shared)":
            g = np.asarray(g)
            assert np.all(np.isfinite(g[0])), (fn, name, g[0])
            assert np.all(np.isfinite(g[row])), (fn, rule, name, g[row])  # no NaN from the discarded row


# ---------------------------------------------------------------------------
# (d) edges reached through arithmetic: round-off past the edge is on the edge
# ---------------------------------------------------------------------------

R0_EDGE = 1.3
N_EDGE = 4.0 * R0_EDGE / LAMBDA_F  # ζ = 1
P_MAX = 0.3**2 / (4.0 * 200.0)  # V²/4R_s
G_MAX = 1.0 / (200.0 * jaxqpc.CONDUCTANCE_QUANTUM_S)  # the conductance (G0) at P_MAX

# one function (compiled once) per public function; the edge cases vary one argument each
EDGE_FUNCTIONS = {
    "peak_temperature": (lambda **k: jaxqpc.peak_temperature(**k),
                         dict(n_channels=2.0, R0=R0_EDGE, Lc=0.5, h=1.0, contact_voltage=0.6, heat_fraction=0.9)),
    "peak_heating_sum": (lambda **k: jaxqpc.peak_heating_sum(**k), dict(zeta=0.5, length_ratio=1.0, h=1.0)),
    "conductance_from_power": (lambda **k: jaxqpc.conductance_from_power(**k),
                               dict(power=1e-4, source_voltage=0.3, series_resistance=200.0)),
    "photon_counts": (lambda **k: jaxqpc.photon_counts(eta=0.1, h=1.0, source_voltage=0.3, bin_time=1.0,
                                                       spectrum=YIELD, **k),
                      dict(power=1e-5, R0=R0_EDGE, Lc=0.5, series_resistance=0.0)),
    "transport": (lambda **k: jaxqpc.transport(COARSE, k["mu"], 0.5, 0.0), dict(mu=2.0)),
    "AbruptQPC.transmission": (lambda **k: ABRUPT.transmission(k["energy"]), dict(energy=2.0)),
    "TabulatedTransmission.transmission": (lambda **k: TABLE.transmission(k["energy"]), dict(energy=2.0)),
    "YieldTable": (lambda **k: YIELD(k["t"]), dict(t=1000.0)),
    "hot_spot": (lambda **k: jaxqpc.hot_spot(COARSE, k["mu"], 1.0, 0.0), dict(mu=2.0)),
}

UPPER, LOWER = +1, -1  # the side of the domain an edge bounds
EDGES = {  # case: (function, argument, its value on the edge, side, other arguments changed)
    "zeta=1": ("peak_temperature", "n_channels", N_EDGE, UPPER, {}),
    "Lc=1.5R0": ("peak_temperature", "Lc", 1.5 * R0_EDGE, UPPER, {}),
    "heat_fraction=1": ("peak_temperature", "heat_fraction", 1.0, UPPER, {}),
    "peak_heating_sum zeta=1": ("peak_heating_sum", "zeta", 1.0, UPPER, {}),
    "peak_heating_sum ell=1.5": ("peak_heating_sum", "length_ratio", 1.5, UPPER, {}),
    "P=V^2/4R": ("conductance_from_power", "power", P_MAX, UPPER, {}),
    # data generated exactly at ζ = 1 (no series resistance: N = P/(V² G0))
    "photon_counts at zeta=1": ("photon_counts", "power", 0.3**2 * N_EDGE * jaxqpc.CONDUCTANCE_QUANTUM_S,
                                UPPER, {}),
    "photon_counts at P=V^2/4R": ("photon_counts", "power", P_MAX, UPPER,
                                  dict(R0=10.0 * G_MAX * LAMBDA_F, Lc=1.0, series_resistance=200.0)),
    "transport mu_R=0": ("transport", "mu", 0.25, LOWER, {}),
    "transport mu_L=max_energy": ("transport", "mu", 5.75, UPPER, {}),
    "transmission energy=max_energy": ("AbruptQPC.transmission", "energy", 25.0, UPPER, {}),
    "tabulated energy=min_energy": ("TabulatedTransmission.transmission", "energy", 0.5, LOWER, {}),
    "YieldTable T=t_max": ("YieldTable", "t", 5000.0, UPPER, {}),
    "YieldTable T=t_min": ("YieldTable", "t", 250.0, LOWER, {}),
    "hot_spot top=max_energy": ("hot_spot", "mu", 5.5, UPPER, {}),
}


@functools.cache
def _edge_jitted(fn):
    return jax.jit(EDGE_FUNCTIONS[fn][0])


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_tolerates_roundoff(name):
    fn, arg, edge, side, changes = EDGES[name]
    f, base = EDGE_FUNCTIONS[fn]
    at_edge = {**base, **changes, arg: edge}
    beyond = {**at_edge, arg: edge * (1.0 + side * ROUNDOFF)}  # outside by round-off
    want = _leaves(f(**at_edge))
    # equal to round-off: a clamped quantity is exactly on the edge; the other uses of the
    # argument (e.g. μ̄ in the powers) move with it by 1e-12 relative
    atol = 1e-9 * max(np.max(np.abs(w)) for w in want)
    for got in (_leaves(f(**beyond)), _leaves(_edge_jitted(fn)(**beyond))):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=atol)


def test_edge_tolerance_is_small():
    """Past the edge by more than the tolerance (1e-9 relative) is outside."""
    with pytest.raises(ValueError, match="n_channels"):
        jaxqpc.peak_temperature(4.0 * 1.3 / LAMBDA_F * (1 + 1e-8), R0=1.3, Lc=0.5, h=1.0, contact_voltage=0.6)
    with pytest.raises(ValueError, match="power"):
        jaxqpc.conductance_from_power(0.3**2 / 800.0 * (1 + 1e-8), 0.3, 200.0)
