"""Benchmark: reading a 250,000-point cycler file into a VoltageCurve (issue 19: under 2 s).

Files timed, each read through :func:`read_voltage_curve` (format detection,
parsing, unit conversion, the common checks), best of ``--repeat`` runs:

* the real 252,951-row Neware .ndax in ../shared/data/echem (when present);
* a 250,000-row Arbin CSV export made by repeating the rows of the real
  tests/data/cycler/arbin_example.csv with its time carried on (written to a
  temporary folder);
* the same rows as a Maccor raw file ("Test (Sec)", tab-separated, State letters);
* a 250,000-row Arbin .xlsx export: the real
  tests/data/cycler/arbin_bs542_004_gr_li_Channel_11.xlsx with its record
  sheet's rows repeated (time and date carried on), every other part of the
  workbook (styles, Global_Info, shared strings) as Arbin wrote it; about
  150 MB of sheet XML, as a real 250,000-row Arbin export holds;
* the real files in tests/data/cycler (xlsx, HDF5, .mpr, ...), for their points per second.

Beside each large file, a peer measured in the same run on the same file:
pandas.read_csv for the CSV and Maccor files (the bare table, no units or
checks), NewareNDA.read for the .ndax, and for the .xlsx both
python-calamine's raw read of the record sheet (cells into Python lists)
and pandas.read_excel(engine="calamine"). Wall-clock and CPU seconds are
printed (the machine is shared: CPU seconds move less with the load), and
the ratio ours/peer.

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
from napari_licell.errors import LiCellInputError

TARGET_S = 2.0
N_POINTS = 250_000
CYCLER_DATA = ROOT / "tests" / "data" / "cycler"
SHARED_NDAX = ROOT.parent / "shared" / "data" / "echem" / "neware" / "20260302_IFE_BTS85_2_9_8_1.ndax"


def _best(function, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and CPU seconds of ``repeat`` calls, and the last result."""
    wall = cpu = float("inf")
    result = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def _time(path: Path, repeat: int) -> tuple[float, float, int]:
    wall, cpu, curve = _best(lambda: read_voltage_curve(path), repeat)
    return wall, cpu, curve.n_points


