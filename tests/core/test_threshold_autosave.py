"""Threshold autosave: exact round trip, atomic replace, apply retires it, damaged files are bad input."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from napari_licell.autosave import thresholds as threshold_autosave
from napari_licell.autosave import AUTOSAVE_DIRNAME, find_recoverable, write_autosave
from napari_licell.classes import LI, METAL, SE, SE_LI, VOID
from napari_licell.errors import LiCellInputError
from napari_licell.segmentation.thresholds import ThresholdSet
from napari_licell.autosave.thresholds import (
    autosave_folder_for,
    discard_threshold_autosave,
    find_recoverable_thresholds,
    mark_thresholds_applied,
    read_threshold_autosave,
    scan_key,
    threshold_autosave_path,
    write_threshold_autosave,
)


def _thresholds(shift: float = 0.0) -> ThresholdSet:
    """A full five-class set with awkward floats, NaN level, calibration and notes."""
    return ThresholdSet(
        values=(1061.7300000000001 + shift, 1123.4567891234, 1502.0000000003, 2311.1),
        classes=(LI.code, VOID.code, SE_LI.code, SE.code, METAL.code),
        method="peaks (edited)",
        grey_scale={"per_inv_cm": 100.0, "offset": 1000.0},
        levels=(1040.0, 1090.5, float("nan"), 1700.25, 3100.0),
        noise_sigma=7.123456789,
        notes=("moved by hand", "Li and gas separable"),
    )


def _same(a: ThresholdSet, b: ThresholdSet) -> bool:
    return a.to_dict() == b.to_dict() and a.values == b.values


def test_round_trip_is_exact_and_records_source_and_state(tmp_path):
    scan = tmp_path / "cell A.tif"
    scan.write_bytes(b"")
    ts = _thresholds()
    folder = autosave_folder_for(scan)
    assert folder == tmp_path
    key = scan_key(scan, "cell A")
    assert key == "cell A.tif"
    path = write_threshold_autosave(folder, key, ts, source=scan, layer_name="cell A", saved_at=1234.5)
    assert path == threshold_autosave_path(folder, key)
    assert path.parent == tmp_path / AUTOSAVE_DIRNAME and path.name.endswith(".thresholds.json")

    record = read_threshold_autosave(path)
    assert record.thresholds.values == ts.values  # bit-exact grey values, not approximately
    assert record.thresholds.classes == ts.classes
    assert math.isnan(record.thresholds.levels[2]) and record.thresholds.levels[3] == 1700.25
    assert record.thresholds.noise_sigma == ts.noise_sigma and record.thresholds.notes == ts.notes
    assert record.thresholds.grey_scale == ts.grey_scale and record.thresholds.method == "peaks (edited)"
    assert record.source == str(scan.resolve()) and record.layer_name == "cell A"
    assert record.saved_at == 1234.5 and record.applied is False and record.needs_recovery
    found = find_recoverable_thresholds(folder, key, scan)
    assert found is not None and _same(found.thresholds, ts)


def test_layers_without_a_file_use_the_cache_folder_and_layer_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path / "cache"))
    assert autosave_folder_for(None) == tmp_path / "cache" / "unsaved-scans"
    assert scan_key(None, "process3_after_Xe6") == "process3_after_Xe6"
    with pytest.raises(ValueError):
        scan_key(None, None)
    path = write_threshold_autosave(autosave_folder_for(None), "a/b: c", _thresholds())
    assert path.parent == tmp_path / "cache" / "unsaved-scans" / AUTOSAVE_DIRNAME
    assert "/" not in path.name and ":" not in path.name
    assert find_recoverable_thresholds(autosave_folder_for(None), "a/b: c") is not None


def test_apply_retires_the_autosave_until_thresholds_move_again(tmp_path):
    key = "scan.tif"
    write_threshold_autosave(tmp_path, key, _thresholds(-20.0), saved_at=100.0)
    assert find_recoverable_thresholds(tmp_path, key).saved_at == 100.0
    mark_thresholds_applied(tmp_path, key, _thresholds(-20.0), applied_at=200.0)
    assert find_recoverable_thresholds(tmp_path, key) is None
    record = read_threshold_autosave(threshold_autosave_path(tmp_path, key))
    assert record.applied and record.applied_at == 200.0 and not record.needs_recovery
    # an autosave stamped before the apply (a late timer) is not newer work
    write_threshold_autosave(tmp_path, key, _thresholds(-30.0), saved_at=150.0)
    assert find_recoverable_thresholds(tmp_path, key) is None
    # moved again after the apply: offered, with the apply time kept
    write_threshold_autosave(tmp_path, key, _thresholds(-40.0), saved_at=300.0)
    found = find_recoverable_thresholds(tmp_path, key)
    assert found is not None and found.applied_at == 200.0
    assert found.thresholds.values[0] == _thresholds(-40.0).values[0]
    discard_threshold_autosave(found.path)
    assert find_recoverable_thresholds(tmp_path, key) is None
    discard_threshold_autosave(found.path)  # already gone: no error


def test_an_autosave_of_another_file_with_the_same_name_is_not_offered(tmp_path):
    first, second = tmp_path / "a" / "scan.tif", tmp_path / "b" / "scan.tif"
    write_threshold_autosave(tmp_path, "scan.tif", _thresholds(), source=first)
    assert find_recoverable_thresholds(tmp_path, "scan.tif", first) is not None
    assert find_recoverable_thresholds(tmp_path, "scan.tif", second) is None


def test_interrupted_write_keeps_the_previous_autosave(tmp_path, monkeypatch):
    from napari_licell.io import atomic

    write_threshold_autosave(tmp_path, "scan.tif", _thresholds(), saved_at=100.0)
    real_replace = atomic.os.replace

    def power_cut(src, dst):
        raise KeyboardInterrupt("power cut between writing and renaming")

    monkeypatch.setattr(atomic.os, "replace", power_cut)
    with pytest.raises(KeyboardInterrupt):
        write_threshold_autosave(tmp_path, "scan.tif", _thresholds(-50.0), saved_at=200.0)
    monkeypatch.setattr(atomic.os, "replace", real_replace)

    record = read_threshold_autosave(threshold_autosave_path(tmp_path, "scan.tif"))
    assert record.saved_at == 100.0 and _same(record.thresholds, _thresholds())
    leftovers = [p.name for p in (tmp_path / AUTOSAVE_DIRNAME).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_killed_writer_leaves_the_previous_autosave_readable(tmp_path, sigkill):
    """SIGKILL while rewriting the autosave in a loop: the file on disk is always a whole autosave."""
    import time

    write_threshold_autosave(tmp_path, "scan.tif", _thresholds(), saved_at=1.0)
    code = (
        "import sys, itertools\n"
        "from napari_licell.autosave.thresholds import write_threshold_autosave\n"
        "from napari_licell.segmentation.thresholds import ThresholdSet\n"
        "ts = ThresholdSet((1000.0, 2000.0), (1, 4, 6))\n"
        "print('writing', flush=True)\n"
        "for i in itertools.count(2):\n"
        "    write_threshold_autosave(sys.argv[1], 'scan.tif', ts, saved_at=float(i))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    sigkill.track(proc)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.5)  # hundreds of replaces have happened; the kill lands in one of them
    sigkill(proc)
    record = read_threshold_autosave(threshold_autosave_path(tmp_path, "scan.tif"))
    assert record.saved_at > 1.0  # the loop did replace it ...
    assert record.thresholds.values == (1000.0, 2000.0)  # ... and what is there is complete


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "empty", "foreign json", "future version", "bad thresholds", "list", "no saved_at"],
)
def test_damaged_autosave_is_bad_input_not_a_traceback(tmp_path, damage):
    path = write_threshold_autosave(tmp_path, "scan.tif", _thresholds(), saved_at=5.0)
    text = path.read_text("utf-8")
    record = json.loads(text)
    if damage == "truncated":
        path.write_text(text[: len(text) // 2], "utf-8")
    elif damage == "garbage":
        path.write_bytes(os.urandom(300) + b"\xff\xfe")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign json":
        path.write_text(json.dumps({"hello": "world"}), "utf-8")
    elif damage == "future version":
        record["format_version"] = 99
        path.write_text(json.dumps(record), "utf-8")
    elif damage == "bad thresholds":
        record["thresholds"]["values"] = [2000.0, 1000.0, 1500.0, 1200.0]  # not ascending
        path.write_text(json.dumps(record), "utf-8")
    elif damage == "list":
        path.write_text("[1, 2, 3]", "utf-8")
    elif damage == "no saved_at":
        del record["saved_at"]
        path.write_text(json.dumps(record), "utf-8")
    with pytest.raises(LiCellInputError) as info:
        read_threshold_autosave(path)
    assert info.value.path == path
    assert "autosave" in info.value.problem
    with pytest.raises(LiCellInputError):
        find_recoverable_thresholds(tmp_path, "scan.tif")
    discard_threshold_autosave(path)  # the way out the dock offers
    assert find_recoverable_thresholds(tmp_path, "scan.tif") is None


def test_missing_file_is_bad_input_and_not_recoverable(tmp_path):
    with pytest.raises(LiCellInputError, match="not found"):
        read_threshold_autosave(tmp_path / "nope.thresholds.json")
    assert find_recoverable_thresholds(tmp_path, "nope.tif") is None


def test_threshold_autosaves_do_not_confuse_the_label_autosaves(tmp_path):
    import numpy as np

    write_threshold_autosave(tmp_path, "scan.tif", _thresholds())
    write_autosave(tmp_path, "scan classes", np.zeros((2, 3, 4), np.uint8))
    assert [r.name for r in find_recoverable(tmp_path)] == ["scan classes"]
    assert find_recoverable_thresholds(tmp_path, "scan.tif") is not None


def test_module_imports_without_qt():
    code = (
        "import json, sys\n"
        "import napari_licell.autosave.thresholds\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'napari', 'vispy'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert threshold_autosave.THRESHOLD_AUTOSAVE_VERSION == 1
