"""Cycler files as labs export them (issue 19): real public files in tests/data/cycler.

Every expected value comes from the file's own project (beep's, battdat's,
cellpy's reference parse) or from a second reader configured by hand for
that one file (pandas with the separator, header row and decimal mark
written out), never from napari-licell's reader. Origins: tests/data/cycler/README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_licell.echem.cycler_formats import detect_format
from napari_licell.echem.cycler_readers import read_voltage_curve
from napari_licell.errors import LiCellInputError

DATA = Path(__file__).resolve().parents[1] / "data" / "cycler"


def _valid(curve) -> None:
    assert curve.time_min[0] == 0.0
    assert np.all(np.diff(curve.time_min) >= 0)
    assert np.all(np.isfinite(curve.voltage_v))


def _header_row(path: Path, first_field: str, encoding: str = "latin-1") -> int:
    with open(path, encoding=encoding) as handle:
        for number, line in enumerate(handle):
            if line.split("\t")[0].strip() == first_field:
                return number
    raise AssertionError(f"no {first_field} header in {path}")


# --- Maccor -----------------------------------------------------------------


def test_maccor_raw_file_with_numbered_extension_and_test_sec():
    """beep's PredictionDiagnostics_000151_test.052: beep reads 333 rows (test_cyclerpaths.py)."""
    path = DATA / "maccor_PredictionDiagnostics_000151_test.052"
    truth = pd.read_csv(path, sep="\t", skiprows=1, index_col=False)
    assert len(truth) == 333  # beep: raw_data.shape == (333, 44)
    assert detect_format(path) == "maccor-txt"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == 333
    assert curve.voltage_v.min() == pytest.approx(truth["Volts"].min())
    assert curve.voltage_v.max() == pytest.approx(truth["Volts"].max())
    seconds = truth["Test (Sec)"].to_numpy()
    assert curve.time_min[-1] == pytest.approx((seconds[-1] - seconds[0]) / 60)
    # Amps are already signed in this export (a discharge): kept as written, in mA.
    np.testing.assert_allclose(curve.current_ma, truth["Amps"].to_numpy() * 1e3)
    assert np.all(curve.current_ma < 0)


def test_maccor_raw_file_070():
    """beep's xTESLADIAG_000019_CH70.070 (the .070 of the issue): beep reads 11669 rows (test_cyclerpaths.py)."""
    path = DATA / "maccor_xTESLADIAG_000019_CH70.070"
    truth = pd.read_csv(path, sep="\t", skiprows=1, index_col=False)
    assert len(truth) == 11669  # beep: raw_data.shape == (11669, 40)
    assert detect_format(path) == "maccor-txt"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == 11669
    assert curve.voltage_v.min() == pytest.approx(2.99984741) and curve.voltage_v.max() == pytest.approx(4.10086213)
    np.testing.assert_allclose(curve.voltage_v, truth["Volts"])
    seconds = truth["Test (Sec)"].to_numpy()
    np.testing.assert_allclose(curve.time_min, (seconds - seconds[0]) / 60, atol=1e-9)
    np.testing.assert_allclose(curve.current_ma, truth["Amps"].to_numpy() * 1e3)


def test_maccor_procedure_file_is_refused_in_one_line():
    """beep's goto_end_example.000: a Maccor test procedure (XML), which beep's own tests use as a procedure."""
    path = DATA / "maccor_procedure_goto_end_example.000"
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert info.value.problem == "not a cycler file (a Maccor test procedure, XML: no measurements)"
    assert "NAME.001" in info.value.hint
    assert "\n" not in str(info.value)


def test_maccor_raw_file_with_test_min():
    """battdat's maccor_example.001: "Test (Min)" is minutes."""
    path = DATA / "maccor_example.001"
    truth = pd.read_csv(path, sep="\t", skiprows=1, index_col=False)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.format == "maccor-txt"
    assert curve.n_points == len(truth) == 8
    np.testing.assert_allclose(curve.time_min, truth["Test (Min)"] - truth["Test (Min)"].iloc[0])
    np.testing.assert_allclose(curve.voltage_v, truth["Volts"])


