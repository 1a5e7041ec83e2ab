"""Every real cycler file in ../shared/data/echem, read and checked against its reference.

Reference values come from ../shared/data/README.txt section A and from the
reference parses shipped beside the files (NewareNDA's .ftr, cellpy's parquet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_licell.echem.cycler_formats import detect_format
from napari_licell.echem.cycler_readers import read_voltage_curve
from napari_licell.echem.readers_gamry import parse_dta_tables
from napari_licell.echem.text_files import read_text_file, split_lines
from napari_licell.echem.voltage_curve import VoltageCurve

# Reference parses that sit beside the cycler files; they are not cycler files.
REFERENCE_SUFFIXES = (".ftr", ".parquet")

EXPECTED_FORMATS = {
    "arbin/20160805_test001_45_cc_01.res": "arbin-res",
    "biologic/gcpl.issue_149.mpr": "biologic-mpr",
    "biologic/gcpl.issue_149.mpt": "biologic-mpt",
    "biologic/gcpl.issue_175.mpr": "biologic-mpr",
    "csv/neware_uio.csv": "csv",
    "gamry/ocp_data.dta": "gamry-dta",
    "gamry/ocvcurve_data.dta": "gamry-dta",
    "maccor/maccor_001.txt": "maccor-txt",
    "neware/20260302_IFE_BTS85_2_9_8_1.ndax": "neware-ndax",
    "neware/TestFile.nda": "neware-nda",
}


def _echem_files(shared_data):
    root = shared_data / "echem"
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(REFERENCE_SUFFIXES))


def _assert_valid_curve(curve: VoltageCurve) -> None:
    assert curve.n_points > 0
    assert curve.time_min[0] == 0.0
    assert np.all(np.diff(curve.time_min) >= 0)
    assert np.all(np.isfinite(curve.time_min))
    assert np.all(np.isfinite(curve.voltage_v))
    for name in ("current_ma", "cycle", "step"):
        values = getattr(curve, name)
        assert values is None or values.shape == curve.time_min.shape


@pytest.mark.shared_data
def test_every_echem_file_is_covered(shared_data):
    found = {p.relative_to(shared_data / "echem").as_posix() for p in _echem_files(shared_data)}
    assert found == set(EXPECTED_FORMATS)


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", sorted(EXPECTED_FORMATS))
def test_every_file_reads_with_its_format(shared_data, relative):
    path = shared_data / "echem" / relative
    assert detect_format(path) == EXPECTED_FORMATS[relative]
    curve = read_voltage_curve(path)
    assert curve.format == EXPECTED_FORMATS[relative]
    assert curve.source == path
    _assert_valid_curve(curve)


# --- BioLogic ---------------------------------------------------------------


@pytest.mark.shared_data
def test_biologic_mpr_gcpl_175(shared_data):
    curve = read_voltage_curve(shared_data / "echem/biologic/gcpl.issue_175.mpr")
    assert curve.n_points == 11399
    assert curve.time_min[-1] / 60 == pytest.approx(74.97, abs=0.005)
    assert curve.voltage_v.min() == pytest.approx(2.0, abs=0.001)
    assert curve.voltage_v.max() == pytest.approx(4.2, abs=0.001)
    # No measured current: the GCPL set point, +/-58.1 uA, 0 at rest.
    assert np.nanmax(curve.current_ma) == pytest.approx(0.0581, abs=1e-6)
    assert np.nanmin(curve.current_ma) == pytest.approx(-0.0581, abs=1e-6)
    assert np.any(curve.current_ma == 0.0)
    # Half cycles 0-9 are cycles 0-4; each holds one charge of ~0.45-0.54 mAh.
    assert sorted(set(curve.cycle.tolist())) == [0, 1, 2, 3, 4]
    for cycle in range(5):
        rows = curve.cycle == cycle
        charging = np.where(curve.current_ma[rows] > 0, curve.current_ma[rows], 0.0)
        charge_mah = np.trapezoid(charging, curve.time_min[rows]) / 60.0
        assert 0.44 <= charge_mah <= 0.55


@pytest.mark.shared_data
def test_biologic_mpr_and_mpt_of_the_same_run_agree(shared_data):
    mpr = read_voltage_curve(shared_data / "echem/biologic/gcpl.issue_149.mpr")
    mpt = read_voltage_curve(shared_data / "echem/biologic/gcpl.issue_149.mpt")
    assert mpr.n_points == mpt.n_points == 132
    np.testing.assert_allclose(mpt.time_min, mpr.time_min, rtol=0, atol=1e-9)
    # The .mpt prints 8 significant digits of the .mpr's float32 voltages.
    np.testing.assert_allclose(mpt.voltage_v, mpr.voltage_v, rtol=0, atol=1e-6)
    assert mpr.metadata["time_origin_s"] == pytest.approx(30.153, abs=1e-3)
    assert mpt.metadata["time_origin_s"] == pytest.approx(mpr.metadata["time_origin_s"], abs=1e-9)
    assert mpr.voltage_v.min() == pytest.approx(3.414, abs=5e-4)
    assert mpr.voltage_v.max() == pytest.approx(3.447, abs=5e-4)
    np.testing.assert_array_equal(mpt.cycle, mpr.cycle)
    np.testing.assert_array_equal(mpt.step, mpr.step)
    # Measured <I> (mpt) vs set point (mpr): +/-30 uA, same sign, same rest rows.
    driven = mpr.current_ma != 0
    assert np.all(mpt.current_ma[~driven] == 0)
    assert np.all(np.sign(mpt.current_ma[driven]) == np.sign(mpr.current_ma[driven]))
    assert np.median(np.abs(mpt.current_ma[driven] - mpr.current_ma[driven])) < 1e-4
    assert np.max(np.abs(mpr.current_ma)) == pytest.approx(0.030, abs=1e-6)


@pytest.mark.shared_data
def test_biologic_mpt_german_locale_metadata(shared_data):
    curve = read_voltage_curve(shared_data / "echem/biologic/gcpl.issue_149.mpt")
    assert curve.metadata["decimal"] == ","
    assert curve.metadata["encoding"] == "latin-1"
    assert curve.metadata["acquisition_start"] == "01/10/2024 11:02:29.886"
    assert curve.voltage_v[0] == pytest.approx(3.4228721, abs=1e-9)


# --- Neware -----------------------------------------------------------------


@pytest.mark.shared_data
def test_neware_nda_matches_newarenda_reference(shared_data):
    curve = read_voltage_curve(shared_data / "echem/neware/TestFile.nda")
    ref = pd.read_feather(shared_data / "echem/neware/TestFile.reference.ftr")
    assert curve.n_points == len(ref) == 6670
    file_time_s = curve.time_min * 60.0 + curve.metadata["time_origin_s"]
    np.testing.assert_allclose(file_time_s, ref["Time"].to_numpy(float), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(curve.voltage_v, ref["Voltage"].to_numpy(float))
    np.testing.assert_array_equal(curve.current_ma, ref["Current(mA)"].to_numpy(float))
    np.testing.assert_array_equal(curve.cycle, ref["Cycle"].to_numpy(np.int64))
    np.testing.assert_array_equal(curve.step, ref["Step"].to_numpy(np.int64))
    assert curve.voltage_v.min() == pytest.approx(1.7206, abs=1e-4)
    assert curve.voltage_v.max() == pytest.approx(4.2001, abs=1e-4)
    assert "notes" not in curve.metadata  # a complete file: nothing repaired


@pytest.mark.shared_data
def test_neware_ndax_long_charge(shared_data):
    import NewareNDA

    path = shared_data / "echem/neware/20260302_IFE_BTS85_2_9_8_1.ndax"
    curve = read_voltage_curve(path)
    assert curve.n_points == 252951
    assert curve.voltage_v.min() == pytest.approx(0.20, abs=0.005)
    assert curve.voltage_v.max() == pytest.approx(4.75, abs=0.005)
    assert np.nanmax(curve.current_ma) == pytest.approx(119.7, abs=0.05)
    # .ndax time restarts at every step: the test time is the sum of the step durations.
    raw = NewareNDA.read(str(path))
    step_end_s = raw.groupby("Step")["Time"].max().astype(float)
    assert curve.time_min[-1] * 60 == pytest.approx(step_end_s.sum(), abs=1e-3)
    assert curve.metadata["time_repaired"] is True
    assert any("restarted 4 time" in note for note in curve.metadata["notes"])
    # The slow CC charge: 247650 s and ~1390.6 mAh.
    last = curve.step == curve.step.max()
    assert (curve.time_min[last][-1] - curve.time_min[last][0]) * 60 == pytest.approx(247650, abs=1)
    charge_mah = np.trapezoid(curve.current_ma[last], curve.time_min[last]) / 60
    assert charge_mah == pytest.approx(1390.6, abs=0.5)


# --- Arbin ------------------------------------------------------------------


@pytest.mark.shared_data
def test_arbin_res_matches_cellpy_golden(shared_data):
    curve = read_voltage_curve(shared_data / "echem/arbin/20160805_test001_45_cc_01.res")
    golden = pd.read_parquet(shared_data / "echem/arbin/20160805_test001_45_cc_01.cellpy_golden_raw.parquet")
    golden = golden.sort_values("data_point")
    assert curve.n_points == len(golden) == 10261
    file_time_s = curve.time_min * 60.0 + curve.metadata["time_origin_s"]
    np.testing.assert_allclose(file_time_s, golden["test_time"].to_numpy(float), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(curve.voltage_v, golden["voltage"].to_numpy(float), rtol=1e-7, atol=0)
    np.testing.assert_allclose(curve.current_ma, golden["current"].to_numpy(float) * 1e3, rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(curve.cycle, golden["cycle_index"].to_numpy())
    np.testing.assert_array_equal(curve.step, golden["step_index"].to_numpy())
    assert curve.voltage_v.min() == pytest.approx(0.0499, abs=1e-4)
    assert curve.voltage_v.max() == pytest.approx(3.1167, abs=1e-4)
    assert file_time_s[-1] == pytest.approx(859077, abs=1)
    assert np.max(np.abs(curve.current_ma)) == pytest.approx(0.306, abs=0.001)
    assert curve.cycle.max() == 18


# --- Maccor -----------------------------------------------------------------


@pytest.mark.shared_data
def test_maccor_text_export(shared_data):
    curve = read_voltage_curve(shared_data / "echem/maccor/maccor_001.txt")
    assert curve.n_points == 6704
    assert curve.voltage_v.min() == pytest.approx(2.50004, abs=1e-9)
    assert curve.voltage_v.max() == pytest.approx(4.20012, abs=1e-9)
    # "2d 02:52:51.5699996948242" is the last TestTime.
    assert curve.time_min[-1] * 60 == pytest.approx(2 * 86400 + 2 * 3600 + 52 * 60 + 51.57, abs=1e-3)
    assert curve.metadata["state_counts"] == {"C": 2450, "R": 2171, "D": 2082, "O": 1}
    # Unsigned Amps, signed by State: charge +, discharge -, rest 0.
    assert np.nanmax(curve.current_ma) == pytest.approx(1502.33, abs=0.01)
    assert np.nanmin(curve.current_ma) == pytest.approx(-10018.31, abs=0.01)
    assert np.count_nonzero(curve.current_ma > 0) == 2450
    assert np.count_nonzero(curve.current_ma < 0) == 2082
    assert np.all(np.isfinite(curve.current_ma))
    assert set(curve.cycle.tolist()) == {0}


# --- Neware CSV export (generic table reader) ---------------------------------


@pytest.mark.shared_data
def test_neware_csv_export(shared_data):
    curve = read_voltage_curve(shared_data / "echem/csv/neware_uio.csv")
    assert curve.n_points == 9065
    assert curve.metadata["columns_used"]["time"] == "Cumulative Time"
    assert curve.metadata["columns_used"]["current"] == "Current(A)"
    assert curve.time_min[-1] * 60 == pytest.approx(518538, abs=1e-6)  # "144:02:18"
    assert curve.voltage_v.min() == pytest.approx(0.05, abs=1e-4)
    assert curve.voltage_v.max() == pytest.approx(2.957, abs=1e-4)
    assert np.max(np.abs(curve.current_ma)) == pytest.approx(0.99, abs=0.005)  # A -> mA
    assert curve.cycle.max() == 4


# --- Gamry ------------------------------------------------------------------


@pytest.mark.shared_data
def test_gamry_ocp_curve(shared_data):
    curve = read_voltage_curve(shared_data / "echem/gamry/ocp_data.dta")
    assert curve.n_points == 21
    assert curve.metadata["tables"] == ["CURVE"]
    assert curve.metadata["tag"] == "CORPOT"
    assert curve.current_ma is None  # open circuit: no Im column
    assert curve.metadata["time_origin_s"] == pytest.approx(5.00833)
    assert curve.time_min[-1] * 60 == pytest.approx(105.175 - 5.00833, abs=1e-9)
    assert curve.voltage_v[0] == pytest.approx(2.05436e-2, abs=1e-12)
    assert curve.voltage_v[-1] == pytest.approx(3.45678e-2, abs=1e-12)


@pytest.mark.shared_data
def test_gamry_cv_file_uses_curve_table_and_parses_ocvcurve(shared_data):
    path = shared_data / "echem/gamry/ocvcurve_data.dta"
    curve = read_voltage_curve(path)
    assert curve.metadata["tables"] == ["CURVE1"]
    assert curve.metadata["other_tables"] == ["OCVCURVE"]
    assert curve.n_points == 11
    assert curve.voltage_v[0] == pytest.approx(0.398788, abs=1e-9)
    assert curve.current_ma[0] == pytest.approx(6.55358e-4, rel=1e-9)  # 6.55358E-007 A
    assert curve.time_min[-1] * 60 == pytest.approx(3.0, abs=1e-9)
    text, _ = read_text_file(path)
    _, tables = parse_dta_tables(split_lines(text))
    ocv = next(t for t in tables if t.name == "OCVCURVE")
    assert len(ocv.rows) == 40
    assert ocv.columns[:3] == ["Pt", "T", "Vf"]
    assert ocv.values("Vf")[-1] == pytest.approx(0.283437, abs=1e-9)


# --- generic tables built here: column mapping, units, locales ----------------


def _table(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return read_voltage_curve(path)


def test_units_in_headers_are_converted(tmp_path):
    text = "Test Time (h)\tPotential [mV]\tI [uA]\tCycle_Index\n0\t622\t20\t1\n0.5\t623\t-20\t2\n"
    curve = _table(tmp_path, "units.tsv", text)
    assert curve.format == "tsv"
    np.testing.assert_allclose(curve.time_min, [0.0, 30.0])
    np.testing.assert_allclose(curve.voltage_v, [0.622, 0.623])
    np.testing.assert_allclose(curve.current_ma, [0.02, -0.02])
    np.testing.assert_array_equal(curve.cycle, [1, 2])


def test_decimal_comma_with_semicolons_and_preamble(tmp_path):
    text = "Cell: InLi | SE | Cu\nOperator; someone\ntime_s;voltage_v;current_ma\n0;0,622;0,2\n60;0,6231;0,2\n"
    curve = _table(tmp_path, "de.csv", text)
    assert curve.metadata["decimal"] == ","
    assert curve.metadata["header_line"] == 3
    np.testing.assert_allclose(curve.voltage_v, [0.622, 0.6231])
    np.testing.assert_allclose(curve.current_ma, [0.2, 0.2])
    np.testing.assert_allclose(curve.time_min, [0.0, 1.0])


def test_space_separated_logger_export(tmp_path):
    curve = _table(tmp_path, "log.txt", "# logger\ntime_s   voltage_v  current_ma\n0   0,622  0,2\n  60  0,623  0,2\n")
    assert curve.metadata["delimiter"] == " "
    np.testing.assert_allclose(curve.time_min, [0.0, 1.0])
    np.testing.assert_allclose(curve.voltage_v, [0.622, 0.623])
    np.testing.assert_allclose(curve.current_ma, [0.2, 0.2])


def test_second_header_row_with_units(tmp_path):
    curve = _table(tmp_path, "u.csv", "Time,Voltage,Current\nmin,mV,uA\n0,622,20\n10,625,20\n")
    np.testing.assert_allclose(curve.time_min, [0.0, 10.0])
    np.testing.assert_allclose(curve.voltage_v, [0.622, 0.625])
    np.testing.assert_allclose(curve.current_ma, [0.02, 0.02])


def test_clock_durations_and_dates(tmp_path):
    curve = _table(tmp_path, "clock.csv", "Total Time,Voltage(V)\n0:00:00,0.6\n1d 01:00:30,0.61\n")
    np.testing.assert_allclose(curve.time_min * 60, [0.0, 86400 + 3600 + 30])
    dated = _table(tmp_path, "dates.csv", "Date,Voltage(V)\n2022-05-18 16:27:52,0.6\n2022-05-18 18:27:52,0.61\n")
    np.testing.assert_allclose(dated.time_min, [0.0, 120.0])


def test_utf16_export_with_bom(tmp_path):
    curve = _table(tmp_path, "w.csv", "\ufefftime_s,voltage_v\n0,0.62\n30,0.63\n", encoding="utf-16")
    assert curve.metadata["encoding"] == "utf-16"
    np.testing.assert_allclose(curve.time_min, [0.0, 0.5])


def test_unitless_voltage_above_50_is_millivolts(tmp_path):
    curve = _table(tmp_path, "mv.csv", "time_s,voltage\n0,622\n1,623\n")
    np.testing.assert_allclose(curve.voltage_v, [0.622, 0.623])
    assert any("taken as mV" in note for note in curve.metadata["notes"])


def test_test_time_preferred_over_step_time(tmp_path):
    text = "Step_Time(s),Test_Time(s),Voltage(V)\n0,100,0.6\n10,110,0.61\n0,120,0.62\n"
    curve = _table(tmp_path, "arbin_like.csv", text)
    assert curve.metadata["columns_used"]["time"] == "Test_Time(s)"
    np.testing.assert_allclose(curve.time_min * 60, [0, 10, 20])
    assert curve.metadata["time_origin_s"] == 100.0


def test_headerless_eclab_tsv_export(tmp_path):
    text = "mode\ttime/s\tEwe/V\t<I>/mA\tcontrol/V/mA\tcycle number\n1\t0\t3,40\t0,03\t0,03\t0\n1\t1\t3,41\t0,03\t0,03\t0\n"
    curve = _table(tmp_path, "export.txt", text)
    assert curve.format == "tsv"
    assert curve.metadata["columns_used"]["voltage"] == "Ewe/V"
    assert curve.metadata["columns_used"]["current"] == "<I>/mA"
    np.testing.assert_allclose(curve.voltage_v, [3.40, 3.41])
    np.testing.assert_allclose(curve.current_ma, [0.03, 0.03])


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("relative", "fmt"),
    [
        ("biologic/gcpl.issue_149.mpr", "biologic-mpr"),
        ("neware/TestFile.nda", "neware-nda"),
        ("arbin/20160805_test001_45_cc_01.res", "arbin-res"),
        ("maccor/maccor_001.txt", "maccor-txt"),
    ],
)
def test_format_comes_from_content_not_extension(shared_data, tmp_path, relative, fmt):
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes((shared_data / "echem" / relative).read_bytes())
    assert detect_format(renamed) == fmt
    assert read_voltage_curve(renamed).n_points == read_voltage_curve(shared_data / "echem" / relative).n_points
