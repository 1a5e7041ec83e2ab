"""Autosave survives a crash and an interrupted write; explicit saves retire older autosaves."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from napari_licell.autosave import labels as autosave_labels
from napari_licell.autosave import (
    AUTOSAVE_DIRNAME,
    discard,
    find_recoverable,
    mark_explicit_save,
    restore,
    write_autosave,
)
from napari_licell.errors import LiCellInputError


def _volumes(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, size=(12, 20, 24), dtype=np.uint8)
    scribbles = np.where(rng.random(labels.shape) < 0.05, labels, 0).astype(np.uint8)
    return labels, scribbles


def test_crash_then_recover_gives_identical_arrays(tmp_path):
    labels, scribbles = _volumes(0)
    expected_labels, expected_scribbles = labels.copy(), scribbles.copy()
    path = write_autosave(tmp_path, "cell A classes", labels, scribbles, metadata={"scale": [0.54] * 3})
    assert path.parent == tmp_path / AUTOSAVE_DIRNAME
    del labels, scribbles  # "crash": the in-memory objects are gone
    gc.collect()

    found = find_recoverable(tmp_path)
    assert [r.name for r in found] == ["cell A classes"]
    assert found[0].explicit_saved_at is None
    record = restore(found[0].path)
    np.testing.assert_array_equal(record.labels, expected_labels)
    np.testing.assert_array_equal(record.scribbles, expected_scribbles)
    assert record.labels.dtype == np.uint8
    assert record.metadata == {"scale": [0.54, 0.54, 0.54]}


def test_interrupted_autosave_keeps_previous(tmp_path, monkeypatch):
    first, first_scr = _volumes(1)
    write_autosave(tmp_path, "classes", first, first_scr)
    second, second_scr = _volumes(2)
    real = np.savez_compressed

    def dies_mid_write(fh, **arrays):
        real(fh, **arrays)  # bytes are already in the temporary file ...
        raise KeyboardInterrupt("power cut")  # ... when the write is interrupted

    monkeypatch.setattr(autosave_labels.np, "savez_compressed", dies_mid_write)
    with pytest.raises(KeyboardInterrupt):
        write_autosave(tmp_path, "classes", second, second_scr)
    monkeypatch.undo()

    record = restore(find_recoverable(tmp_path)[0].path)
    np.testing.assert_array_equal(record.labels, first)
    np.testing.assert_array_equal(record.scribbles, first_scr)
    leftovers = [p.name for p in (tmp_path / AUTOSAVE_DIRNAME).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_explicit_save_retires_older_autosaves(tmp_path):
    labels, _ = _volumes(3)
    write_autosave(tmp_path, "a", labels, saved_at=100.0)
    write_autosave(tmp_path, "b", labels, saved_at=300.0)
    mark_explicit_save(tmp_path, "a", saved_at=200.0)
    mark_explicit_save(tmp_path, "b", saved_at=200.0)
    assert [r.name for r in find_recoverable(tmp_path)] == ["b"]
    write_autosave(tmp_path, "a", labels, saved_at=400.0)  # edited again after the save
    assert [r.name for r in find_recoverable(tmp_path)] == ["a", "b"]  # newest first
    assert restore(find_recoverable(tmp_path)[0].path).scribbles is None
    discard(find_recoverable(tmp_path)[0].path)
    assert [r.name for r in find_recoverable(tmp_path)] == ["b"]


def test_damaged_autosave_is_skipped_and_refused(tmp_path):
    write_autosave(tmp_path, "good", np.zeros((2, 3, 4), np.uint8))
    bad = tmp_path / AUTOSAVE_DIRNAME / "bad.autosave.npz"
    bad.write_bytes(b"\x00garbage")
    assert [r.name for r in find_recoverable(tmp_path)] == ["good"]
    with pytest.raises(LiCellInputError, match="bad.autosave.npz"):
        restore(bad)
    assert find_recoverable(tmp_path / "nowhere") == []


def test_stale_temporaries_of_a_killed_write_are_removed_fresh_ones_kept(tmp_path):
    import os
    import time

    from napari_licell.autosave import autosave_dir, find_recoverable, write_autosave

    write_autosave(tmp_path, "scan", np.zeros((2, 3, 4), np.uint8))
    folder = autosave_dir(tmp_path)
    stale = folder / ".scan.autosave.npz.1234abcd.tmp"
    fresh = folder / ".scan.autosave.npz.5678ef00.tmp"
    for p in (stale, fresh):
        p.write_bytes(b"half a write")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert [r.name for r in find_recoverable(tmp_path)] == ["scan"]
    assert not stale.exists() and fresh.exists()