def test_maccor_export_whose_rows_end_with_a_tab():
    """cellpy's maccor_002.txt: 13 preamble lines, rows one tab longer than the header."""
    path = DATA / "maccor_002.txt"
    skip = _header_row(path, "Rec")
    truth = pd.read_csv(path, sep="\t", skiprows=skip, index_col=False, encoding="latin-1")
    assert len(truth) == 7446
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth)
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage [V]"])
    # TestTime is a bare number; the DPT Time clock beside it runs in minutes
    # (row 1000: 629.28 at 2:09:40 AM, 10.49 h after 3:40:24 PM).
    clock = pd.to_datetime(truth["DPT Time"], format="%m/%d/%Y %I:%M:%S %p")
    elapsed_min = (clock.iloc[-1] - clock.iloc[0]).total_seconds() / 60
    assert curve.time_min[-1] == pytest.approx(elapsed_min, abs=1.0)
    assert curve.time_min[-1] == pytest.approx(truth["TestTime"].iloc[-1])
    # Current [A] is unsigned; Md says the direction (C charge, D discharge).
    md = truth["Md"].str.strip().to_numpy()
    amps_ma = truth["Current [A]"].to_numpy() * 1e3
    np.testing.assert_allclose(curve.current_ma[md == "C"], amps_ma[md == "C"])
    np.testing.assert_allclose(curve.current_ma[md == "D"], -amps_ma[md == "D"])


def test_maccor_export_with_decimal_commas():
    """cellpy's maccor_two.txt (KIT, German locale): "0,1377" is 0.1377 V."""
    path = DATA / "maccor_two.txt"
    skip = _header_row(path, "Rec")
    truth = pd.read_csv(path, sep="\t", skiprows=skip, index_col=False, decimal=",", encoding="latin-1")
    complete = truth.dropna(subset=["Voltage [V]", "TestTime"])
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(complete)
    np.testing.assert_allclose(curve.voltage_v, complete["Voltage [V]"])
    assert curve.time_min[-1] == pytest.approx(complete["TestTime"].iloc[-1] - complete["TestTime"].iloc[0])
    assert "decimal commas" in curve.metadata["notes"]


def test_maccor_eis_file_is_refused_as_not_a_voltage_record(tmp_path):
    """An impedance sweep (frequency, no time column) is not a cycler time series."""
    path = tmp_path / "cell.EDA0001.041"
    path.write_text(
        "MACCOR, INC.    AC Impedance Test\nFrequency Sweep:   Open Circut Voltage\n"
        "Freq (Hz)\tZ' (Ohms)\tZ'' (Ohms)\n1000\t0.01\t0.002\n"
    )
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert str(path) in str(info.value)
    assert "time" in info.value.problem


# --- Novonix ----------------------------------------------------------------


def test_novonix_csv_with_every_line_in_quotes():
    """beep's test_Nova_Form-CH01-01_short.csv: beep reads 3942 rows (test_cyclerpaths.py)."""
    path = DATA / "novonix_test_Nova_Form-CH01-01_short.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[Data]") + 1
    rows = [line.strip('"').split(",") for line in lines[start:]]
    truth = pd.DataFrame(rows[1:], columns=rows[0])
    assert len(truth) == 3942  # beep: raw_data.shape == (3942, 23)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == 3942
    np.testing.assert_allclose(curve.voltage_v, truth["Potential (V)"].astype(float))
    np.testing.assert_allclose(
        curve.time_min, truth["Run Time (h)"].astype(float) * 60 - float(truth["Run Time (h)"].iloc[0]) * 60, atol=1e-9
    )
    np.testing.assert_allclose(curve.current_ma, truth["Current (A)"].astype(float) * 1e3)
    assert curve.metadata["maker"] == "Novonix"
    # beep: step_index values [0, 7, 8, 1] come from "Step Type"; the step column is "Step Number".
    assert set(np.unique(curve.step)) == set(truth["Step Number"].astype(int))


# --- Arbin CSV --------------------------------------------------------------


@pytest.mark.parametrize(
    "name, n_rows", [("arbin_example.csv", 2142), ("arbin_2017-05-09_test-TC-contact_CH33.csv", 287)]
)
def test_arbin_csv_current_is_in_amps(name, n_rows):
    """Arbin CSV exports write Current in A (battdat and beep read it so)."""
    path = DATA / name
    truth = pd.read_csv(path)
    assert len(truth) == n_rows
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == n_rows
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage"])
    np.testing.assert_allclose(curve.current_ma, truth["Current"] * 1e3)
    assert curve.metadata["maker"] == "Arbin"


# --- Battery Data Format / BatteryArchive ----------------------------------------------


def test_battery_data_format_csv_matches_cellpy_golden():
    """cellpy's batmo_bdf.csv against cellpy's own parse (tests/data/goldens/loader_batmo_bdf)."""
    path = DATA / "batmo_bdf.csv"
    golden = pd.read_parquet(DATA / "batmo_bdf.cellpy_golden_raw.parquet")
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(golden) == 21206
    np.testing.assert_allclose(curve.voltage_v, golden["voltage"])
    np.testing.assert_allclose(curve.time_min, (golden["test_time"] - golden["test_time"].iloc[0]) / 60, atol=1e-6)
    # cellpy counts charge as positive current, as VoltageCurve does.
    np.testing.assert_allclose(curve.current_ma, golden["current"] * 1e3)
    np.testing.assert_array_equal(curve.cycle, golden["cycle_index"])


