"""The measured (or simulated) photon-count data every fitter consumes."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

import jaxqpc

__all__ = ["Dataset", "HEAT_INPUTS"]

HEAT_INPUTS = ("drain", "landauer")
"""The heat-input models of a fit: all of P heats the drain (the paper), or the Landauer share P_R."""


class Dataset(eqx.Module):
    """Photon counts vs dissipated power, one row per time bin (or group of bins).

    Efficiency convention: the fitted η is the combined detection efficiency of
    all detectors, split equally between them, so each row's expected counts use
    η / (number of detectors) with ``len(dark_rate)`` detectors.

    Arrays (one entry per row; a PyTree, so batches of datasets stack and vmap):
        power: power dissipated in the contact (W), > 0.
        counts: detected photon counts in the row (integers stored as floats), ≥ 0.
        bin_time: counting time of the row (s), > 0.
        detector: detector index of the row (0, 1, …; several APDs).
    Experiment metadata (static):
        source_voltage: V_s (V). series_resistance: R_s (Ω).
        dark_rate: dark-count rate per detector (s⁻¹), a tuple with one entry per detector.
        lattice_temperature: T_L (K).
    The model's heat input (an array, one entry per row, or None):
        heat_fraction: share of the row's power that heats the drain, in (0, 1]
            (``heat_fraction`` of :func:`jaxqpc.photon_counts`); None: all of
            it (the paper). Set by :meth:`with_heat_input`.
    """

    power: jax.Array
    counts: jax.Array
    bin_time: jax.Array
    detector: jax.Array
    source_voltage: float = eqx.field(static=True)
    series_resistance: float = eqx.field(static=True)
    dark_rate: tuple = eqx.field(static=True)
    lattice_temperature: float = eqx.field(static=True, default=300.0)
    heat_fraction: jax.Array | None = None

    @property
    def n_rows(self):
        return self.power.shape[-1]

    @property
    def dark_rate_per_row(self):
        """Dark-count rate (s⁻¹) of each row's detector."""
        return jnp.asarray(self.dark_rate)[self.detector]

    def with_heat_input(self, heat_input, transmission="constant"):
        """This dataset with the heat input of the fit's model chosen (a new Dataset).

        Args:
            heat_input: ``"drain"``: all of the dissipated power heats the drain
                (Buret et al. 2020, the default of every fit); ``"landauer"``: only
                the Landauer downstream share P_R/P of each row
                (:func:`jaxqpc.drain_heat_fraction`, from the row's conductance
                and contact voltage, which the circuit fixes).
            transmission: for ``"landauer"``: ``"constant"`` (P_R/P = 1/2),
                ``"saddle"`` or a transmission model (energies in eV from the band
                bottom); see :func:`jaxqpc.drain_heat_fraction`.

        Docs: ``docs/fitting.md`` (Heat input).
        """
        if heat_input not in HEAT_INPUTS:
            raise ValueError(f"`heat_input` must be one of {HEAT_INPUTS}, got {heat_input!r}")
        fraction = None
        if heat_input == "landauer":
            g = jaxqpc.conductance_from_power(self.power, self.source_voltage, self.series_resistance)
            v = jaxqpc.contact_voltage(g, self.source_voltage, self.series_resistance)
            fraction = jaxqpc.drain_heat_fraction(g, v, transmission=transmission,
                                                  lattice_temperature=self.lattice_temperature)
        return dataclasses.replace(self, heat_fraction=fraction)
