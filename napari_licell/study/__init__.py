"""Studies: cells, their build and charge parameters and their CT scans, saved as YAML (Qt-free)."""

from .study_file import (
    BONDING_PROCESSES,
    GASES,
    SCAN_STATES,
    SCHEMA_VERSION,
    STUDY_SUFFIX,
    CellRecord,
    ScanRecord,
    Study,
    load_study,
    save_study,
    study_from_dict,
    study_to_dict,
)

__all__ = [
    "BONDING_PROCESSES",
    "GASES",
    "SCAN_STATES",
    "SCHEMA_VERSION",
    "STUDY_SUFFIX",
    "CellRecord",
    "ScanRecord",
    "Study",
    "load_study",
    "save_study",
    "study_from_dict",
    "study_to_dict",
]
