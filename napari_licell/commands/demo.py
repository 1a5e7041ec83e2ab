"""``napari-licell demo --out DIR``: write the built-in demo study in the project's file formats.

Each cell gets its 16-bit scan (ImageJ TIFF with the voxel size), its
ground-truth labels, its voltage curve as CSV, and one study file lists
them all, so every reader of the tool can be tried on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "write_demo_study"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write the built-in synthetic demo study (scans, labels, voltage CSVs, study file)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write the study into")
    p.add_argument("--no-cache", action="store_true", help="regenerate the cells instead of using the cache")
    p.set_defaults(func=_run)


def write_demo_study(out: Path, use_cache: bool = True) -> Path:
    """Write the demo study into ``out``; returns the study file's path."""
    from ..io.writers import write_labels_tiff, write_table_csv, write_volume_tiff
    from ..phantoms.demo_study import load_demo_study
    from ..study.study_file import CellRecord, ScanRecord, Study, save_study

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for cell in load_demo_study(use_cache=use_cache):
        scan_path = out / f"{cell.name}.tif"
        labels_path = out / f"{cell.name}_labels.tif"
        write_volume_tiff(scan_path, cell.image, (cell.voxel_size_um,) * 3, metadata=_plain(cell.metadata))
        write_labels_tiff(labels_path, cell.labels, (cell.voxel_size_um,) * 3)
        voltage_path = None
        if cell.voltage is not None:
            voltage_path = out / f"{cell.name}_voltage.csv"
            frame = cell.voltage.to_frame()
            write_table_csv(voltage_path, {col: frame[col].to_numpy() for col in frame.columns})
        m = cell.metadata
        scan = ScanRecord(
            path=scan_path,
            gas=cell.gas,
            gas_pressure_atm=cell.gas_pressure_atm,
            state=m.get("state", "after"),
            time_min=m.get("charge_minutes"),
            voxel_size_um=(cell.voxel_size_um,) * 3,
            labels_path=labels_path,
        )
        records.append(
            CellRecord(
                name=cell.name,
                bonding_process=m.get("process", "dummy"),
                se_pressure_mpa=m.get("se_pressure_mpa"),
                carbon_pressure_mpa=m.get("carbon_pressure_mpa"),
                stack_pressure_mpa=m.get("stack_pressure_mpa"),
                current_density_ma_cm2=m.get("current_density_ma_cm2"),
                charge_minutes=m.get("charge_minutes"),
                scans=[scan],
                voltage_file=voltage_path,
                notes=m.get("process_description", "Li + carbon dummy cell" if m.get("dummy_cell") else ""),
            )
        )
    study_path = out / "demo_study.licell.yaml"
    save_study(Study(name="napari-licell demo study (synthetic)", cells=records), study_path)
    return study_path


def _plain(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool)) or v is None}


def _run(args: argparse.Namespace) -> int:
    path = write_demo_study(args.out, use_cache=not args.no_cache)
    print(f"demo study written: {path}")
    return 0
