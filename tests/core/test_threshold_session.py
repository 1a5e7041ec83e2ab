"""The Thresholds dock's state without Qt: the session's recovery offer, the labels-in-memory-or-store rule of
applying thresholds, the labels' metadata, and the judgement of a scan as analyze makes it."""

from __future__ import annotations

import numpy as np
import pytest

from napari_licell import pipeline
from napari_licell.cancellation import Cancelled
from napari_licell.classes import LI, METAL, SE, SE_LI, VOID
from napari_licell.errors import LiCellInputError
from napari_licell.phantoms import load_demo_cell
from napari_licell.segmentation.thresholds import ThresholdSet
from napari_licell.threshold_session import (
    ScanRef,
    ThresholdSession,
    classify_to_labels,
    count_histograms,
    describe_thresholds,
    labels_metadata,
    verdict_with_gas_note,
)


def _thresholds(shift: float = 0.0) -> ThresholdSet:
    return ThresholdSet(
        values=(1060.0 + shift, 1120.0, 1500.0, 2300.0),
        classes=(LI.code, VOID.code, SE_LI.code, SE.code, METAL.code),
        method="peaks",
        notes=("Li and gas separable",),
    )


@pytest.fixture(scope="module")
def cell():
    return load_demo_cell("process1_after_Xe6")


def test_a_hand_change_is_offered_to_the_next_session_until_restored(tmp_path):
    scan_file = tmp_path / "cell.tif"
    scan_file.write_bytes(b"")
    first, offers = ThresholdSession(), []
    first.set_thresholds(ScanRef(1, "cell", str(scan_file)), _thresholds())
    assert not first.pending  # a suggestion is not a hand change
    first.move(ScanRef(1, "cell", str(scan_file)), 0, 1050.5)
    assert first.pending
    path = first.write_pending_now()
    assert path is not None and path.exists() and not first.pending
    assert first.check_recovery(ScanRef(1, "cell", str(scan_file))) is None  # never its own autosave

    second = ThresholdSession()
    second.recovery_changed.connect(lambda record, damaged: offers.append((record, damaged)))
    scan = ScanRef(7, "cell", str(scan_file))
    record = second.check_recovery(scan)
    assert record is not None and record.thresholds.values[0] == 1050.5 and second.offered is record
    assert offers[-1] == (record, False)
    restored = second.restore_offered(scan)
    assert restored.values[0] == 1050.5 and second.thresholds(scan).values[0] == 1050.5
    assert second.offered is None and offers[-1] == (None, False)
    assert second.check_recovery(scan) is None  # restored: not offered again


def test_a_newer_write_withdraws_the_offer_and_apply_retires_the_autosave(tmp_path):
    folder_scan = ScanRef(1, "cell", str(tmp_path / "cell.tif"))
    (tmp_path / "cell.tif").write_bytes(b"")
    writer = ThresholdSession()
    writer.set_thresholds(folder_scan, _thresholds(-5.0), by_hand=True)
    writer.write_pending()
    session = ThresholdSession()
    assert session.check_recovery(folder_scan) is not None
    session.set_thresholds(folder_scan, _thresholds(-9.0), by_hand=True)
    session.write_pending_now()  # the user kept working: the offer is replaced
    assert session.offered is None
    session.mark_applied(folder_scan, _thresholds(-9.0))
    assert ThresholdSession().check_recovery(folder_scan) is None  # applied: nothing to recover
    assert session.check_recovery(None) is None


def test_a_damaged_autosave_is_offered_for_discarding_only(tmp_path):
    scan_file = tmp_path / "cell.tif"
    scan_file.write_bytes(b"")
    scan = ScanRef(1, "cell", str(scan_file))
    writer = ThresholdSession()
    writer.set_thresholds(scan, _thresholds(), by_hand=True)
    path = writer.write_pending()
    path.write_text("{not json", encoding="utf-8")
    session, offers = ThresholdSession(), []
    session.recovery_changed.connect(lambda record, damaged: offers.append((record, damaged)))
    with pytest.raises(LiCellInputError):
        session.check_recovery(scan)
    assert offers[-1] == (None, True) and session.offered is None
    session.discard_offered()
    assert not path.exists() and offers[-1] == (None, False)


