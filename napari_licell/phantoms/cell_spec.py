"""What a synthetic cell is: bonding process, state, fill gas, charge, crop and seed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from ..physics.faraday import faraday_thickness_um

__all__ = ["BondingProcess", "CellState", "CellSpec", "PROCESS_DESCRIPTIONS", "paper_cell"]


class BondingProcess(str, Enum):
    """How the carbon interlayer was bonded to the solid electrolyte (the paper's four cells)."""

    NONE = "none"
    PROCESS1 = "process1"
    PROCESS2 = "process2"
    PROCESS3 = "process3"

    @property
    def has_interlayer(self) -> bool:
        return self is not BondingProcess.NONE

    @property
    def deposits_uniformly(self) -> bool:
        """Only simultaneous pressing (process 3) gives a flat Li layer on the collector."""
        return self is BondingProcess.PROCESS3


PROCESS_DESCRIPTIONS: dict[BondingProcess, str] = {
    BondingProcess.NONE: "No carbon interlayer; SE pressed at 400 MPa",
    BondingProcess.PROCESS1: "SE at 400 MPa, then carbon pressed weakly at 3.0 MPa",
    BondingProcess.PROCESS2: "SE at 400 MPa, then carbon pressed strongly at 400 MPa",
    BondingProcess.PROCESS3: "SE pre-pressed at 100 MPa, carbon added, both pressed at 400 MPa",
}

#: Bonding pressures (SE, carbon) in MPa per process, from the paper.
PROCESS_PRESSURES_MPA: dict[BondingProcess, tuple[float, float | None]] = {
    BondingProcess.NONE: (400.0, None),
    BondingProcess.PROCESS1: (400.0, 3.0),
    BondingProcess.PROCESS2: (400.0, 400.0),
    BondingProcess.PROCESS3: (400.0, 400.0),
}


class CellState(str, Enum):
    """Before or after plating lithium."""

    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class CellSpec:
    """Everything that determines a synthetic cell.

    Attributes
    ----------
    process : BondingProcess
        Carbon-interlayer bonding process.
    state : CellState
        Before or after charging.
    gas : str
        Fill gas, "Xe" or "Ar".
    gas_pressure_atm : float
        Fill-gas pressure in atm.
    current_density_ma_cm2 : float
        Plating current density in mA/cm2.
    charge_minutes : float
        Charge time in minutes.
    shape : tuple of int
        Crop shape (z, y, x) in voxels; z is the stack axis, z = 0 the collector side.
    voxel_size_um : float
        Cubic voxel size in micrometres.
    collector_um, carbon_um : float
        Collector and carbon-interlayer thicknesses in the crop, micrometres.
    se_porosity : float
        Volume share of gas-filled pores in the solid electrolyte.
    se_pore_radius_um : (float, float)
        Range of the pores' radii, micrometres (pores of a few voxels are all partial volume).
    tilt_deg : float
        Tilt of the layer stack about the y axis, degrees.
    seed : int
        Random seed; the same spec always gives the same cell.
    """

    process: BondingProcess = BondingProcess.PROCESS3
    state: CellState = CellState.AFTER
    gas: str = "Xe"
    gas_pressure_atm: float = 6.0
    current_density_ma_cm2: float = 0.2
    charge_minutes: float = 4000.0
    shape: tuple[int, int, int] = (300, 128, 128)
    voxel_size_um: float = 0.54
    collector_um: float = 8.0
    carbon_um: float = 8.0
    se_porosity: float = 0.015
    se_pore_radius_um: tuple[float, float] = (4.0, 7.0)
    tilt_deg: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "process", BondingProcess(self.process))
        object.__setattr__(self, "state", CellState(self.state))
        if self.gas not in ("Xe", "Ar"):
            raise ValueError(f"gas must be 'Xe' or 'Ar', not {self.gas!r}")
        if len(self.shape) != 3 or min(self.shape) < 8:
            raise ValueError("shape must be three sizes of at least 8 voxels")
        if self.voxel_size_um <= 0:
            raise ValueError("voxel size must be positive")

    @property
    def faraday_thickness_um(self) -> float:
        """Dense-Li thickness the passed charge would plate (0 before charging)."""
        if self.state is CellState.BEFORE:
            return 0.0
        return faraday_thickness_um(self.current_density_ma_cm2, self.charge_minutes)

    @property
    def name(self) -> str:
        """Short name such as ``process3_after_Xe6``."""
        return f"{self.process.value}_{self.state.value}_{self.gas}{self.gas_pressure_atm:g}"

    @property
    def se_pressure_mpa(self) -> float:
        return PROCESS_PRESSURES_MPA[self.process][0]

    @property
    def carbon_pressure_mpa(self) -> float | None:
        return PROCESS_PRESSURES_MPA[self.process][1]

    def with_(self, **changes) -> "CellSpec":
        """A copy with some fields changed."""
        return replace(self, **changes)


def paper_cell(process: BondingProcess | str, **changes) -> CellSpec:
    """The paper's cell for a process: 0.2 mA/cm2, 4000 min (3500 min without interlayer), 6 atm Xe."""
    process = BondingProcess(process)
    minutes = 3500.0 if process is BondingProcess.NONE else 4000.0
    return CellSpec(process=process, charge_minutes=minutes).with_(**changes)
