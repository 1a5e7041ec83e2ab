"""Study file: YAML round trip, relative paths, unknown keys kept, errors naming file and key."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from napari_licell.errors import LiCellInputError
from napari_licell.study import CellRecord, ScanRecord, Study, load_study, save_study

STUDY_TEXT = """\
schema_version: 1
name: Kodama 2024 carbon interlayer
lab_book: LB-17          # unknown top-level key
cells:
  - name: process3
    bonding_process: Process 3
    se_pressure_mpa: 100
    carbon_pressure_mpa: 400
    stack_pressure_mpa: 3.0
    current_density_ma_cm2: 0.2
    charge_minutes: 4000
    voltage_file: echem/process3.mpr
    notes: uniform Li layer
    glovebox: {o2_ppm: 0.3}  # unknown cell key
    scans:
      - path: ct/process3_after
        gas: xenon
        gas_pressure_atm: 6
        state: After
        time_min: 4000
        voxel_size_um: 0.54
        labels_path: labels/process3_after.tif
        thresholds: {li_void: 1450.0, void_se_li: 5200}
        operator: ak          # unknown scan key
  - name: none
    bonding_process: none
    scans:
      - path: /data/absolute/scan.tif
        gas: Ar
        voxel_size_um: [1.08, 0.54, 0.54]