def test_batteryarchive_timeseries_csv():
    """battdat's BatteryArchive example: 'Test_Time (s)', 'Current (A)', 'Voltage (V)'."""
    path = DATA / "batteryarchive_CALCE_CX2-33_timeseries.csv"
    truth = pd.read_csv(path)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 15
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage (V)"])
    np.testing.assert_allclose(curve.time_min, (truth["Test_Time (s)"] - truth["Test_Time (s)"].iloc[0]) / 60)
    np.testing.assert_allclose(curve.current_ma, truth["Current (A)"] * 1e3)


# --- Excel exports ----------------------------------------------------------


def _xlsx_sheet(path: Path, sheet_name: str) -> pd.DataFrame:
    """A second .xlsx reader, from the standard library: the sheet's cells as numbers."""
    import re
    import xml.etree.ElementTree as ET
    import zipfile

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as archive:
        shared = []
        if "xl/sharedStrings.xml" in archive.namelist():
            root = ET.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t")) for si in root.findall("m:si", ns)]
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        sheet = next(s for s in book.find("m:sheets", ns) if s.get("name") == sheet_name)
        target = targets[sheet.get(rel_ns)].lstrip("/")
        root = ET.fromstring(archive.read(target if target.startswith("xl/") else "xl/" + target))
    rows: list[dict[str, object]] = []
    for row in root.iter(f"{{{ns['m']}}}row"):
        values: dict[str, object] = {}
        for cell in row.findall("m:c", ns):
            column = re.match(r"[A-Z]+", cell.get("r")).group(0)
            v = cell.find("m:v", ns)
            if v is None:
                continue
            values[column] = shared[int(v.text)] if cell.get("t") == "s" else float(v.text)
        rows.append(values)
    header = rows[0]
    frame = pd.DataFrame(rows[1:])
    return frame.rename(columns=header)


def test_arbin_xlsx_export():
    """navani's Arbin export: navani reads 4526 rows (tests/test_echem.py) from sheet Channel_11_1."""
    path = DATA / "arbin_bs542_004_gr_li_Channel_11.xlsx"
    truth = _xlsx_sheet(path, "Channel_11_1")
    assert len(truth) == 4526
    assert detect_format(path) == "excel-xlsx"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == 4526
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage(V)"])
    np.testing.assert_allclose(curve.time_min, (truth["Test_Time(s)"] - truth["Test_Time(s)"].iloc[0]) / 60)
    np.testing.assert_allclose(curve.current_ma, truth["Current(A)"] * 1e3)
    assert curve.metadata["sheets"] == ["Channel_11_1"]
    assert curve.metadata["other_sheets"] == ["Global_Info"]
    assert curve.metadata["reader"].startswith("fastexcel")