ARBIN_XLSX = CYCLER_DATA / "arbin_bs542_004_gr_li_Channel_11.xlsx"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_arbin_xlsx(path: Path, n_points: int) -> None:
    """The real Arbin workbook with its record sheet (Channel_11_1, sheet2.xml) grown to ``n_points`` rows."""
    import zipfile

    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(ARBIN_XLSX)).get_sheet_by_name("Channel_11_1").to_python()
    data = rows[1:]
    epoch = np.datetime64("1899-12-30")
    dates = np.array([(np.datetime64(r[0]) - epoch) / np.timedelta64(1, "D") for r in data])
    values = np.array([[np.nan if v == "" else float(v) for v in r[1:]] for r in data])
    reps = -(-n_points // len(data))
    span_s = values[-1, 0] - values[0, 0] + 1.0
    index = np.tile(np.arange(len(data)), reps)[:n_points]
    k = np.repeat(np.arange(reps), len(data))[:n_points]
    day = (dates[index] + k * span_s / 86400.0).tolist()
    table = values[index]
    table[:, 0] += k * span_s
    letters = [_column_letter(i) for i in range(table.shape[1] + 1)]
    with zipfile.ZipFile(ARBIN_XLSX) as source:
        sheet = source.read("xl/worksheets/sheet2.xml").decode()
        head = sheet[: sheet.index('<row r="2"')].replace('ref="A1:M4527"', f'ref="A1:M{n_points + 1}"')
        tail = sheet[sheet.index("</sheetData>") :]
        parts = [head]
        for j, row in enumerate(table.tolist()):
            r = j + 2
            cells = [f'<c r="A{r}" s="17"><v>{day[j]!r}</v></c>']
            cells += [f'<c r="{letters[c + 1]}{r}" s="1"><v>{v!r}</v></c>' for c, v in enumerate(row) if v == v]
            parts.append(f'<row r="{r}" spans="1:13">{"".join(cells)}</row>')
        parts.append(tail)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
            for info in source.infolist():
                if info.filename == "xl/worksheets/sheet2.xml":
                    out.writestr(info, "".join(parts).encode())
                else:
                    out.writestr(info, source.read(info.filename))


def _calamine_raw(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    return len(workbook.get_sheet_by_name(workbook.sheet_names[-1]).to_python()) - 1


def _pandas_excel(path: Path) -> int:
    import pandas as pd

    return len(pd.read_excel(path, sheet_name="Channel_11_1", engine="calamine"))


def _pandas_csv(path: Path, sep: str, skiprows: int) -> int:
    import pandas as pd

    return len(pd.read_csv(path, sep=sep, skiprows=skiprows))


def _newarenda(path: Path) -> int:
    from NewareNDA import read

    return len(read(str(path)))


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

    # (label, points, wall s, cpu s, [(peer, wall s, cpu s)])
    rows: list[tuple[str, int, float, float, list[tuple[str, float, float]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "arbin_250k.csv"
        write_arbin_csv(csv_path, args.points)
        maccor_path = Path(tmp) / "maccor_250k.052"
        write_maccor_raw(maccor_path, args.points)
        xlsx_path = Path(tmp) / "arbin_250k.xlsx"
        write_arbin_xlsx(xlsx_path, args.points)
        large = [
            (
                "Arbin .xlsx (real workbook, rows repeated)",
                xlsx_path,
                [
                    ("python-calamine raw read", lambda: _calamine_raw(xlsx_path)),
                    ("pandas.read_excel calamine", lambda: _pandas_excel(xlsx_path)),
                ],
            ),
            ("Arbin CSV (real rows repeated)", csv_path, [("pandas.read_csv", lambda: _pandas_csv(csv_path, ",", 0))]),
            (
                "Maccor raw .052 (same rows)",
                maccor_path,
                [("pandas.read_csv", lambda: _pandas_csv(maccor_path, "\t", 1))],
            ),
        ]
        if SHARED_NDAX.exists():
            large.insert(
                0,
                (
                    "Neware .ndax (real, shared/data)",
                    SHARED_NDAX,
                    [("NewareNDA.read", lambda: _newarenda(SHARED_NDAX))],
                ),
            )
        for label, path, peers in large:
            wall, cpu, n = _time(path, args.repeat)
            measured = []
            for peer, function in peers:
                peer_wall, peer_cpu, peer_rows = _best(function, args.repeat)
                if peer_rows != n:  # both must read the same record
                    peer += f" (read {peer_rows} rows, ours {n})"
                measured.append((peer, peer_wall, peer_cpu))
            rows.append((label, n, wall, cpu, measured))
    for path in sorted(CYCLER_DATA.iterdir()):
        if path.suffix in (".md", ".parquet") or path.name == "SHA256SUMS":
            continue
        try:
            wall, cpu, n = _time(path, 1)
        except LiCellInputError:  # the test files also hold files that must be refused
            print(f"{path.name}: refused (not cycler data)")
            continue
        rows.append((path.name, n, wall, cpu, []))

    print(f"{'file':58s} {'points':>9s} {'wall s':>7s} {'cpu s':>7s} {'points/s':>10s}")
    failed = False
    for label, n, wall, cpu, peers in rows:
        flag = ""
        if n >= 200_000:
            flag = "  OK (< 2 s)" if wall < TARGET_S else "  SLOW (target < 2 s)"
            failed |= wall >= TARGET_S
        print(f"{label:58s} {n:9d} {wall:7.3f} {cpu:7.3f} {n / wall:10.0f}{flag}")
        for peer, peer_wall, peer_cpu in peers:
            print(
                f"{'  peer: ' + peer:58s} {'':9s} {peer_wall:7.3f} {peer_cpu:7.3f} {'':10s}"
                f"  ours/peer: wall {wall / peer_wall:.2f}, cpu {cpu / peer_cpu:.2f}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