"""


def _write(folder: Path, text: str, name: str = "study.licell.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_resolves_paths_and_normalises_values(tmp_path):
    study = load_study(_write(tmp_path, STUDY_TEXT))
    assert study.name == "Kodama 2024 carbon interlayer"
    assert study.schema_version == 1
    assert study.extra == {"lab_book": "LB-17"}
    p3 = study.cell("process3")
    assert p3.bonding_process == "process3"
    assert p3.se_pressure_mpa == 100 and p3.stack_pressure_mpa == 3.0
    assert p3.voltage_file == tmp_path / "echem" / "process3.mpr"
    assert p3.extra == {"glovebox": {"o2_ppm": 0.3}}
    scan = p3.scans[0]
    assert scan.path == tmp_path / "ct" / "process3_after"
    assert scan.path.is_absolute()
    assert scan.gas == "Xe" and scan.state == "after"
    assert scan.voxel_size_um == (0.54, 0.54, 0.54)
    assert scan.labels_path == tmp_path / "labels" / "process3_after.tif"
    assert scan.thresholds == {"li_void": 1450.0, "void_se_li": 5200}
    assert scan.extra == {"operator": "ak"}
    other = study.cell("none").scans[0]
    assert other.path == Path("/data/absolute/scan.tif")
    assert other.voxel_size_um == (1.08, 0.54, 0.54)


def test_round_trip_keeps_everything_and_writes_relative_paths(tmp_path):
    first = load_study(_write(tmp_path, STUDY_TEXT))
    out = tmp_path / "copy.licell.yaml"
    save_study(first, out)
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    assert doc["lab_book"] == "LB-17"
    cell = doc["cells"][0]
    assert cell["voltage_file"] == "echem/process3.mpr"
    assert cell["glovebox"] == {"o2_ppm": 0.3}
    assert cell["se_pressure_mpa"] == 100  # ints stay ints
    scan = cell["scans"][0]
    assert scan["path"] == "ct/process3_after"
    assert scan["labels_path"] == "labels/process3_after.tif"
    assert scan["operator"] == "ak"
    assert scan["voxel_size_um"] == 0.54
    assert doc["cells"][1]["scans"][0]["voxel_size_um"] == [1.08, 0.54, 0.54]
    assert load_study(out) == first


def test_moving_the_study_folder_moves_the_paths(tmp_path):
    original = tmp_path / "a"
    original.mkdir()
    save_study(load_study(_write(original, STUDY_TEXT)), original / "study.licell.yaml")
    moved = tmp_path / "b"
    shutil.move(str(original), str(moved))
    study = load_study(moved / "study.licell.yaml")
    assert study.cell("process3").scans[0].path == moved / "ct" / "process3_after"


def test_paths_outside_the_study_folder_are_relative_with_dotdot(tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    scan = tmp_path / "data" / "scan.tif"
    study = Study(name="s", cells=[CellRecord(name="c", scans=[ScanRecord(path=scan)])])
    path = save_study(study, folder / "s.licell.yaml")
    assert yaml.safe_load(path.read_text())["cells"][0]["scans"][0]["path"] == "../data/scan.tif"
    assert load_study(path).cells[0].scans[0].path == scan


def test_windows_separators_are_read(tmp_path):
    text = "schema_version: 1\ncells:\n  - name: c\n    scans:\n      - path: ct\\\\scan01\\\\im.tif\n"
    study = load_study(_write(tmp_path, text))
    assert study.cells[0].scans[0].path == tmp_path / "ct" / "scan01" / "im.tif"


def test_bad_yaml_names_file_and_line(tmp_path):
    path = _write(tmp_path, "schema_version: 1\ncells:\n  - name: a\n   bad: [\n")
    with pytest.raises(LiCellInputError) as err:
        load_study(path)
    assert err.value.path == path
    assert "is not valid YAML at line" in err.value.problem


@pytest.mark.parametrize(
    ("snippet", "key", "words"),
    [
        ("gas: Kr", "cells[0] ('c').scans[0].gas", "not a known gas"),
        ("state: halfway", "cells[0] ('c').scans[0].state", "not a scan state"),
        ("gas_pressure_atm: six", "cells[0] ('c').scans[0].gas_pressure_atm", "not a number"),
        ("gas_pressure_atm: -1", "cells[0] ('c').scans[0].gas_pressure_atm", "below 0"),
        ("voxel_size_um: 0", "cells[0] ('c').scans[0].voxel_size_um", "not a positive number"),
        ("voxel_size_um: [1, 2]", "cells[0] ('c').scans[0].voxel_size_um", "needs 1 or 3 numbers"),
        ("thresholds: [1, 2]", "cells[0] ('c').scans[0].thresholds", "not a mapping"),
        ("thresholds: {li_void: .nan}", "cells[0] ('c').scans[0].thresholds.li_void", "not a finite number"),
    ],
)
def test_bad_scan_values_name_the_key(tmp_path, snippet, key, words):
    text = f"schema_version: 1\ncells:\n  - name: c\n    scans:\n      - path: x.tif\n        {snippet}\n"
    path = _write(tmp_path, text)
    with pytest.raises(LiCellInputError) as err:
        load_study(path)
    assert err.value.path == path
    assert err.value.problem.startswith(f"{key}: ")
    assert words in err.value.problem


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "is empty"),
        ("- a\n- b\n", "not a napari-licell study file"),
        ("title: hello\n", "not a napari-licell study file"),
        ("schema_version: 2\ncells: []\n", "schema_version: 2 is newer"),
        ("schema_version: one\n", "schema_version: 'one' is not a positive whole number"),
        ("schema_version: 1\ncells: {a: 1}\n", "cells: is dict"),
        ("schema_version: 1\ncells:\n  - name: a\n  - name: a\n", "cells[1].name: 'a' is used by another cell"),
        ("schema_version: 1\ncells:\n  - bonding_process: none\n", "cells[0].name: is missing"),
        ("schema_version: 1\ncells:\n  - name: a\n    scans:\n      - gas: Xe\n", "scans[0].path: is missing"),
        ("schema_version: 1\ncells:\n  - name: a\n    charge_minutes: true\n", "charge_minutes: True is not a number"),
    ],
)
def test_bad_documents(tmp_path, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(LiCellInputError) as err:
        load_study(path)
    assert err.value.path == path
    assert words in err.value.problem


def test_missing_or_binary_file(tmp_path):
    with pytest.raises(LiCellInputError, match="does not exist"):
        load_study(tmp_path / "nope.licell.yaml")
    binary = tmp_path / "bin.licell.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(LiCellInputError, match="not a text file"):
        load_study(binary)


def test_free_text_bonding_process_and_missing_schema_version(tmp_path):
    text = "cells:\n  - name: c\n    bonding_process: hot pressed 150 C\n"
    study = load_study(_write(tmp_path, text))
    assert study.schema_version == 1
    assert study.cells[0].bonding_process == "hot pressed 150 C"
    assert study.name == "study"


def test_save_checks_values_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "s.licell.yaml"
    good = Study(name="s", cells=[CellRecord(name="c", scans=[ScanRecord(path=tmp_path / "x.tif", gas="Xe")])])
    save_study(good, path)
    before = path.read_bytes()
    bad = Study(name="s", cells=[CellRecord(name="c", scans=[ScanRecord(path=tmp_path / "x.tif", gas="Kr")])])
    with pytest.raises(LiCellInputError) as err:
        save_study(bad, path)
    assert err.value.path == path and "scans[0].gas" in err.value.problem
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["s.licell.yaml"]
