"""Bad input to the volume readers ends in LiCellInputError naming the file, never another exception."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_licell._napari.readers import read_volume_layers
from napari_licell.errors import LiCellInputError
from napari_licell.io.read_volume import read_volume
from napari_licell.io.volume import Volume
from napari_licell.io.writers import write_volume_tiff


def _volume(shape=(6, 16, 16), dtype="u2") -> np.ndarray:
    rng = np.random.default_rng(3)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    return rng.integers(0, 200, shape).astype(dtype)


def _error(path, **kwargs) -> LiCellInputError:
    with pytest.raises(LiCellInputError) as err:
        read_volume(path, **kwargs)
    return err.value


# ---------------------------------------------------------------- damaged files


def test_truncated_uncompressed_tiff(tmp_path):
    path = write_volume_tiff(tmp_path / "scan.tif", _volume(), 0.54)
    full = path.read_bytes()
    path.write_bytes(full[: len(full) * 2 // 3])
    err = _error(path)
    assert err.path == path
    assert "truncated" in err.problem


@pytest.mark.parametrize("compression", ["zlib", "packbits", "lzw"])
@pytest.mark.parametrize("keep", [0.3, 0.7, 0.97])
def test_truncated_compressed_tiff(tmp_path, compression, keep):
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, _volume((8, 32, 32)), compression=compression, photometric="minisblack")
    full = path.read_bytes()
    path.write_bytes(full[: int(len(full) * keep)])
    err = _error(path)
    assert err.path == path
    assert any(word in err.problem for word in ("truncated", "damaged", "could not read"))


def test_corrupt_compressed_slice_is_reported_when_read(tmp_path):
    data = _volume((9, 32, 32))
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, data, compression="zlib", photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[3].dataoffsets[0]  # slice 3: not the first slice, the one checked
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 40] = b"\xff" * 40
    path.write_bytes(bytes(raw))
    vol = read_volume(path)  # the damage is not in a checked slice...
    np.testing.assert_array_equal(vol.data[4].compute(), data[4])
    with pytest.raises(LiCellInputError) as err:  # ...and surfaces as our error when read
        vol.data[3].compute()
    assert err.value.path == path and "slice 3" in err.value.problem


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    err = _error(path)
    assert err.problem == "is empty (0 bytes)"


def test_text_file_named_tif(tmp_path):
    path = tmp_path / "notes.tif"
    path.write_text("this is not an image\n")
    err = _error(path)
    assert err.path == path and err.problem.startswith("is not a TIFF file") and "text" in err.problem


def test_unknown_file_and_missing_path(tmp_path):
    path = tmp_path / "thing.xyz"
    path.write_bytes(b"\x00\x01\x02\x03" * 10)
    assert "is not an image file" in _error(path).problem
    assert _error(tmp_path / "missing.tif").problem == "does not exist"


def test_2d_image(tmp_path):
    path = tmp_path / "slice.tif"
    tifffile.imwrite(path, np.zeros((30, 40), np.uint16))
    err = _error(path)
    assert err.problem == "is a 2D image (30 x 40); a volume needs at least 2 slices"
    assert "folder" in err.hint


def test_rgb_and_multichannel_tiffs(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((4, 8, 8, 3), np.uint8), photometric="rgb")
    assert "colour" in _error(tmp_path / "rgb.tif").problem
    tifffile.imwrite(tmp_path / "zc.tif", np.zeros((3, 2, 8, 8), np.uint16), imagej=True, metadata={"axes": "ZCYX"})
    assert "more than one stacking axis" in _error(tmp_path / "zc.tif").problem
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((2, 8, 8), np.uint16), imagej=True, metadata={"axes": "CYX"})
    assert "channels" in _error(tmp_path / "c.tif").problem


def test_unsupported_dtype(tmp_path):
    path = tmp_path / "complex.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 4), np.complex64), photometric="minisblack")
    err = _error(path)
    assert "not supported" in err.problem or "cannot be read" in err.problem


def test_nan_in_float_volume_is_no_data_not_an_error(tmp_path):
    """Instruments write NaN outside the reconstruction circle: the scan opens (issue 17)."""
    data = _volume((5, 8, 8), "f4")
    data[0, 3, 3] = np.nan
    data[2, 3, 3] = np.inf
    path = write_volume_tiff(tmp_path / "nan.tif", data, 0.54)
    vol = read_volume(path)
    assert vol.metadata["non_finite_in_first_slice"] == 1
    np.testing.assert_array_equal(np.asarray(vol.data), data)
    raw = tmp_path / "inf.raw"
    raw.write_bytes(data.tobytes())
    assert read_volume(raw, raw_shape=data.shape, raw_dtype="float32").shape == data.shape


@pytest.mark.parametrize("bad", [0, -0.54, float("nan"), float("inf"), 1e-4, 2e4, (0.54, 0.54, 0.0), (1, 2)])
def test_bad_voxel_size_given(tmp_path, bad):
    path = write_volume_tiff(tmp_path / "scan.tif", _volume(), 0.54)
    err = _error(path, voxel_size_um=bad)
    assert err.path == path and "voxel size" in err.problem


def test_absurd_voxel_size_in_file_can_be_overridden(tmp_path):
    path = tmp_path / "odd.tif"
    # 1e-6 um per pixel (1 pm): absurd.
    tifffile.imwrite(
        path, _volume(), imagej=True, resolution=(1e6, 1e6), metadata={"axes": "ZYX", "unit": "um", "spacing": 1e-6}
    )
    err = _error(path)
    assert "implausible" in err.problem and "stored in the file" in err.problem
    assert read_volume(path, voxel_size_um=0.54).voxel_size_um == (0.54, 0.54, 0.54)


@pytest.mark.parametrize("with_header", [0, 100])
def test_raw_size_mismatch_states_bytes(tmp_path, with_header):
    path = tmp_path / "scan.raw"
    path.write_bytes(b"\0" * with_header + np.zeros((5, 10, 10), "<u2").tobytes())
    err = _error(path, raw_shape=(6, 10, 10), raw_dtype="uint16", header_bytes=with_header)
    expected = with_header + 6 * 10 * 10 * 2
    actual = with_header + 5 * 10 * 10 * 2
    assert f"expected {expected} bytes" in err.problem and f"file has {actual} bytes" in err.problem
    assert "exactly 5 slices" in err.hint


def test_raw_without_shape_and_bad_raw_parameters(tmp_path):
    path = tmp_path / "scan.raw"
    path.write_bytes(b"\0" * 64)
    assert "raw_shape" in _error(path).hint
    assert "unknown pixel type" in _error(path, raw_shape=(2, 4, 4), raw_dtype="uint3").problem
    assert "byte order" in _error(path, raw_shape=(2, 4, 4), raw_dtype="u1", byte_order="middle").problem
    assert "raw_dtype" in _error(path, raw_shape=(2, 4, 4)).problem


def test_slice_folder_with_odd_slice_names_it(tmp_path):
    for i in range(4):
        tifffile.imwrite(tmp_path / f"im{i:03d}.tif", np.zeros((8, 8), np.uint8))
    tifffile.imwrite(tmp_path / "im004.tif", np.zeros((8, 9), np.uint8))
    err = _error(tmp_path)
    assert err.path == tmp_path / "im004.tif"
    assert "does not match the other slices" in err.problem and "8 x 9" in err.problem
    (tmp_path / "im004.tif").unlink()
    tifffile.imwrite(tmp_path / "im004.tif", np.zeros((8, 8), np.uint16))
    assert "uint16" in _error(tmp_path).problem


def test_folder_without_slices(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    assert "no TIFF slices" in _error(tmp_path).problem


def test_hdf5_problems(tmp_path):
    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("/a", data=np.zeros((2, 3, 4)))
        f.create_dataset("/b", data=np.zeros((2, 3, 4)))
        f.create_group("/g")
    assert "several image datasets" in _error(path).problem
    err = _error(path, dataset="/nope")
    assert "/nope" in err.problem and "/a (2, 3, 4)" in err.problem
    assert "is a group" in _error(path, dataset="/g").problem
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5")
    assert "is not an HDF5 file" in _error(fake).problem


def test_napari_reader_raises_our_error_for_bad_content(tmp_path):
    path = tmp_path / "bad.tif"
    path.write_text("garbage")
    with pytest.raises(LiCellInputError):
        read_volume_layers(str(path))


# ---------------------------------------------------------------- property-based


_TIFF_KINDS = ("plain", "imagej", "ome", "zlib", "tiled", "lzw", "bigtiff")


@st.composite
def _tiff_case(draw):
    shape = (draw(st.integers(1, 5)), draw(st.integers(2, 24)), draw(st.integers(2, 24)))
    dtype = draw(st.sampled_from(["u1", "u2", "f4", "i2"]))
    kind = draw(st.sampled_from(_TIFF_KINDS))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    data = (rng.random(shape) * 200).astype(dtype)
    kw: dict = {"photometric": "minisblack"}
    if kind == "imagej" and dtype in ("u1", "u2", "f4"):
        kw.update(imagej=True, metadata={"axes": "ZYX", "unit": "um", "spacing": 0.5}, resolution=(2.0, 2.0))
    elif kind == "ome":
        kw.update(ome=True, metadata={"axes": "ZYX", "PhysicalSizeX": 0.54, "PhysicalSizeZ": 0.54})
    elif kind == "zlib":
        kw["compression"] = "zlib"
    elif kind == "lzw":
        kw["compression"] = "lzw"
    elif kind == "tiled":
        kw.update(tile=(16, 16), compression="zlib")
    elif kind == "bigtiff":
        kw["bigtiff"] = True
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, **kw)
    raw = bytearray(buf.getvalue())
    mutation = draw(st.sampled_from(["none", "truncate", "flip", "zero_run", "garbage"]))
    if mutation == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif mutation == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
    elif mutation == "zero_run":
        start = draw(st.integers(0, len(raw) - 1))
        length = draw(st.integers(1, 64))
        raw[start : start + length] = bytes(len(raw[start : start + length]))
    elif mutation == "garbage":
        raw = raw[:4] + bytearray(draw(st.binary(min_size=0, max_size=600)))
    return bytes(raw), data, mutation


def _check_result(vol: Volume, data: np.ndarray | None) -> None:
    assert isinstance(vol, Volume)
    assert len(vol.shape) == 3 and vol.shape[0] >= 2
    assert vol.dtype.isnative
    assert all(1e-3 <= v <= 1e4 for v in vol.voxel_size_um)
    if vol.nbytes > 50_000_000:
        return  # a damaged header may claim a large image; do not materialise it
    try:
        values = np.asarray(vol.data.compute())
    except LiCellInputError:
        return  # damage surfaced while reading: our error, as required
    assert values.shape == vol.shape
    if data is not None:
        np.testing.assert_array_equal(values, data)


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(_tiff_case())
def test_random_and_damaged_tiff_bytes_end_in_volume_or_our_error(case):
    raw, data, mutation = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.tif"
        path.write_bytes(raw)
        try:
            vol = read_volume(path)
        except LiCellInputError as exc:
            assert exc.path == path
            if mutation == "none":
                assert data.shape[0] == 1  # only a single-slice volume is refused when intact
            return
        _check_result(vol, data if mutation == "none" else None)


_GOOD_DTYPES = ["u1", "uint16", "i2", "f4", "float64", "bool", "int32", ">u2"]
_BAD_DTYPES = ["u3", "complex64", "S4", "object", "not-a-type"]


@st.composite
def _raw_case(draw):
    """Raw parameters and file bytes; most cases fit exactly, the rest are off in some way."""

    def rarely() -> bool:  # about one case in eight takes the wrong branch
        return draw(st.integers(0, 7)) == 0

    ndim = draw(st.sampled_from([1, 4])) if rarely() else draw(st.sampled_from([2, 3, 3, 3]))
    shape = [draw(st.integers(1, 10)) for _ in range(ndim)]
    dtype = draw(st.sampled_from(_BAD_DTYPES if rarely() else _GOOD_DTYPES))
    order = draw(st.sampled_from(["sideways", "", "<>"] if rarely() else ["<", ">", "=", "big", "little"]))
    header = draw(st.integers(-8, -1) if rarely() else st.integers(0, 200))
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:
        itemsize = 1
    exact = max(0, header) + int(np.prod(shape)) * itemsize
    nbytes = draw(st.integers(0, exact + 64)) if rarely() else exact
    given_shape = list(shape)
    if ndim == 3 and draw(st.booleans()):
        given_shape[0] = -1
    if rarely():
        given_shape[draw(st.integers(0, ndim - 1))] = draw(st.sampled_from([0, -2, -1]))
    seed = draw(st.integers(0, 2**16))
    payload = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    return payload, given_shape, dtype, order, header


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(_raw_case())
def test_random_raw_parameters_end_in_volume_or_our_error(case):
    payload, shape, dtype, order, header = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.raw"
        path.write_bytes(payload)
        try:
            vol = read_volume(path, raw_shape=shape, raw_dtype=dtype, byte_order=order, header_bytes=header)
        except LiCellInputError as exc:
            assert exc.path == path
            return
        _check_result(vol, None)
        # When it opens, the voxels are exactly the file's bytes after the header.
        dt = np.dtype(dtype)
        if dt.itemsize > 1:
            dt = dt.newbyteorder({"big": ">", "little": "<"}.get(order, order))
        expected = np.frombuffer(payload[header:], dtype=dt).reshape(shape).astype(vol.dtype)
        np.testing.assert_array_equal(vol.data.compute(), expected)
