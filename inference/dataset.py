"""The measured (or simulated) photon-count data every fitter consumes."""

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["Dataset"]


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
    """

    power: jax.Array
    counts: jax.Array
    bin_time: jax.Array
    detector: jax.Array
    source_voltage: float = eqx.field(static=True)
    series_resistance: float = eqx.field(static=True)
    dark_rate: tuple = eqx.field(static=True)
    lattice_temperature: float = eqx.field(static=True, default=300.0)

    @property
    def n_rows(self):
        return self.power.shape[-1]

    @property
    def dark_rate_per_row(self):
        """Dark-count rate (s⁻¹) of each row's detector."""
        return jnp.asarray(self.dark_rate)[self.detector]
