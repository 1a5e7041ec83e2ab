"""Atomic writes: a writer that fails midway leaves the previous good file and no temp files."""

from __future__ import annotations

import csv
import json
import os
import stat

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_licell.errors import LiCellInputError
from napari_licell.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from napari_licell.io.read_volume import read_volume
from napari_licell.io.writers import (
    write_json,
    write_labels_tiff,
    write_table_csv,
    write_volume_tiff,
    write_volume_zarr,
)


class Boom(RuntimeError):
    pass


def _failing_after(block_index: int, shape=(40, 32, 32), chunks=(8, 32, 32)) -> da.Array:
    """A dask volume whose block ``block_index`` raises when computed."""

    def make(block, block_info=None):
        if block_info[None]["chunk-location"][0] == block_index:
            raise Boom("disk full (simulated)")
        return np.full(block.shape, block_info[None]["chunk-location"][0], np.uint16)

    return da.zeros(shape, chunks=chunks, dtype=np.uint16).map_blocks(make, dtype=np.uint16)


def _listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_failing_tiff_write_keeps_previous_file(tmp_path):
    path = tmp_path / "scan.tif"
    good = np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)
    write_volume_tiff(path, good, 0.54)
    before = path.read_bytes()
    with pytest.raises(Boom):
        write_volume_tiff(path, _failing_after(3), 0.54)  # blocks 0-2 are written first
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["scan.tif"]
    np.testing.assert_array_equal(read_volume(path).data.compute(), good)


def test_failing_first_tiff_write_leaves_nothing(tmp_path):
    with pytest.raises(Boom):
        write_volume_tiff(tmp_path / "new.tif", _failing_after(1), 0.54)
    assert _listing(tmp_path) == []


def test_bad_label_codes_midway_keep_previous_labels(tmp_path):
    path = tmp_path / "labels.tif"
    write_labels_tiff(path, np.ones((4, 8, 8), np.uint8), 0.54)
    before = path.read_bytes()
    labels = np.zeros((40, 8, 8), np.int32)
    labels[30:] = 300  # out of uint8 range, found only when that block is written
    with pytest.raises(LiCellInputError, match="0..255"):
        write_labels_tiff(path, da.from_array(labels, chunks=(10, 8, 8)), 0.54)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["labels.tif"]


def test_failing_zarr_write_keeps_previous_store(tmp_path):
    path = tmp_path / "scan.zarr"
    good = np.full((8, 16, 16), 7, np.uint16)
    write_volume_zarr(path, good, 0.54)
    files_before = sorted(str(p.relative_to(path)) for p in path.rglob("*"))
    with pytest.raises(Boom):
        write_volume_zarr(path, _failing_after(2, shape=(40, 16, 16), chunks=(8, 16, 16)), 0.54, chunks=(8, 16, 16))
    assert sorted(str(p.relative_to(path)) for p in path.rglob("*")) == files_before
    assert _listing(tmp_path) == ["scan.zarr"]
    np.testing.assert_array_equal(read_volume(path).data.compute(), good)
    # and a successful rewrite replaces the store completely
    write_volume_zarr(path, np.ones((4, 16, 16), np.uint8), 0.54)
    assert read_volume(path).shape == (4, 16, 16)
    assert _listing(tmp_path) == ["scan.zarr"]


def test_failing_table_and_json_keep_previous_files(tmp_path):
    table = tmp_path / "m.csv"
    write_table_csv(table, [{"cell": "p3", "li_thickness_um": 64.7}])
    before = table.read_bytes()
    with pytest.raises(TypeError):
        write_json(tmp_path / "m.json", {"bad": object()})
    with pytest.raises(ValueError, match="different lengths"):
        write_table_csv(table, {"a": [1, 2], "b": [1]})
    assert table.read_bytes() == before
    assert _listing(tmp_path) == ["m.csv"]
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert rows == [{"cell": "p3", "li_thickness_um": "64.7"}]


def test_atomic_path_removes_temp_on_interrupt(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new cont")
            raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert _listing(tmp_path) == ["f.txt"]


def test_atomic_path_requires_the_writer_to_create_the_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "never.bin"):
            pass
    assert _listing(tmp_path) == []


def test_atomic_write_keeps_permissions(tmp_path):
    path = tmp_path / "shared.csv"
    atomic_write_bytes(path, b"a\n")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"b\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_bytes() == b"b\n"


def test_successful_writes_produce_readable_files(tmp_path):
    write_json(tmp_path / "m.json", {"li_volume_um3": np.float64(12.5), "nan": float("nan"), "n": np.int64(3)})
    assert json.loads((tmp_path / "m.json").read_text()) == {"li_volume_um3": 12.5, "nan": None, "n": 3}
    write_table_csv(tmp_path / "cols.csv", {"z_um": np.array([0.0, 0.54]), "li_fraction": [0.1, float("nan")]})
    assert (tmp_path / "cols.csv").read_text() == "z_um,li_fraction\n0.0,0.1\n0.54,nan\n"
    write_volume_tiff(tmp_path / "v.tif", np.zeros((2, 4, 4), np.float32), 0.54)
    with tifffile.TiffFile(tmp_path / "v.tif") as tif:
        assert tif.is_imagej and tif.series[0].shape == (2, 4, 4)
    assert not [n for n in _listing(tmp_path) if n.startswith(".")]
