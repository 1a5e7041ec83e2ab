"""``napari-licell batch`` on a 3-cell subset of the demo study: verdicts, resume, cluster, bad scan, Ctrl-C."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from napari_licell.cli import main
from napari_licell import pipeline
from napari_licell.commands.demo import write_demo_study
from napari_licell.study.study_file import load_study, save_study

#: Cells of the subset study and the verdict analyze gives them (the dummy Li + carbon cell has no SE).
EXPECTED_VERDICT = {"process3_after_Xe6": "uniform", "none_after_Xe6": "non-uniform", "dummy_Xe6": "undetermined"}
NUMBERS = (
    "li_volume_um3",
    "li_layer_mean_thickness_um",
    "li_layer_std_thickness_um",
    "li_layer_coverage",
    "li_in_se_fraction_of_li",
    "li_in_se_max_depth_um",
    "faraday_thickness_um",
    "verdict",
)


def _subset_study(folder: Path) -> Path:
    full = load_study(write_demo_study(folder))
    full.cells = [c for c in full.cells if c.name in EXPECTED_VERDICT]
    return save_study(full, folder / "subset.licell.yaml")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return _subset_study(tmp_path_factory.mktemp("study"))


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="", encoding="utf-8") as fh:
        return {row["cell"]: row for row in csv.DictReader(fh)}


def _numbers(rows: dict[str, dict[str, str]]) -> dict[str, tuple[str, ...]]:
    return {cell: tuple(row[k] for k in NUMBERS) for cell, row in rows.items()}


def _hidden(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*")]


@pytest.fixture(scope="module")
def first_run(study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch") / "results"
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 0
    return out


def test_batch_writes_scan_folders_and_summary(first_run):
    rows = _rows(first_run)
    assert {c: r["verdict"] for c, r in rows.items()} == EXPECTED_VERDICT
    assert all(r["status"] == "done" and r["error"] == "" for r in rows.values())
    for cell, row in rows.items():
        folder = first_run / row["folder"]
        assert folder == first_run / cell / cell
        for name in ("labels.tif", "measurements.json", "report.html"):
            assert (folder / name).is_file(), name
    p3 = rows["process3_after_Xe6"]
    assert 60 < float(p3["li_layer_mean_thickness_um"]) < 70  # the paper's ~65 um layer
    assert float(p3["faraday_thickness_um"]) == pytest.approx(64.65, abs=0.05)
    assert float(rows["none_after_Xe6"]["li_in_se_fraction_of_li"]) > 0.9
    assert p3["gas"] == "Xe" and p3["process"] == "process3" and p3["state"] == "after"
    html = (first_run / "summary.html").read_text(encoding="utf-8")
    assert all(cell in html for cell in EXPECTED_VERDICT)
    assert _hidden(first_run) == []


def test_rerun_skips_finished_scans_with_identical_numbers(study, first_run, monkeypatch, capsys):
    before = _numbers(_rows(first_run))

    def must_not_run(volume, *args, **kwargs):
        raise AssertionError(f"analyze ran again for {volume}")

    monkeypatch.setattr(pipeline, "run_analysis", must_not_run)
    capsys.readouterr()
    assert main(["batch", str(study), "--out", str(first_run), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    skipped = [ln for ln in printed.splitlines() if ln.startswith("skipped ")]
    assert len(skipped) == len(EXPECTED_VERDICT)
    assert all("inputs and parameters unchanged" in ln for ln in skipped)
    assert "3 skipped as already done" in printed
    assert _numbers(_rows(first_run)) == before
    assert {r["status"] for r in _rows(first_run).values()} == {"skipped"}


def test_changed_parameter_reanalyses_only_that_scan(study, first_run, tmp_path, capsys):
    out = tmp_path / "results"
    shutil.copytree(first_run, out)
    changed = load_study(study)
    changed.cell("process3_after_Xe6").charge_minutes = 2000.0
    path = save_study(changed, study.parent / "changed.licell.yaml")
    capsys.readouterr()
    assert main(["batch", str(path), "--out", str(out), "--workers", "1"]) == 0
    rows = _rows(out)
    assert rows["process3_after_Xe6"]["status"] == "done"
    assert float(rows["process3_after_Xe6"]["faraday_thickness_um"]) == pytest.approx(64.65 / 2, abs=0.05)
    assert {rows[c]["status"] for c in ("none_after_Xe6", "dummy_Xe6")} == {"skipped"}
    assert "done    process3_after_Xe6/process3_after_Xe6" in capsys.readouterr().out


def test_distributed_cluster_gives_the_same_numbers(study, first_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "cluster"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert main(["batch", str(study), "--out", str(out), "--scheduler", cluster.scheduler_address]) == 0
    rows = _rows(out)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert _numbers(rows) == _numbers(_rows(first_run))


def test_an_address_nobody_listens_on_fails_in_seconds_with_one_line(study, tmp_path, capsys):
    import socket
    import time

    pytest.importorskip("distributed")
    with socket.socket() as s:  # a free port: nothing listens there once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    capsys.readouterr()
    assert main(["batch", str(study), "--out", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    assert time.perf_counter() - t0 < 15  # not the client's 30 s timeout
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot reach the dask scheduler at tcp://127.0.0.1:{port}" in err, err


def test_broken_scan_is_reported_and_the_others_are_done(tmp_path, capsys):
    study_path = _subset_study(tmp_path / "study")
    broken = load_study(study_path).cell("none_after_Xe6").scans[0].path
    broken.write_bytes(b"II*\x00" + b"\x00garbage" * 100)
    out = tmp_path / "results"
    capsys.readouterr()
    assert main(["batch", str(study_path), "--out", str(out), "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    rows = _rows(out)
    bad = rows["none_after_Xe6"]
    assert bad["status"] == "failed" and str(broken) in bad["error"] and bad["verdict"] == ""
    assert not (out / "none_after_Xe6").exists() or not any((out / "none_after_Xe6").iterdir())
    for cell in ("process3_after_Xe6", "dummy_Xe6"):
        assert rows[cell]["status"] == "done" and rows[cell]["verdict"] == EXPECTED_VERDICT[cell]
        assert (out / cell / cell / "measurements.json").is_file()


def test_interrupt_leaves_only_complete_scan_folders_and_rerun_completes(study, tmp_path, monkeypatch, capsys):
    real = pipeline.run_analysis
    calls = []

    def interrupt_second(volume, *args, **kwargs):
        calls.append(volume)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(volume, *args, **kwargs)

    monkeypatch.setattr(pipeline, "run_analysis", interrupt_second)
    out = tmp_path / "results"
    capsys.readouterr()
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["napari-licell: interrupted"]
    assert _hidden(out) == []
    finished = [p for p in out.glob("*/*") if p.is_dir()]
    assert len(finished) == 1
    assert {"labels.tif", "measurements.json", "report.html", "batch.json"} <= {f.name for f in finished[0].iterdir()}
    assert not (out / "summary.csv").exists()

    monkeypatch.setattr(pipeline, "run_analysis", real)
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 0
    rows = _rows(out)
    assert {c: r["verdict"] for c, r in rows.items()} == EXPECTED_VERDICT
    assert sorted(r["status"] for r in rows.values()) == ["done", "done", "skipped"]


def test_memory_limit_bounds_the_scans_run_at_once():
    from napari_licell.batch.memory_budget import concurrency_for_budget, scan_memory_estimate_bytes

    demo = scan_memory_estimate_bytes((300, 128, 128))
    big = scan_memory_estimate_bytes((300, 7808, 7808))
    assert 2.77e9 < demo < 2.79e9  # worker base + analyze's 2 GiB budget + 4.9 MB of labels
    assert big == pytest.approx(600 * 2**20 + 2 * 2**30 + 512 * 2**20)  # labels above 512 M voxels go to disk
    assert concurrency_for_budget([demo] * 6, workers=4, budget_bytes=None) == 4
    assert concurrency_for_budget([demo] * 6, workers=4, budget_bytes=int(6e9)) == 2
    assert concurrency_for_budget([demo, big], workers=4, budget_bytes=int(4e9)) == 1


def test_batch_with_a_classifier_model_resumes_by_the_model_file(tmp_path, capsys):
    """--model classifies every scan with the forest; a rerun skips them until the model file changes."""
    from napari_licell.classifier import PixelClassifier
    from napari_licell.phantoms import load_demo_cell
    from napari_licell.phantoms.strokes import simulated_strokes

    study_path = _subset_study(tmp_path / "study")
    small = load_study(study_path)
    small.cells = [c for c in small.cells if c.name in ("process3_after_Xe6", "none_after_Xe6")]
    study_path = save_study(small, study_path.parent / "two.licell.yaml")
    cell = load_demo_cell("process3_after_Xe6")
    crop = (slice(None), slice(0, 40), slice(0, 40))

    def train(seed: int) -> Path:
        model = PixelClassifier(n_estimators=16)
        model.fit(cell.image[crop], simulated_strokes(cell.labels[crop], seed=seed))
        return model.save(tmp_path / "model.joblib")

    model = train(0)
    out = tmp_path / "results"
    assert main(["batch", str(study_path), "--out", str(out), "--workers", "1", "--model", str(model)]) == 0
    rows = _rows(out)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert rows["process3_after_Xe6"]["verdict"] == "uniform"
    m = json.loads((out / "process3_after_Xe6" / "process3_after_Xe6" / "measurements.json").read_text())
    assert m["provenance"]["parameters"]["model"] == str(model)
    assert main(["batch", str(study_path), "--out", str(out), "--workers", "1", "--model", str(model)]) == 0
    assert {r["status"] for r in _rows(out).values()} == {"skipped"}
    train(1)  # same path, new content: every scan is analysed again
    assert main(["batch", str(study_path), "--out", str(out), "--workers", "1", "--model", str(model)]) == 0
    assert {r["status"] for r in _rows(out).values()} == {"done"}
    capsys.readouterr()
    assert main(["batch", str(study_path), "--out", str(out), "--model", str(tmp_path / "none.joblib")]) == 2
    assert "model file not found" in capsys.readouterr().err
