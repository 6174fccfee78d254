"""Low-voltage and low-temperature expansions of the dissipated powers.

Blaas-Anselmi et al. 2022, Secs. 2.2–2.3, in the units of :func:`jaxqpc.transport`:
energies in E1, powers in 2E1²/h (the paper's (1/h)(eV)² is T v²/2 here). These
are leading orders only: the tests show the full result converges to them with
the stated power of the bias or the temperature.

Outside the domain (bias ≤ 0, kT < 0, non-finite values, energies beyond the
model's range): ValueError eagerly, NaN under jit.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._validate import (
    arrays,
    check_finite,
    check_nonnegative,
    check_positive,
    nan_outside,
    substitute,
    warn_if_float32,
)

__all__ = [
    "PowerCorrection",
    "low_voltage_power",
    "low_voltage_asymmetry",
    "low_temperature_correction",
    "step_temperature_correction",
]


class PowerCorrection(NamedTuple):
    """Temperature corrections ΔP_L and ΔP_R (2E1²/h)."""

    left: jax.Array
    right: jax.Array


def _transmission_and_slope(model, energy):
    """T(ε) and T′(ε) = dT/dε (per E1), by forward-mode differentiation (no checks)."""
    energy = model._clamp_energy(jnp.asarray(energy, dtype=float))
    return jax.jvp(model._total, (energy,), (jnp.ones_like(energy),))


def _rules(model, mu, bias, energies):
    """Rules on (μ̄, eV) and the energies where T is evaluated; returns (ok, ok_model)."""
    ok = check_finite("mu", mu) & check_positive("bias", bias)
    for name, energy, label in energies:
        ok &= model._energy_rule(name, energy, label)
    ok_model = model._valid()
    return ok & ok_model, ok_model


def _own_rules(model, mu, bias):
    """Masks of the rules on μ̄ alone (finite, inside the model's range), eV alone and the model."""
    ok_mu = check_finite("mu", mu) & model._energy_rule("mu", mu)
    return ok_mu, check_positive("bias", bias), model._valid()


def low_voltage_power(model, mu, bias):
    """Eq. (7): P_L ≈ P_R ≈ T(μ̄) (eV)²/h, i.e. T(μ̄)·bias²/2 in 2E1²/h.

    Args: ``mu`` = μ̄ and ``bias`` = eV in E1. Returns the common leading-order
    power (2E1²/h); the error is O(bias³). Outside the domain: ValueError
    eagerly, NaN under jit.
    """
    warn_if_float32()
    ok_mu, ok_bias, ok_model = _own_rules(model, mu, bias)
    model = model._safe(ok_model)
    (mu,) = substitute(ok_mu, (mu, model._safe_energy()))  # each by its own rule: shapes kept
    (bias,) = substitute(ok_bias, (bias, 0.1))
    ok = ok_mu & ok_bias & ok_model
    t = model._total(model._clamp_energy(jnp.asarray(mu, dtype=float)))
    return nan_outside(ok, 0.5 * t * jnp.asarray(bias, dtype=float) ** 2)


def low_voltage_asymmetry(model, mu, bias):
    """Eq. (8): P_A ≈ T′(μ̄)(eV)³/(3h), i.e. T′(μ̄)·bias³/6 in 2E1²/h.

    The paper's O(bias⁴) correction comes from a bias-dependent T; the
    transmissions of this package do not depend on the bias, so the next term
    is T‴(μ̄)·bias⁵/240 (relative error O(bias²)). Outside the domain:
    ValueError eagerly, NaN under jit.
    """
    warn_if_float32()
    ok_mu, ok_bias, ok_model = _own_rules(model, mu, bias)
    model = model._safe(ok_model)
    (mu,) = substitute(ok_mu, (mu, model._safe_energy()))  # each by its own rule: shapes kept
    (bias,) = substitute(ok_bias, (bias, 0.1))
    ok = ok_mu & ok_bias & ok_model
    _, slope = _transmission_and_slope(model, mu)
    return nan_outside(ok, slope * jnp.asarray(bias, dtype=float) ** 3 / 6.0)


def low_temperature_correction(model, mu, bias, kT):
    """Eqs. (14) and (16): the leading temperature corrections at fixed bias.

    ΔP_L = −(π²/3h)[T(μ_L) − T(μ_R) + eV T′(μ_R)](k_BT)²,
    ΔP_R = +(π²/3h)[T(μ_L) − T(μ_R) + eV T′(μ_L)](k_BT)²,
    returned in 2E1²/h (prefactor π²/6). Valid for k_BT much smaller than the
    scale on which T varies; it fails where the bracket nearly cancels and
    k_BT ~ eV (``docs/errata-blaas-anselmi2022.md``). All arguments in E1.
    Outside the domain (μ_L or μ_R outside the model's energy range, …):
    ValueError eagerly, NaN under jit (both fields).
    """
    warn_if_float32()
    ok_kT = check_nonnegative("kT", kT)
    m, v = arrays(mu, bias)
    ok, ok_model = _rules(model, mu, bias, [("mu", m + 0.5 * v, "μ_L = `mu` + `bias`/2"),
                                            ("mu", m - 0.5 * v, "μ_R = `mu` - `bias`/2")])
    ok = ok & ok_kT
    model = model._safe(ok_model)
    mu, bias, kT = substitute(ok, (mu, model._safe_energy()), (bias, 0.1), (kT, 0.0))
    mu, bias, kT = (jnp.asarray(x, dtype=float) for x in (mu, bias, kT))
    t_left, slope_left = _transmission_and_slope(model, mu + 0.5 * bias)
    t_right, slope_right = _transmission_and_slope(model, mu - 0.5 * bias)
    scale = math.pi**2 / 6.0 * kT**2
    return nan_outside(ok, PowerCorrection(
        left=-scale * (t_left - t_right + bias * slope_right),
        right=scale * (t_left - t_right + bias * slope_left),
    ))


def step_temperature_correction(kT):
    """Eq. (17): ΔP_{L/R} = ∓(π²/3h)(k_BT)² for a unit conductance step between μ_R and
    μ_L (flat T at both), i.e. ∓(π²/6) kT² in 2E1²/h, independent of the bias.
    kT < 0: ValueError eagerly, NaN under jit."""
    ok = check_nonnegative("kT", kT)
    (kT,) = substitute(ok, (kT, 0.0))
    scale = math.pi**2 / 6.0 * jnp.asarray(kT, dtype=float) ** 2
    return nan_outside(ok, PowerCorrection(left=-scale, right=scale))
