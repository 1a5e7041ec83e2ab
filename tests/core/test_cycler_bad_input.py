"""Bad input: every file that is not a usable voltage record ends in LiCellInputError.

Never another exception, never a traceback. A hypothesis property test feeds
random bytes (bare and behind each format's magic) and garbled CSV text.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import galvani.BioLogic  # noqa: F401
import NewareNDA.NewareNDA  # noqa: F401
import NewareNDA.NewareNDAx  # noqa: F401
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The readers and their parser libraries are imported here, at collection, so
# that no timed hypothesis example pays for the import.
from napari_licell.echem import (  # noqa: F401
    readers_arbin,
    readers_biologic,
    readers_gamry,
    readers_maccor,
    readers_neware,
    readers_table,
)
from napari_licell.echem.cycler_readers import read_voltage_curve
from napari_licell.echem.voltage_curve import VoltageCurve
from napari_licell.errors import LiCellInputError


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _refused(path: Path) -> LiCellInputError:
    with pytest.raises(LiCellInputError) as info:
        read_voltage_curve(path)
    error = info.value
    assert error.path == path
    assert str(path) in error.message
    assert "\n" not in error.message
    return error


def _assert_valid_curve(curve: VoltageCurve) -> None:
    assert isinstance(curve, VoltageCurve)
    assert curve.n_points >= 1
    assert curve.time_min[0] == 0.0
    assert np.all(np.isfinite(curve.time_min))
    assert np.all(np.diff(curve.time_min) >= 0)
    assert np.all(np.isfinite(curve.voltage_v))
    for name in ("current_ma", "cycle", "step"):
        values = getattr(curve, name)
        assert values is None or values.shape == curve.time_min.shape


# --- missing, empty, not a file -------------------------------------------------


def test_missing_file(tmp_path):
    assert "file not found" in _refused(tmp_path / "nope.csv").problem


def test_folder(tmp_path):
    folder = tmp_path / "run.csv"
    folder.mkdir()
    assert "folder" in _refused(folder).problem


@pytest.mark.parametrize("name", ["empty.csv", "empty.mpr", "empty.nda", "empty.res", "empty"])
def test_empty_file(tmp_path, name):
    assert _refused(_write(tmp_path, name, b"")).problem == "file is empty"


def test_blank_lines_only(tmp_path):
    assert "blank lines" in _refused(_write(tmp_path, "blank.csv", "  \n\n \r\n")).problem


# --- images, archives and other things that are not cycler files ---------------


def test_png_renamed_csv(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    error = _refused(_write(tmp_path, "curve.csv", png))
    assert error.problem == "not a cycler file (looks like a PNG image)"
    assert "CSV" in error.hint


def test_tiff_renamed_csv(tmp_path):
    tiff = b"II*\x00\x08\x00\x00\x00" + bytes(2048)
    assert _refused(_write(tmp_path, "curve.csv", tiff)).problem == "not a cycler file (looks like a TIFF image)"


@pytest.mark.shared_data
def test_real_ct_tiff_renamed_csv(shared_data, tmp_path):
    data = (shared_data / "ct/ucl_cylcell_winding_slice/mask_1.tif").read_bytes()
    assert "TIFF image" in _refused(_write(tmp_path, "voltage.csv", data)).problem


def test_damaged_excel_workbook(tmp_path):
    """Excel exports are read (test_cycler_lab_exports); a workbook without its parts is refused."""
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    error = _refused(path)
    assert "Excel workbook" in error.problem
    assert "CSV" in error.hint


def test_zip_without_ndc_members(tmp_path):
    path = tmp_path / "data.ndax"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "without Neware .ndc" in _refused(path).problem


def test_random_binary(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert "unrecognised binary" in _refused(_write(tmp_path, "x.csv", data)).problem


# --- text that is not a voltage table --------------------------------------------


def test_text_garbage(tmp_path):
    error = _refused(_write(tmp_path, "notes.txt", "hello world\nthis is not a table\n"))
    assert "no header line naming a time and a voltage column" in error.problem


def test_csv_without_time_column(tmp_path):
    error = _refused(_write(tmp_path, "v.csv", "voltage,current\n0.62,0.2\n0.63,0.2\n"))
    assert error.problem == "no time column found (columns: voltage, current)"


def test_csv_without_voltage_column(tmp_path):
    error = _refused(_write(tmp_path, "t.csv", "time_s,current_ma\n0,0.2\n1,0.2\n"))
    assert error.problem == "no voltage column found (columns: time_s, current_ma)"


def test_csv_header_only(tmp_path):
    assert _refused(_write(tmp_path, "h.csv", "time_s,voltage_v\n")).problem == "no data rows"


def test_csv_with_nan_voltages(tmp_path):
    error = _refused(_write(tmp_path, "nan.csv", "time_s,voltage_v\n0,0.62\n1,nan\n2,0.63\n3,NaN\n4,0.6\n"))
    assert error.problem == "voltage is missing, NaN or infinite in 2 row(s) (first at data row 2)"


def test_csv_with_infinite_voltage(tmp_path):
    error = _refused(_write(tmp_path, "inf.csv", "time_s,voltage_v\n0,0.62\n1,inf\n2,0.63\n"))
    assert "voltage is missing, NaN or infinite in 1 row(s)" in error.problem


def test_csv_with_all_nan_voltages(tmp_path):
    error = _refused(_write(tmp_path, "nan.csv", "time_s,voltage_v\n0,nan\n1,nan\n"))
    assert error.problem.startswith("no finite voltage values")


def test_csv_with_text_voltages(tmp_path):
    error = _refused(_write(tmp_path, "txt.csv", "time_s,voltage_v\n0,high\n1,low\n2,high\n"))
    assert error.problem == "voltage column 'voltage_v' holds no numbers (e.g. 'high')"


def test_csv_with_shuffled_time(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.permutation(200)
    rows = "\n".join(f"{s},{0.6 + 0.001 * s:.4f}" for s in t)
    error = _refused(_write(tmp_path, "shuffled.csv", "time_s,voltage_v\n" + rows + "\n"))
    assert error.problem.startswith("time is not in order")


def test_csv_with_unparsable_time(tmp_path):
    error = _refused(_write(tmp_path, "bad_t.csv", "time,voltage_v\nfoo,0.6\nbar,0.61\nbaz,0.62\n"))
    assert error.problem.startswith("time column 'time' holds neither numbers, durations nor dates")


def test_csv_with_ragged_quotes(tmp_path):
    error = _refused(_write(tmp_path, "q.csv", 'time_s,voltage_v\n0,0.6\n1,"0.61\n2,0.62\n'))
    assert error.problem.startswith(("malformed table", "voltage is missing", "no data rows"))


def test_csv_with_missing_time_inside(tmp_path):
    error = _refused(_write(tmp_path, "gap.csv", "time_s,voltage_v\n0,0.6\n,0.61\n2,0.62\n"))
    assert error.problem == "time is missing or not a number in 1 row(s) (first at data row 2)"


# --- what is repaired, not refused (and said so) ----------------------------------


def test_incomplete_last_row_is_dropped_with_a_note(tmp_path):
    curve = read_voltage_curve(_write(tmp_path, "live.csv", "time_s,voltage_v\n0,0.62\n60,0.621\n120,"))
    assert curve.n_points == 2
    assert curve.metadata["notes"] == ["dropped 1 incomplete row(s) at the end of the file"]


def test_step_time_restarts_are_joined_with_a_note(tmp_path):
    rows = ["step_time_s,voltage_v"] + [f"{t},{0.62}" for t in (0, 10, 20, 0, 10, 0, 5)]
    curve = read_voltage_curve(_write(tmp_path, "steps.csv", "\n".join(rows) + "\n"))
    np.testing.assert_allclose(curve.time_min * 60, [0, 10, 20, 20, 30, 30, 35])
    assert any("restarted 2 time" in note for note in curve.metadata["notes"])


# --- truncated binary files --------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("fraction", [0.001, 0.05, 0.5, 0.99])
def test_truncated_mpr(shared_data, tmp_path, fraction):
    data = (shared_data / "echem/biologic/gcpl.issue_175.mpr").read_bytes()
    path = _write(tmp_path, "cut.mpr", data[: int(len(data) * fraction)])
    assert _refused(path).problem.startswith("truncated BioLogic .mpr")


@pytest.mark.shared_data
@pytest.mark.parametrize("n_bytes", [20, 1000, 1030, 50_000, 200_000, 393_000])
def test_truncated_nda_is_refused_or_read_as_a_noted_prefix(shared_data, tmp_path, n_bytes):
    source = shared_data / "echem/neware/TestFile.nda"
    full = read_voltage_curve(source)
    path = _write(tmp_path, "cut.nda", source.read_bytes()[:n_bytes])
    try:
        curve = read_voltage_curve(path)
    except LiCellInputError as error:
        assert error.problem.startswith(("truncated Neware .nda", "damaged or unsupported Neware .nda"))
        assert n_bytes <= 1030  # only a file cut inside its first records is refused
        return
    # What was read is exactly the start of the full record ...
    n = curve.n_points
    assert 0 < n <= full.n_points
    np.testing.assert_array_equal(curve.voltage_v, full.voltage_v[:n])
    np.testing.assert_allclose(curve.time_min, full.time_min[:n], atol=1e-9)
    if n < full.n_points:  # ... and says it is cut short when records are missing
        assert curve.metadata["truncated"] is True
        assert "cut short" in curve.metadata["notes"][0]
    else:  # cut in the footer after the last record: nothing is missing
        assert n_bytes > 94_000


@pytest.mark.shared_data
def test_truncated_ndax(shared_data, tmp_path):
    data = (shared_data / "echem/neware/20260302_IFE_BTS85_2_9_8_1.ndax").read_bytes()
    path = _write(tmp_path, "cut.ndax", data[: len(data) // 2])
    assert _refused(path).problem.startswith("truncated or damaged Neware .ndax")


@pytest.mark.shared_data
@pytest.mark.parametrize("n_bytes", [100, 700_000, 700_416])
def test_truncated_arbin_res(shared_data, tmp_path, n_bytes):
    data = (shared_data / "echem/arbin/20160805_test001_45_cc_01.res").read_bytes()
    assert _refused(_write(tmp_path, "cut.res", data[:n_bytes])).problem.startswith("truncated Arbin .res")


@pytest.mark.shared_data
def test_truncated_mpt(shared_data, tmp_path):
    data = (shared_data / "echem/biologic/gcpl.issue_149.mpt").read_bytes()
    error = _refused(_write(tmp_path, "cut.mpt", data[:2000]))
    assert error.problem.startswith("truncated EC-Lab .mpt (header says 81 lines")


@pytest.mark.shared_data
def test_maccor_header_without_rows(shared_data, tmp_path):
    lines = (shared_data / "echem/maccor/maccor_001.txt").read_text().splitlines()[:4]
    assert _refused(_write(tmp_path, "m.txt", "\n".join(lines) + "\n")).problem == "no data rows"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("x.mpr", b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00" * 4, "truncated BioLogic .mpr"),
        (
            "z.mpr",
            b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00" * 4 + b"MODULEVMP data  ",
            "truncated BioLogic .mpr",
        ),
        ("y.mpr", b"BIO-LOGIC MODULAR FILE\x1a" + b"?" * 40, "damaged BioLogic .mpr (the file header"),
        ("x.nda", b"NEWARE" + b"\x00" * 30, "truncated Neware .nda"),
        ("x.mpt", b"EC-Lab ASCII FILE\nNb header lines : 3\nmode\ttime/s\n", "no data rows"),
        ("x.mpt", b"EC-Lab ASCII FILE\nsomething else\n", "EC-Lab text file without a 'Nb header lines' line"),
        ("x.dta", b"EXPLAIN\nTAG\tCV\n", "no CURVE or OCVCURVE table"),
    ],
)
def test_magic_without_content(tmp_path, name, content, expected):
    assert _refused(_write(tmp_path, name, content)).problem.startswith(expected)


# --- property: random bytes and garbled text -----------------------------------------

_MAGICS = [
    b"",
    b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + b"\x00\x00\x00\x00",
    b"NEWARE",
    b"\x00\x01\x00\x00Standard Jet DB\x00",
    b"PK\x03\x04",
    b"EC-Lab ASCII FILE\nNb header lines : 4\n",
    b"EXPLAIN\nCURVE\tTABLE\n\tPt\tT\tVf\n\t#\ts\tV\n",
    b"Rec#\tCyc#\tStep\tTestTime\tAmps\tVolts\tState\n",
]
_SUFFIXES = [".csv", ".tsv", ".txt", ".mpr", ".mpt", ".nda", ".ndax", ".res", ".dta", ""]

_HEADER_NAMES = st.sampled_from([
    "time_s", "Time (h)", "Test_Time(s)", "Cumulative Time", "t", "Date", "voltage_v", "Voltage(V)",
    "Ewe/V", "Potential [mV]", "current_ma", "Current(A)", "I/uA", "cycle", "Step", "junk", "", "µ",
])  # fmt: skip
_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", "nan", "00:01:00", "144:02:18", "1d 02:03:04", "2022-05-18 16:27:52", "0,62", "C", "D"]),
    st.text(max_size=8),
)


@st.composite
def _garbled_tables(draw) -> str:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    header = draw(st.lists(_HEADER_NAMES, min_size=1, max_size=6))
    n_rows = draw(st.integers(0, 25))
    rows = [delimiter.join(draw(st.lists(_CELLS, min_size=0, max_size=len(header) + 2))) for _ in range(n_rows)]
    preamble = draw(st.lists(st.text(max_size=30), max_size=3))
    text = "\n".join([*preamble, delimiter.join(header), *rows])
    if draw(st.booleans()):  # garble: splice random text somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=20)) + text[at:]
    return text


def _read_or_refuse(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(content)
        try:
            curve = read_voltage_curve(path)
        except LiCellInputError as error:
            assert error.path == path
            return
        _assert_valid_curve(curve)


_FUZZ_SETTINGS = settings(
    max_examples=200, deadline=3000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@_FUZZ_SETTINGS
@given(magic=st.sampled_from(_MAGICS), tail=st.binary(max_size=4096), suffix=st.sampled_from(_SUFFIXES))
def test_random_bytes_give_a_curve_or_an_input_error(magic, tail, suffix):
    _read_or_refuse(magic + tail, suffix)


@_FUZZ_SETTINGS
@given(
    text=_garbled_tables(),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_garbled_csv_text_gives_a_curve_or_an_input_error(text, encoding, suffix):
    _read_or_refuse(text.encode(encoding, errors="replace"), suffix)
