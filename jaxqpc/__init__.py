"""jaxqpc: differentiable models of heat and light at quantum and atomic point contacts.

Physics only: pure, jit/vmap/grad-able JAX functions. Fitting lives in the
separate ``inference`` package. Double precision is needed for the documented
accuracy; enable it in your program with
``jax.config.update("jax_enable_x64", True)`` (the library warns, but never flips
the global flag itself).
"""

from ._bremsstrahlung import DetectorResponse as DetectorResponse
from ._bremsstrahlung import TabulatedDetectorResponse as TabulatedDetectorResponse
from ._bremsstrahlung import YieldTable as YieldTable
from ._bremsstrahlung import bremsstrahlung_beta as bremsstrahlung_beta
from ._bremsstrahlung import bremsstrahlung_F as bremsstrahlung_F
from ._bremsstrahlung import bremsstrahlung_spectrum as bremsstrahlung_spectrum
from ._bremsstrahlung import photon_yield as photon_yield
from ._counts import CONDUCTANCE_QUANTUM_S as CONDUCTANCE_QUANTUM_S
from ._counts import conductance_from_power as conductance_from_power
from ._counts import contact_voltage as contact_voltage
from ._counts import SADDLE_SPACING_EV as SADDLE_SPACING_EV
from ._counts import downstream_fraction as downstream_fraction
from ._counts import drain_heat_fraction as drain_heat_fraction
from ._counts import photon_counts as photon_counts
from ._counts import photon_counts_from_conductance as photon_counts_from_conductance
from ._counts import radiating_area_nm2 as radiating_area_nm2
from ._expansions import PowerCorrection as PowerCorrection
from ._expansions import low_temperature_correction as low_temperature_correction
from ._expansions import low_voltage_asymmetry as low_voltage_asymmetry
from ._expansions import low_voltage_power as low_voltage_power
from ._expansions import step_temperature_correction as step_temperature_correction
from ._heating import hot_electron_T0 as hot_electron_T0
from ._heating import peak_heating_sum as peak_heating_sum
from ._heating import peak_temperature as peak_temperature
from ._hotspot import HotSpot as HotSpot
from ._hotspot import hot_spot as hot_spot
from ._hotspot import hot_spot_position as hot_spot_position
from ._landauer import THERMAL_CUTOFF as THERMAL_CUTOFF
from ._materials import GOLD as GOLD
from ._materials import Metal as Metal
from ._landauer import Transport as Transport
from ._landauer import transport as transport
from ._mode_matching import ModeMatchedQPC as ModeMatchedQPC
from ._transmission import AbruptQPC as AbruptQPC
from ._transmission import SaddlePointQPC as SaddlePointQPC
from ._transmission import TabulatedTransmission as TabulatedTransmission
from ._units import QPCUnits as QPCUnits
from ._units import fermi_energy_eV as fermi_energy_eV
from . import special as special

__version__ = "0.1.0"
