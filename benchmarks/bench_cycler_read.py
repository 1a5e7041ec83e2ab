"""Benchmark: reading a 250,000-point cycler file into a VoltageCurve (issue 19: under 2 s).

Files timed, each read through :func:`read_voltage_curve` (format detection,
parsing, unit conversion, the common checks), best of ``--repeat`` runs:

* the real 252,951-row Neware .ndax in ../shared/data/echem (when present);
* a 250,000-row Arbin CSV export made by repeating the rows of the real
  tests/data/cycler/arbin_example.csv with its time carried on (written to a
  temporary folder);
* the same rows as a Maccor raw file ("Test (Sec)", tab-separated, State letters);
* the real files in tests/data/cycler (xlsx, HDF5, .mpr, ...), for their points per second.

Run from the repository root::

    .venv/bin/python benchmarks/bench_cycler_read.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from napari_licell.echem.cycler_readers import read_voltage_curve

TARGET_S = 2.0
N_POINTS = 250_000
CYCLER_DATA = ROOT / "tests" / "data" / "cycler"
SHARED_NDAX = ROOT.parent / "shared" / "data" / "echem" / "neware" / "20260302_IFE_BTS85_2_9_8_1.ndax"


def _time(path: Path, repeat: int) -> tuple[float, int]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        start = time.perf_counter()
        curve = read_voltage_curve(path)
        best = min(best, time.perf_counter() - start)
        n = curve.n_points
    return best, n


def _arbin_rows(n_points: int):
    import pandas as pd

    real = pd.read_csv(CYCLER_DATA / "arbin_example.csv")
    reps = -(-n_points // len(real))
    frame = pd.concat([real] * reps, ignore_index=True).iloc[:n_points].copy()
    span = float(real["Test_Time"].iloc[-1] - real["Test_Time"].iloc[0]) + 1.0
    frame["Test_Time"] = frame["Test_Time"] + np.repeat(np.arange(reps) * span, len(real))[:n_points]
    frame["Data_Point"] = np.arange(1, n_points + 1)
    return frame


def write_arbin_csv(path: Path, n_points: int) -> None:
    _arbin_rows(n_points).to_csv(path, index=False)


def write_maccor_raw(path: Path, n_points: int) -> None:
    frame = _arbin_rows(n_points)
    state = np.where(frame["Current"] > 1e-6, "C", np.where(frame["Current"] < -1e-6, "D", "R"))
    maccor = {
        "Rec#": frame["Data_Point"],
        "Cyc#": frame["Cycle_Index"],
        "Step": frame["Step_Index"],
        "Test (Sec)": frame["Test_Time"].map("{:.4f}".format),
        "Step (Sec)": frame["Step_Time"].map("{:.4f}".format),
        "Amp-hr": frame["Charge_Capacity"],
        "Watt-hr": frame["Charge_Energy"],
        "Amps": frame["Current"].abs(),
        "Volts": frame["Voltage"],
        "State": state,
        "ES": 1,
    }
    import pandas as pd

    with open(path, "w", newline="") as handle:
        handle.write("Today's Date 10/10/2019  Date of Test:\t10/10/2019\t Filename:\tbench.052\tComment/Barcode: \r\n")
        pd.DataFrame(maccor).to_csv(handle, sep="\t", index=False, lineterminator="\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="reads per file; the best is reported")
    parser.add_argument("--points", type=int, default=N_POINTS)
    args = parser.parse_args(argv)

    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "arbin_250k.csv"
        write_arbin_csv(csv_path, args.points)
        maccor_path = Path(tmp) / "maccor_250k.052"
        write_maccor_raw(maccor_path, args.points)
        large = [("Arbin CSV (real rows repeated)", csv_path), ("Maccor raw .052 (same rows)", maccor_path)]
        if SHARED_NDAX.exists():
            large.insert(0, ("Neware .ndax (real, shared/data)", SHARED_NDAX))
        for label, path in large:
            seconds, n = _time(path, args.repeat)
            rows.append((label, n, seconds))
    for path in sorted(CYCLER_DATA.iterdir()):
        if path.suffix in (".md", ".parquet") or path.name == "SHA256SUMS":
            continue
        seconds, n = _time(path, 1)
        rows.append((path.name, n, seconds))

    print(f"{'file':48s} {'points':>9s} {'seconds':>8s} {'points/s':>10s}")
    failed = False
    for label, n, seconds in rows:
        flag = ""
        if n >= 200_000:
            flag = "  OK (< 2 s)" if seconds < TARGET_S else "  SLOW (target < 2 s)"
            failed |= seconds >= TARGET_S
        print(f"{label:48s} {n:9d} {seconds:8.3f} {n / seconds:10.0f}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
