"""Where painting lives outside the viewer, without Qt: the memory rule, start labels, interpolation, autosave."""

from __future__ import annotations

import numpy as np
import pytest

from napari_licell.classes import LABEL_DTYPE
from napari_licell.errors import LiCellInputError
from napari_licell.painting.paint_store import PaintAutosave, interpolated_voxels, start_labels


def test_painting_goes_to_label_stores_when_labels_and_strokes_do_not_fit(tmp_path):
    from napari_licell.painting.paint_volumes import is_on_disk, paint_stores, paints_on_disk

    assert not paints_on_disk((10, 100, 100), 2**30)  # 2 x 0.1 MB under half of 1 GB: in memory
    assert paints_on_disk((1000, 1000, 1000), 2**30)
    # 79 M voxels: classes and strokes (158 MB) fit half of 2 GB, a prediction's peak (~5 GB measured) does not
    assert paints_on_disk((300, 512, 512), 2 * 2**30) and not paints_on_disk((300, 512, 512), 6 * 2**30)
    source = np.zeros((12, 20, 30), np.uint8)
    source[3:9, 5:10, 7:20] = 4
    stores = paint_stores(tmp_path / "scan", source.shape, 0.54, source, "thr")
    assert is_on_disk(stores.classes) and is_on_disk(stores.scribbles) and not is_on_disk(source)
    np.testing.assert_array_equal(stores.classes[:], source)  # started from the labels, copied plane by plane
    assert not stores.scribbles[:].any()
    with pytest.raises(LiCellInputError, match="'thr' holds codes above"):
        paint_stores(tmp_path / "scan", source.shape, 0.54, source + 50, "thr")
    with pytest.raises(LiCellInputError, match="'thr' has shape"):
        paint_stores(tmp_path / "scan", (12, 20, 31), 0.54, source, "thr")


def test_start_labels_are_zeros_or_a_checked_copy():
    assert start_labels((2, 3, 4)).dtype == LABEL_DTYPE and not start_labels((2, 3, 4)).any()
    source = np.full((2, 3, 4), 4, dtype=np.int32)
    copy = start_labels((2, 3, 4), source, "thr")
    assert copy.dtype == LABEL_DTYPE and (copy == 4).all() and copy is not source
    with pytest.raises(LiCellInputError, match="'thr' has shape"):
        start_labels((2, 3, 5), source, "thr")
    with pytest.raises(LiCellInputError, match="outside the class table"):
        start_labels((2, 3, 4), source + 50, "thr")


def test_interpolation_fills_the_slices_between_two_painted_ones():
    scribbles = np.zeros((5, 8, 8), LABEL_DTYPE)
    scribbles[0, 2:6, 2:6] = 1
    scribbles[4, 2:6, 2:6] = 1
    z, y, x = interpolated_voxels(scribbles, 1, (1.0, 1.0))
    assert set(z.tolist()) == {1, 2, 3} and y.min() >= 2 and x.max() <= 5
    assert interpolated_voxels(scribbles, 2, (1.0, 1.0))[0].size == 0  # nothing painted with class 2


def test_interpolation_in_a_label_store_reads_only_the_painted_span(tmp_path):
    """A store larger than memory: only planes first..last painted are read whole, and z comes back in place."""
    from napari_licell.painting.paint_volumes import paint_stores

    scribbles = paint_stores(tmp_path / "scan", (60, 8, 8), 0.54).scribbles
    scribbles[40, 2:6, 2:6] = 1
    scribbles[44, 2:6, 2:6] = 1
    reads = []

    class Watched:
        shape = scribbles.shape

        def __getitem__(self, key):
            reads.append(key)
            return scribbles[key]

    z, y, x = interpolated_voxels(Watched(), 1, (1.0, 1.0))
    assert set(z.tolist()) == {41, 42, 43} and y.min() >= 2 and x.max() <= 5
    whole = [k for k in reads if isinstance(k, slice) and (k.stop or 60) - (k.start or 0) > 16]
    assert whole == []  # the store was never read whole


def test_autosave_is_written_found_restored_and_discarded(tmp_path):
    scan = tmp_path / "cell.tif"
    scan.write_bytes(b"")
    store = PaintAutosave()
    assert store.write("cell classes", np.zeros((2, 2, 2)), None) is None  # no folder yet
    assert store.follow_scan(scan) == tmp_path
    labels = np.arange(8, dtype=LABEL_DTYPE).reshape(2, 2, 2) % 3
    path = store.write("cell classes", labels, labels * 0, scan="cell", scale_um=(0.5, 0.5, 0.5))
    assert path is not None and store.last == path
    other = PaintAutosave()
    other.follow_scan(scan)
    [found] = other.find("cell classes")
    assert other.find("another scan classes") == [] and other.find(None) == []
    other.find("cell classes")
    with pytest.raises(LiCellInputError, match="not the scan's"):
        other.take(None, (3, 3, 3))
    r, record = other.take(None, (2, 2, 2))
    assert r.path == found.path and np.array_equal(record.labels, labels) and other.recoverable == []
    other.find("cell classes")
    other.discard()
    again = PaintAutosave()
    again.follow_scan(scan)
    assert again.find("cell classes") == [] and other.recoverable == [] and not found.path.exists()