@pytest.mark.parametrize(
    "name", ["arbin_bs542_004_gr_li_Channel_11.xlsx", "lanhe_custom_data_002.xlsx", "neware_sample_data_neware.xlsx"]
)
def test_xlsx_fast_path_agrees_with_reading_every_cell(name):
    """fastexcel (used columns only) and python-calamine (every cell) give the same curve."""
    from napari_licell.echem.readers_excel import _read_calamine

    path = DATA / name
    fast = read_voltage_curve(path)
    slow = _read_calamine(path, "excel-xlsx")
    assert fast.metadata["reader"].startswith("fastexcel")
    assert slow.metadata["reader"].startswith("python-calamine")
    assert fast.n_points == slow.n_points
    np.testing.assert_allclose(fast.time_min, slow.time_min, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(fast.voltage_v, slow.voltage_v)
    np.testing.assert_array_equal(fast.current_ma, slow.current_ma)
    assert fast.metadata["sheets"] == slow.metadata["sheets"]


def test_xlsx_the_fast_path_cannot_vouch_for_is_read_cell_by_cell(tmp_path):
    """A sheet written with a prefixed namespace (<x:row>, as some .NET writers do): python-calamine reads it, said in a note."""
    import re
    import zipfile

    path = tmp_path / "prefixed.xlsx"
    _write_xlsx(path, {"Record": [_ARBIN_HEADER, [0, 3.0, 0.001], [10, 3.1, 0.002]]})
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace("<worksheet xmlns=", "<x:worksheet xmlns:x=").replace("</worksheet>", "</x:worksheet>")
    parts["xl/worksheets/sheet1.xml"] = re.sub(r"<(/?)(sheetData|row|c|v|is|t)\b", r"<\1x:\2", sheet).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    curve = read_voltage_curve(path)
    assert curve.metadata["reader"].startswith("python-calamine")
    assert any("python-calamine" in note for note in curve.metadata["notes"])
    np.testing.assert_allclose(curve.voltage_v, [3.0, 3.1])
    np.testing.assert_allclose(curve.current_ma, [1.0, 2.0])


def test_xlsx_with_a_header_below_a_preamble_and_columns_from_c(tmp_path):
    """The header row and columns found in the XML are the ones fastexcel loads."""
    import zipfile

    path = tmp_path / "shifted.xlsx"
    _write_xlsx(
        path,
        {
            "Info": [["Cell", "Li|LPSCl|steel"]],
            "Record": [
                ["exported by", "a logger"],
                ["note"],
                ["Test_Time(s)", "Voltage(V)", "Current(A)"],
                [0, 3.0, 0.001],
                [10, 3.1, "-"],
                [20, 3.2, 0.002],
            ],
        },
    )
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    import re

    sheet = parts["xl/worksheets/sheet2.xml"].decode()
    # move every cell two columns right and two rows down (a sheet starting at C3)
    sheet = re.sub(r'r="([A-Z])(\d+)"', lambda m: f'r="{chr(ord(m.group(1)) + 2)}{int(m.group(2)) + 2}"', sheet)
    sheet = re.sub(r'<row r="(\d+)">', lambda m: f'<row r="{int(m.group(1)) + 2}">', sheet)
    parts["xl/worksheets/sheet2.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    curve = read_voltage_curve(path)
    assert curve.metadata["reader"].startswith("fastexcel")
    assert curve.metadata["sheets"] == ["Record"]
    np.testing.assert_allclose(curve.time_min, [0, 10 / 60, 20 / 60])
    np.testing.assert_allclose(curve.voltage_v, [3.0, 3.1, 3.2])
    np.testing.assert_allclose(curve.current_ma, [1.0, np.nan, 2.0])


def test_lanhe_xlsx_export():
    """cellpy's LANHE/Landt export (Cycle-Tab before Record-Tab; 'TestTime/Sec', 'Current/mA')."""
    path = DATA / "lanhe_custom_data_002.xlsx"
    truth = _xlsx_sheet(path, "Record-Tab")
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 16538
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage/V"])
    np.testing.assert_allclose(curve.time_min, (truth["TestTime/Sec"] - truth["TestTime/Sec"].iloc[0]) / 60)
    np.testing.assert_allclose(curve.current_ma, truth["Current/mA"])
    assert curve.metadata["sheets"] == ["Record-Tab"]


def test_workbook_without_a_record_sheet_is_refused(tmp_path):
    path = tmp_path / "notes.xlsx"
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Notes" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>cell</t></is></c><c r="B1" t="inlineStr"><is><t>mass</t></is></c></row>'
            '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2.5</v></c></row></sheetData></worksheet>',
        )
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert "no sheet with a time and a voltage column" in info.value.problem
    assert "Notes" in info.value.problem


# --- Indigo HDF5 ------------------------------------------------------------


def test_indigo_hdf5():
    """beep's indigo_test_sample.h5: 20000 rows, 2.999862-4.158326 V (pandas.read_hdf, README)."""
    path = DATA / "indigo_test_sample.h5"
    assert detect_format(path) == "indigo-hdf5"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == 20000
    assert curve.voltage_v.min() == pytest.approx(2.999862, abs=1e-6)
    assert curve.voltage_v.max() == pytest.approx(4.158326, abs=1e-6)
    assert curve.time_min[-1] == pytest.approx(504868.44 / 60, rel=1e-6)
    assert len(np.unique(curve.cycle)) == 84
    assert len(np.unique(curve.step)) == 169
    assert curve.metadata["start_time"].startswith("2019-10-10")


def test_indigo_hdf5_matches_pandas_read_hdf():
    """The second reader: pandas' HDFStore (PyTables), where it is installed."""
    pytest.importorskip("tables")
    path = DATA / "indigo_test_sample.h5"
    truth = pd.read_hdf(path, "time_series_data")
    curve = read_voltage_curve(path)
    np.testing.assert_allclose(curve.voltage_v, truth["cell_voltage_v"].astype(float))
    np.testing.assert_allclose(curve.current_ma, truth["cell_current_a"].astype(float) * 1e3)
    np.testing.assert_allclose(curve.time_min, (truth["time_s"].astype(float) - float(truth["time_s"].iloc[0])) / 60)
    np.testing.assert_array_equal(curve.cycle, truth["cycle_count"])


@pytest.mark.parametrize("data_columns", [None, ["cell_voltage_v", "time_s"]])
def test_indigo_hdf5_in_pandas_table_layout(tmp_path, data_columns):
    """pandas' other HDF5 layout (format="table", as pandas.read_hdf reads either): the real Indigo record,
    written again by pandas in that layout (no public Indigo file in it was found); pandas.read_hdf is the truth."""
    pytest.importorskip("tables")
    truth = pd.read_hdf(DATA / "indigo_test_sample.h5", "time_series_data")
    path = tmp_path / "indigo_table.h5"
    truth.to_hdf(path, key="time_series_data", format="table", data_columns=data_columns, complevel=9)
    assert detect_format(path) == "indigo-hdf5"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.metadata["layout"] == "pandas table"
    assert curve.n_points == 20000
    np.testing.assert_allclose(curve.voltage_v, truth["cell_voltage_v"].astype(float))
    np.testing.assert_allclose(curve.current_ma, truth["cell_current_a"].astype(float) * 1e3)
    np.testing.assert_allclose(curve.time_min, (truth["time_s"].astype(float) - float(truth["time_s"].iloc[0])) / 60)
    np.testing.assert_array_equal(curve.cycle, truth["cycle_count"])
    assert curve.metadata["start_time"].startswith("2019-10-10")


def test_battdat_hdf5_table():
    """battdat's own example file (PyTables table raw_data; simulated single-resistor cell, battdat 0.4.2).
    Truth: the table read with PyTables, battdat's units (s, A, V; charging positive)."""
    tables = pytest.importorskip("tables")
    path = DATA / "battdat_single-resistor-constant-charge_from-charged.hdf"
    with tables.open_file(str(path), "r") as handle:
        truth = handle.root.raw_data.read()
    assert detect_format(path) == "battdat-hdf5"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 2401
    assert curve.voltage_v.min() == pytest.approx(1.9) and curve.voltage_v.max() == pytest.approx(3.1)
    np.testing.assert_allclose(curve.voltage_v, truth["voltage"])
    np.testing.assert_allclose(curve.current_ma, truth["current"] * 1e3)
    np.testing.assert_allclose(curve.time_min, (truth["test_time"] - truth["test_time"][0]) / 60)
    assert curve.time_min[-1] == pytest.approx(120.0)
    assert curve.metadata["table"] == "raw_data"
    assert "battdat 0.4.2" in curve.metadata["reader"]


def test_other_hdf5_is_still_refused(tmp_path):
    import h5py

    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as handle:
        handle["volume"] = np.zeros((4, 4, 4), dtype=np.uint16)
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert info.value.problem == "not a cycler file (looks like an HDF5 file)"


# --- BioLogic .mpr from a newer EC-Lab ----------------------------------------------


def _mpt_table(path: Path) -> pd.DataFrame:
    """EC-Lab's own text export, read with pandas: 'Nb header lines' says where the table starts."""
    with open(path, encoding="latin-1") as handle:
        handle.readline()
        n_header = int(handle.readline().split(":")[1])
    return pd.read_csv(path, sep="\t", skiprows=n_header - 1, encoding="latin-1", index_col=False)


def test_newer_mpr_with_column_ids_galvani_does_not_know():
    """yadg's mb.issue_223.mpr holds column ID 112, unknown to galvani 0.5; EC-Lab's .mpt of the same run is the truth."""
    from galvani.BioLogic import MPRfile

    path = DATA / "biologic_mb.issue_223.mpr"
    with pytest.raises(NotImplementedError, match="Column ID 112"):
        MPRfile(str(path))
    truth = _mpt_table(DATA / "biologic_mb.issue_223.mpt")
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 108
    np.testing.assert_allclose(curve.voltage_v, truth["Ewe/V"], atol=1e-6)
    np.testing.assert_allclose(curve.time_min, (truth["time/s"] - truth["time/s"].iloc[0]) / 60, atol=1e-6)
    np.testing.assert_allclose(curve.current_ma, truth["I/mA"], rtol=1e-5, atol=1e-9)
    assert curve.metadata["extra_column_ids"] == [112]
    assert "112" in curve.metadata["reader"]
    # The added column itself (8-byte float) and the one after it read as EC-Lab wrote them.
    from napari_licell.echem.readers_biologic import _parse_mpr

    mpr, added = _parse_mpr(path)
    assert added == (112,)
    np.testing.assert_allclose(mpr.data["Energy we/W.h"], truth["Energy we/W.h"], rtol=1e-6, atol=1e-15)
    np.testing.assert_array_equal(mpr.data["z cycle"], truth["z cycle"])
    # galvani's own table is left as it was.
    from galvani.BioLogic import VMPdata_colID_dtype_map

    assert 112 not in VMPdata_colID_dtype_map


def test_low_column_ids_read_as_galvanis_id_plus_256_only_where_yadg_agrees():
    """The ID + 256 rule: widths as yadg's table has them (175-177 4-byte floats, 182 8-byte); 243-246 left unknown,
    where yadg (|Ece h3..h6|, f4) and galvani's 499-502 (f8) disagree."""
    from galvani.BioLogic import VMPdata_colID_dtype_map

    from napari_licell.echem.readers_biologic import _extra_ids

    extra = _extra_ids(VMPdata_colID_dtype_map)
    assert extra[175] == ("|Zwe-ce|/Ohm", "<f4")
    assert extra[182] == ("step time/s", "<f8")
    assert extra[206][1] == "<f4"
    assert not {243, 244, 245, 246} & set(extra)
    assert not set(extra) & set(VMPdata_colID_dtype_map)


def test_newer_mpr_with_the_impedance_between_we_and_ce():
    """yadg's peis.issue_225.with_ece.mpr: column IDs 175-177 (|Zwe-ce|, Re, -Im; galvani knows them as 431-433)
    and 174 beside <Ewe> (the phase of Zwe-ce); EC-Lab's .mpt of the same run is the truth."""
    from galvani.BioLogic import MPRfile

    from napari_licell.echem.readers_biologic import _parse_mpr, _rename_id_174

    path = DATA / "biologic_peis.issue_225.with_ece.mpr"
    with pytest.raises(NotImplementedError, match="is unknown"):
        MPRfile(str(path))
    truth = _mpt_table(DATA / "biologic_peis.issue_225.with_ece.mpt")
    curve = read_voltage_curve(path)
    assert curve.n_points == len(truth) == 32
    np.testing.assert_allclose(curve.voltage_v, truth["<Ewe>/V"], rtol=1e-6)
    np.testing.assert_allclose(curve.current_ma, truth["<I>/mA"], rtol=1e-6)
    assert curve.metadata["voltage_column"] == "<Ewe>/V"
    assert {175, 176, 177} <= set(curve.metadata["extra_column_ids"])
    mpr, _ = _parse_mpr(path)
    data = _rename_id_174(mpr.data, [int(c) for c in mpr.cols])
    for name in ("|Zwe-ce|/Ohm", "Re(Zwe-ce)/Ohm", "-Im(Zwe-ce)/Ohm", "Phase(Zwe-ce)/deg", "<Ece>/V", "|Zce|/Ohm"):
        np.testing.assert_allclose(data[name], truth[name], rtol=1e-6, err_msg=name)
    assert "<Ewe>/V 2" not in data.dtype.names


def test_btlab_text_export():
    """Battery Data Format's BT-Lab (BCS-815) export: 'BT-Lab ASCII FILE', 'Nb header lines : 103', Ecell/V, I/mA.
    Truth: pandas with the header line the file names."""
    path = DATA / "biologic_btlab_Sample_data_biologic_01_MB_CA1.txt"
    truth = pd.read_csv(path, sep="\t", skiprows=102, encoding="latin-1", index_col=False)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.format == "biologic-mpt"
    assert curve.n_points == len(truth) == 1397
    assert curve.voltage_v.min() == pytest.approx(3.4854481) and curve.voltage_v.max() == pytest.approx(3.5180547)
    np.testing.assert_allclose(curve.voltage_v, truth["Ecell/V"])
    np.testing.assert_allclose(curve.current_ma, truth["I/mA"])
    np.testing.assert_allclose(curve.time_min, truth["time/s"] / 60)


def test_eclab_export_without_its_header():
    """Battery Data Format's Sample_data_biologic_no_header.mpt: the column line first, no 'EC-Lab ASCII FILE'."""
    path = DATA / "biologic_Sample_data_biologic_no_header.mpt"
    truth = pd.read_csv(path, sep="\t", encoding="latin-1", index_col=False)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 15
    np.testing.assert_allclose(curve.voltage_v, truth["Ecell/V"])
    np.testing.assert_allclose(curve.time_min, (truth["time/s"] - truth["time/s"].iloc[0]) / 60)


# --- Neware cycle numbers ----------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", ["neware/20260302_IFE_BTS85_2_9_8_1.ndax", "neware/TestFile.nda"])
def test_neware_cycle_numbers_are_newarendas(shared_data, relative):
    """The cycle numbers, counted per status run for speed, equal NewareNDA's software cycle numbers."""
    from NewareNDA import read

    path = shared_data / "echem" / relative
    truth = read(str(path), software_cycle_number=True, cycle_mode="chg", log_level="ERROR")
    curve = read_voltage_curve(path)
    np.testing.assert_array_equal(curve.cycle, truth["Cycle"].to_numpy())
    assert curve.n_points == len(truth)


# --- Battery Data Format project samples ------------------------------------------


def test_neware_xlsx_export():
    """BDF's Neware sample (sheet 'record'; 'Total Time' is an Excel time of day = elapsed time)."""
    path = DATA / "neware_sample_data_neware.xlsx"
    truth = _xlsx_sheet(path, "record")
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.format == "excel-xlsx"
    assert curve.n_points == len(truth) == 105
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage(V)"])
    np.testing.assert_allclose(curve.current_ma, truth["Current(mA)"])
    elapsed_min = (truth["Total Time"] - truth["Total Time"].iloc[0]) * 24 * 60  # Excel days
    np.testing.assert_allclose(curve.time_min, elapsed_min, atol=1e-3)
    np.testing.assert_array_equal(curve.step, truth["Step Index"].astype(int))


def test_maccor_comma_separated_export():
    """BDF's Maccor sample: comma-separated, 'Test Time (sec)', 'Current' in A (BDF reads it as 'Current / A')."""
    path = DATA / "maccor_sample_data_maccor.csv"
    truth = pd.read_csv(path, skiprows=2)
    assert detect_format(path) == "maccor-txt"
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 15
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage"])
    np.testing.assert_allclose(curve.current_ma, truth["Current"] * 1e3)
    np.testing.assert_allclose(curve.time_min, (truth["Test Time (sec)"] - truth["Test Time (sec)"].iloc[0]) / 60)


def test_battery_data_format_machine_names():
    """BDF reference file with machine-readable names: 'test_time_second', 'voltage_volt', 'current_ampere'."""
    path = DATA / "bdf_SINTEF__LiGrR2032__Landt.bdf.csv"
    truth = pd.read_csv(path)
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 25162
    np.testing.assert_allclose(curve.voltage_v, truth["voltage_volt"])
    np.testing.assert_allclose(curve.current_ma, truth["current_ampere"] * 1e3)
    np.testing.assert_allclose(curve.time_min, (truth["test_time_second"] - truth["test_time_second"].iloc[0]) / 60)
    assert not any("assumed" in note for note in curve.metadata.get("notes", []))


def test_neware_xls_export_agrees_with_its_own_step_table():
    """cellpy's Neware BTS .xls (Excel 97-2003): the record (Detail sheet) against the cycler's own
    step summary in the same workbook (Statis sheet: one row per step, start/end voltage and current)."""
    from python_calamine import CalamineWorkbook

    from napari_licell.echem.charge_steps import split_steps

    path = DATA / "neware_custom_data_003.xls"
    assert detect_format(path) == "excel-xls"
    statis = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Statis_14_1_3").to_python()
    table = pd.DataFrame(statis[1:], columns=statis[0])
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.metadata["sheets"] == ["Detail_14_1_3"]
    steps = split_steps(curve)
    assert len(steps) == len(table) == 29
    for step, (_, row) in zip(steps, table.iterrows()):
        assert step.step == int(row["Step"])
        assert step.cycle == int(row["CyCle"])
        assert curve.voltage_v[step.start] == pytest.approx(row["Start Voltage(V)"], abs=1e-4)
        assert curve.voltage_v[step.stop - 1] == pytest.approx(row["End Voltage(V)"], abs=1e-4)
        expected = {"Rest": "rest"}.get(row["Status"], "charge" if "_Chg" in row["Status"] else "discharge")
        assert step.kind == expected
    # The record lasts as long as its steps together (Endure Time h:min:s), within a sample per step.
    from napari_licell.echem.units import parse_durations_s

    total_min = parse_durations_s(table["Endure Time(h:min:s.ms)"].to_numpy(dtype=object)).sum() / 60
    assert curve.time_min[-1] == pytest.approx(total_min, abs=len(table) * 1.0)


def test_word_document_named_xls_is_refused_in_one_line(tmp_path):
    data = (DATA / "neware_custom_data_003.xls").read_bytes()
    fake = data[:512] + bytes(4096)  # an OLE header with no readable workbook behind it
    path = tmp_path / "report.xls"
    path.write_bytes(fake)
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert "Excel workbook" in info.value.problem
    assert "\n" not in str(info.value)


def test_neware_nested_csv_export_reads_the_record_rows():
    """cellpy's Neware "regular export": cycle rows, step rows (",") and record rows (",,"), each
    level with its own header line. Second reader: pandas on the record rows picked by hand."""
    import io

    path = DATA / "neware_nw_regular_export_ife_example.csv"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    header = lines[2]
    assert header.startswith(",,DataPoint,")
    records = [line for line in lines[3:] if line.startswith(",,") and not line.startswith(",,,")]
    truth = pd.read_csv(io.StringIO("\n".join([header, *records])))
    curve = read_voltage_curve(path)
    _valid(curve)
    assert curve.n_points == len(truth) == 9295
    np.testing.assert_allclose(curve.voltage_v, truth["Voltage(V)"])
    np.testing.assert_allclose(curve.current_ma, truth["Current(A)"] * 1e3)
    clock = pd.to_datetime(truth["Date"])
    elapsed_min = (clock.iloc[-1] - clock.iloc[0]).total_seconds() / 60
    assert curve.time_min[-1] == pytest.approx(elapsed_min, abs=1.0)


def test_table_with_a_nameless_index_column_keeps_its_rows(tmp_path):
    path = tmp_path / "pandas_export.csv"
    path.write_text(",time_s,voltage_v\n0,0,3.5\n1,60,3.6\n2,120,3.7\n")
    curve = read_voltage_curve(path)
    assert curve.n_points == 3
    np.testing.assert_allclose(curve.time_min, [0.0, 1.0, 2.0])


def test_biologic_log_file_is_refused_with_a_pointer_to_the_data(tmp_path):
    """EC-Lab/BT-Lab write a .mpl log beside the .mpr; it holds settings, not measurements."""
    path = tmp_path / "run_C01.mpl"
    path.write_text(
        "BT-Lab LOG FILE\n\nModulo Bat\n\nRun on channel : 1\nUser : \nEwe ctrl range : min = 0.00 V, max = 5.00 V\n"
    )
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    assert info.value.problem == "a BioLogic log file (.mpl), not the measurements"
    assert ".mpr" in info.value.hint


def _write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """A minimal .xlsx (inline strings and numbers), for behaviour that no public file shows."""
    import zipfile
    from xml.sax.saxutils import escape

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(len(names))
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheet_list = "".join(
            f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(names)
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>{sheet_list}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{rel}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(len(names))
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="{pkg}">{rels}</Relationships>'
        )
        for i, name in enumerate(names):
            body = []
            for r, row in enumerate(sheets[name], start=1):
                cells = []
                for c, value in enumerate(row):
                    ref = f"{chr(65 + c)}{r}"
                    if isinstance(value, str):
                        cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
                    else:
                        cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                body.append(f'<row r="{r}">{"".join(cells)}</row>')
            archive.writestr(
                f"xl/worksheets/sheet{i + 1}.xml",
                f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{"".join(body)}</sheetData></worksheet>',
            )


_ARBIN_HEADER = ["Test_Time(s)", "Voltage(V)", "Current(A)"]


def test_arbin_record_continued_on_a_second_sheet_is_joined(tmp_path):
    path = tmp_path / "long.xlsx"
    _write_xlsx(
        path,
        {
            "Global_Info": [["TEST REPORT"]],
            "Channel_1_1": [_ARBIN_HEADER, [0, 3.0, 0.001], [10, 3.1, 0.001]],
            "Channel_1_2": [_ARBIN_HEADER, [20, 3.2, 0.001], [30, 3.3, 0.001]],
        },
    )
    curve = read_voltage_curve(path)
    assert curve.metadata["sheets"] == ["Channel_1_1", "Channel_1_2"]
    np.testing.assert_allclose(curve.time_min, [0, 10 / 60, 20 / 60, 30 / 60])
    np.testing.assert_allclose(curve.voltage_v, [3.0, 3.1, 3.2, 3.3])


def test_second_channel_with_the_same_columns_is_not_joined(tmp_path):
    path = tmp_path / "two_channels.xlsx"
    _write_xlsx(
        path,
        {
            "Channel_1_1": [_ARBIN_HEADER, [0, 3.0, 0.001], [10, 3.1, 0.001], [20, 3.15, 0.001]],
            "Channel_2_1": [_ARBIN_HEADER, [0, 4.0, -0.001], [10, 3.9, -0.001]],
        },
    )
    curve = read_voltage_curve(path)
    assert curve.metadata["sheets"] == ["Channel_1_1"]
    assert curve.metadata["other_sheets"] == ["Channel_2_1"]
    np.testing.assert_allclose(curve.voltage_v, [3.0, 3.1, 3.15])
    assert any("Channel_2_1" in note and "not read" in note for note in curve.metadata["notes"])