def test_labels_stay_in_memory_when_they_fit_and_go_to_a_store_otherwise(cell, tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path / "cache"))
    data = np.asarray(cell.image)
    hists = pipeline.scan_histograms(data)
    options = pipeline.AnalysisOptions(gas="Xe", gas_pressure_atm=6.0)
    ts = pipeline.suggest_scan_thresholds(hists, options)
    in_memory = classify_to_labels(data, ts, options, name="cell", voxel_size_um=(1.0, 1.0, 1.0), histograms=hists)
    assert isinstance(in_memory.labels, np.ndarray)
    small = options.evolve(memory_limit_bytes=data.size)  # half the budget is less than the labels
    stored = classify_to_labels(data, ts, small, name="cell A/1", voxel_size_um=(1.0, 1.0, 1.0), histograms=hists)
    assert not isinstance(stored.labels, np.ndarray)
    stores = list((tmp_path / "cache" / "label-stores").iterdir())
    assert len(stores) == 1 and stores[0].name.startswith("cell_A_1-") and (stores[0] / "labels.zarr").exists()
    assert np.array_equal(np.asarray(stored.labels[:]), in_memory.labels)  # the same labels either way


def test_a_cancelled_apply_leaves_no_store_behind(cell, tmp_path, monkeypatch):
    monkeypatch.setenv("LICELL_CACHE_DIR", str(tmp_path / "cache"))
    data = np.asarray(cell.image)
    options = pipeline.AnalysisOptions(gas="Xe", gas_pressure_atm=6.0, memory_limit_bytes=data.size)
    with pytest.raises(Cancelled):
        classify_to_labels(
            data, _thresholds(), options, name="cell", voxel_size_um=(1.0, 1.0, 1.0), cancel=lambda: True
        )
    assert list((tmp_path / "cache" / "label-stores").iterdir()) == []


def test_counted_histograms_and_verdict_are_analyzes(cell):
    data = np.asarray(cell.image)
    options = pipeline.AnalysisOptions()  # no gas given: inferred from the data, as analyze does
    calls = []
    [(token, hists, _region, corrected)] = count_histograms(
        [(5, data)], options, progress=lambda d, t: calls.append((d, t))
    )
    prepared = pipeline.prepare_scan(data, options)
    assert token == 5 and np.array_equal(hists.full.counts, prepared.histograms.full.counts)
    assert np.array_equal(np.asarray(corrected), np.asarray(prepared.data)) and calls
    session = ThresholdSession()
    session.store_histograms(5, hists, None, corrected)
    assert session.corrected(5, "raw") is corrected and session.corrected(6, "raw") == "raw"
    verdict = session.verdict(5, options)
    _resolved, inference, expected = pipeline.judge_scan_contrast(hists, options)
    assert verdict.separable == expected.separable and verdict.li_void_cnr == expected.li_void_cnr
    if inference is not None and inference.gas is not None:
        assert "inferred from the data" in verdict.reason
    assert session.verdict(6, options) is None
    assert session.resolved_options(5, options).gas == _resolved.gas
    given = options.evolve(gas="Xe", gas_pressure_atm=6.0)
    assert "inferred" not in verdict_with_gas_note(hists, given).reason


def test_labels_metadata_and_description():
    class Result:
        thresholds, partial_volume, carbon_band = _thresholds(), True, None

    meta = labels_metadata(Result(), "cell", "none", {"cnr": 5.0})
    assert meta["role"] == "labels" and meta["scan"] == "cell" and meta["source_image"] == "cell"
    assert meta["thresholds"] == _thresholds().to_dict() and meta["contrast"] == {"cnr": 5.0}
    assert "carbon_band" not in meta and labels_metadata(Result(), "cell", "none", None).get("contrast") is None
    text = describe_thresholds(_thresholds())
    assert text.startswith("(peaks): ") and "1060" in text and text.endswith("; Li and gas separable")
