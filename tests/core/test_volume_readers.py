"""Volume readers: real CT files with reference values, and write/read round trips."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import pytest
import tifffile
import zarr

from napari_licell._napari.readers import get_volume_reader, read_volume_layers
from napari_licell._napari.writers import write_image, write_labels
from napari_licell.errors import LiCellInputError
from napari_licell.io.read_volume import read_volume
from napari_licell.io.slice_folder import list_slice_files, natural_sort_key
from napari_licell.io.volume import DEFAULT_VOXEL_SIZE_UM
from napari_licell.io.voxel_size import unit_to_um
from napari_licell.io.writers import write_labels_tiff, write_volume_tiff, write_volume_zarr

CT = Path("ct")
SLICES = CT / "ucl_21700_cell_vol_slices"
TAUFACTOR = CT / "taufactor_electrode_polaron_NMC_256cube.tiff"
MATBOX = CT / "matbox_nmc-1-cal_generatedCBD_bridge.tif"
SLICE_2D = CT / "ucl_cylcell_winding_slice" / "im_1.tif"


def _fractions(data: da.Array, values: list[int]) -> list[float]:
    """Volume fraction of each value, counted chunk by chunk (dask bincount)."""
    counts = da.bincount(data.ravel(), minlength=256).compute()
    return [counts[v] / data.size for v in values]


def _ramp(shape: tuple[int, ...], dtype: str = "u2") -> np.ndarray:
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        return rng.normal(100.0, 20.0, shape).astype(dtype)
    return rng.integers(0, min(np.iinfo(dtype).max, 4000), shape).astype(dtype)


# ---------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_slice_folder_opens_lazily_and_equals_tifffile_stack(shared_data, monkeypatch):
    folder = shared_data / SLICES
    reads: list[str] = []
    real_imread = tifffile.imread

    def counting_imread(f, *args, **kwargs):
        reads.append(Path(f).name)
        return real_imread(f, *args, **kwargs)

    monkeypatch.setattr(tifffile, "imread", counting_imread)
    vol = read_volume(folder)
    # Opening reads only the first slice (what the first view needs) to check it.
    assert sorted(reads) == ["im066.tif"]
    monkeypatch.setattr(tifffile, "imread", real_imread)

    assert isinstance(vol.data, da.Array)
    assert vol.shape == (20, 728, 728)
    assert vol.dtype == np.uint8
    assert vol.data.chunks[0] == (1,) * 20  # one read per slice
    files = sorted(folder.glob("im*.tif"))
    expected = np.stack([tifffile.imread(f) for f in files])
    got = vol.data.compute()
    np.testing.assert_array_equal(got, expected)
    assert int(got.min()) == 0 and int(got.max()) == 210
    assert got.mean() == pytest.approx(29.87, abs=0.01)
    assert vol.voxel_size_assumed is True
    assert vol.voxel_size_um == (DEFAULT_VOXEL_SIZE_UM,) * 3
    assert vol.metadata["format"] == "tiff-slices"
    assert vol.metadata["first_slice"] == "im066.tif" and vol.metadata["last_slice"] == "im085.tif"


@pytest.mark.shared_data
def test_slice_folder_with_anisotropic_voxel_size(shared_data):
    # In-plane 33.97 um, slices ~67.94 um apart (notebook 02 of the source repository).
    vol = read_volume(shared_data / SLICES, voxel_size_um=(67.94, 33.97, 33.97))
    kwargs = vol.layer_kwargs()
    assert kwargs["scale"] == (67.94, 33.97, 33.97)
    assert vol.voxel_size_assumed is True  # typed in: the files hold none


@pytest.mark.shared_data
def test_glob_of_slices(shared_data):
    vol = read_volume(str(shared_data / SLICES / "im07*.tif"))
    assert vol.shape == (10, 728, 728)
    np.testing.assert_array_equal(vol.data[0].compute(), tifffile.imread(shared_data / SLICES / "im070.tif"))


@pytest.mark.shared_data
def test_taufactor_fractions(shared_data):
    vol = read_volume(shared_data / TAUFACTOR)
    assert isinstance(vol.data, da.Array)
    assert vol.shape == (256, 256, 256) and vol.dtype == np.uint8
    fractions = _fractions(vol.data, [0, 85, 170])
    assert [round(f, 5) for f in fractions] == [0.44992, 0.40047, 0.14962]
    assert sum(fractions) == pytest.approx(1.0)


@pytest.mark.shared_data
def test_matbox_fractions_and_72dpi_is_not_a_voxel_size(shared_data):
    vol = read_volume(shared_data / MATBOX)
    assert vol.shape == (251, 301, 301) and vol.dtype == np.uint8
    fractions = _fractions(vol.data, [0, 1, 2])
    assert [round(f, 5) for f in fractions] == [0.40055, 0.49945, 0.10000]
    assert vol.voxel_size_assumed is True
    assert vol.voxel_size_um == (DEFAULT_VOXEL_SIZE_UM,) * 3
    assert "72 dpi" in vol.metadata["voxel_size_note"]


@pytest.mark.shared_data
def test_single_2d_slice_is_refused_as_volume(shared_data):
    path = shared_data / SLICE_2D
    with pytest.raises(LiCellInputError) as err:
        read_volume(path)
    assert err.value.path == path
    assert err.value.problem == "is a 2D image (576 x 576); a volume needs at least 2 slices"
    assert "folder" in err.value.hint
    one = read_volume(path, require_3d=False)
    assert one.shape == (1, 576, 576) and one.dtype == np.uint16


@pytest.mark.shared_data
def test_napari_reader_on_real_files(shared_data):
    assert get_volume_reader(str(shared_data / SLICES)) is read_volume_layers
    [(data, kwargs, kind)] = read_volume_layers(str(shared_data / SLICES))
    assert kind == "image" and data.shape == (20, 728, 728)
    assert kwargs["scale"] == (DEFAULT_VOXEL_SIZE_UM,) * 3
    assert kwargs["metadata"]["voxel_size_assumed"] is True
    # MATBOX holds codes 0..2 only: opened as labels (without our class colours).
    [(data, kwargs, kind)] = read_volume_layers(str(shared_data / MATBOX))
    assert kind == "labels" and "colormap" not in kwargs
    # taufactor uses 0/85/170: an image.
    [(_, _, kind)] = read_volume_layers(str(shared_data / TAUFACTOR))
    assert kind == "image"
    # A single 2D slice is shown as a 2D image in napari.
    [(data, kwargs, kind)] = read_volume_layers(str(shared_data / SLICE_2D))
    assert data.shape == (576, 576) and len(kwargs["scale"]) == 2


# ---------------------------------------------------------------- natural sort


def test_natural_sort_orders_numbers_by_value(tmp_path):
    for n in (10, 2, 1, 100, 20):
        tifffile.imwrite(tmp_path / f"im{n}.tif", np.full((4, 5), n, np.uint16))
    (tmp_path / "._im3.tif").write_bytes(b"macOS resource fork")  # hidden: skipped
    assert [f.name for f in list_slice_files(tmp_path)] == ["im1.tif", "im2.tif", "im10.tif", "im20.tif", "im100.tif"]
    vol = read_volume(tmp_path)
    assert [int(vol.data[i, 0, 0].compute()) for i in range(5)] == [1, 2, 10, 20, 100]
    assert natural_sort_key("scan_2_slice9") < natural_sort_key("scan_2_slice10") < natural_sort_key("scan_10_slice1")


def test_slice_list_and_numbering_gap(tmp_path):
    for n in (1, 2, 4):
        tifffile.imwrite(tmp_path / f"s{n:03d}.tif", np.full((3, 3), n, np.uint8))
    vol = read_volume([tmp_path / "s004.tif", tmp_path / "s001.tif", tmp_path / "s002.tif"])
    assert [int(v) for v in vol.data[:, 0, 0].compute()] == [1, 2, 4]
    assert vol.metadata["missing_slice_numbers"] == [3]


# ---------------------------------------------------------------- TIFF round trips


def test_imagej_tiff_round_trip_keeps_voxel_size(tmp_path):
    data = _ramp((6, 20, 24))
    path = write_volume_tiff(tmp_path / "scan.tif", data, 0.54)
    vol = read_volume(path)
    assert vol.voxel_size_um == (0.54, 0.54, 0.54)
    assert vol.voxel_size_assumed is False
    assert vol.metadata["voxel_size_source"] == "imagej"
    assert vol.metadata["lazy"] == "pread"
    np.testing.assert_array_equal(vol.data.compute(), data)
    # What ImageJ/Fiji read: 1/XResolution in 'unit', and 'spacing'.
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        assert tif.imagej_metadata["unit"] == "um"
        assert tif.imagej_metadata["spacing"] == pytest.approx(0.54)
        num, den = tif.pages.first.tags["XResolution"].value
        assert den / num == pytest.approx(0.54)


def test_imagej_tiff_from_dask_is_written_chunk_by_chunk(tmp_path):
    data = da.from_array(_ramp((30, 16, 16)), chunks=(7, 8, 16))
    path = write_volume_tiff(tmp_path / "d.tif", data, (2.0, 0.5, 0.5))
    vol = read_volume(path)
    assert vol.voxel_size_um == (2.0, 0.5, 0.5)
    np.testing.assert_array_equal(vol.data.compute(), data.compute())


@pytest.mark.parametrize(
    ("unit", "x_per_unit", "spacing", "expected"),
    [
        ("mm", 0.00054, 0.001, (1.0, 0.54, 0.54)),
        ("micron", 0.54, 0.54, (0.54, 0.54, 0.54)),
        ("\\u00B5m", 0.54, 0.6, (0.6, 0.54, 0.54)),
        ("nm", 540.0, 540.0, (0.54, 0.54, 0.54)),
        ("cm", 0.000054, 0.000054, (0.54, 0.54, 0.54)),
    ],
)
def test_imagej_units_are_converted_to_micrometres(tmp_path, unit, x_per_unit, spacing, expected):
    path = tmp_path / "u.tif"
    tifffile.imwrite(
        path,
        _ramp((3, 8, 8)),
        imagej=True,
        resolution=(1.0 / x_per_unit, 1.0 / x_per_unit),
        metadata={"axes": "ZYX", "unit": unit, "spacing": spacing},
    )
    vol = read_volume(path)
    assert vol.voxel_size_um == pytest.approx(expected, rel=1e-6)
    assert vol.voxel_size_assumed is False


@pytest.mark.parametrize(
    ("unit", "um"),
    [
        ("um", 1.0),
        ("\u00b5m", 1.0),
        ("\u03bcm", 1.0),
        ("micron", 1.0),
        ("micrometer", 1.0),
        ("nm", 1e-3),
        ("nanometer", 1e-3),
        ("mm", 1e3),
        ("millimeter", 1e3),
        ("cm", 1e4),
        ("pixel", None),
        ("", None),
        ("parsec", None),
    ],
)
def test_unit_names(unit, um):
    assert unit_to_um(unit) == um


def test_imagej_pixel_unit_means_no_voxel_size(tmp_path):
    path = tmp_path / "px.tif"
    tifffile.imwrite(path, _ramp((3, 8, 8)), imagej=True, metadata={"axes": "ZYX", "unit": "pixel"})
    vol = read_volume(path)
    assert vol.voxel_size_assumed is True and vol.voxel_size_um == (DEFAULT_VOXEL_SIZE_UM,) * 3


def test_ome_tiff_physical_size_in_nm(tmp_path):
    path = tmp_path / "scan.ome.tif"
    data = _ramp((4, 10, 12))
    tifffile.imwrite(
        path,
        data,
        ome=True,
        compression="zlib",
        metadata={
            "axes": "ZYX",
            "PhysicalSizeX": 540,
            "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 540,
            "PhysicalSizeYUnit": "nm",
            "PhysicalSizeZ": 1080,
            "PhysicalSizeZUnit": "nm",
        },
    )
    vol = read_volume(path)
    assert vol.metadata["format"] == "ome-tiff"
    assert vol.metadata["lazy"] == "tiff-zarr"
    assert vol.voxel_size_um == pytest.approx((1.08, 0.54, 0.54))
    np.testing.assert_array_equal(vol.data.compute(), data)
    assert vol.name == "scan"


def test_non_imagej_dtype_goes_to_ome_tiff_with_voxel_size(tmp_path):
    data = _ramp((3, 8, 8), "i2") - 100
    path = write_volume_tiff(tmp_path / "signed.tif", data, (1.0, 0.5, 0.25))
    vol = read_volume(path)
    assert vol.dtype == np.int16 and vol.metadata["format"] == "ome-tiff"
    assert vol.voxel_size_um == (1.0, 0.5, 0.25)
    np.testing.assert_array_equal(vol.data.compute(), data)


def test_big_endian_and_compressed_tiffs_read_in_native_order(tmp_path):
    data = _ramp((5, 9, 11))
    tifffile.imwrite(tmp_path / "be.tif", data, byteorder=">")
    tifffile.imwrite(tmp_path / "lzw.tif", data, compression="lzw", tile=(16, 16))
    for name in ("be.tif", "lzw.tif"):
        vol = read_volume(tmp_path / name)
        assert vol.dtype == np.dtype("u2") and vol.dtype.isnative
        np.testing.assert_array_equal(vol.data.compute(), data)


def test_hyperstack_with_one_channel_and_time_point_is_a_volume(tmp_path):
    data = _ramp((1, 4, 1, 8, 8))
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX"})
    vol = read_volume(path)
    np.testing.assert_array_equal(vol.data.compute(), data[0, :, 0])


def test_voxel_size_absent_gives_default_and_assumed_flag(tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, _ramp((3, 8, 8)), photometric="minisblack")
    vol = read_volume(path)
    assert vol.voxel_size_um == (DEFAULT_VOXEL_SIZE_UM,) * 3
    assert vol.voxel_size_assumed is True
    assert vol.metadata["voxel_size_source"] == "default"
    assert "assumed" in vol.layer_kwargs()["metadata"]["note"]


def test_user_voxel_size_overrides_the_file(tmp_path):
    path = write_volume_tiff(tmp_path / "scan.tif", _ramp((3, 8, 8)), 0.54)
    vol = read_volume(path, voxel_size_um=1.5)
    assert vol.voxel_size_um == (1.5, 1.5, 1.5)
    assert vol.metadata["voxel_size_source"] == "user"
    assert vol.metadata["file_voxel_size_um"] == [0.54, 0.54, 0.54]


def test_labels_tiff_round_trip(tmp_path):
    labels = (np.arange(4 * 6 * 7).reshape(4, 6, 7) % 7).astype(np.int32)
    path = write_labels_tiff(tmp_path / "labels.tif", labels, 0.54, metadata={"thresholds": {"li_void": 1450.0}})
    vol = read_volume(path)
    assert vol.dtype == np.uint8
    np.testing.assert_array_equal(vol.data.compute(), labels)
    assert vol.metadata["licell"]["kind"] == "labels"
    assert vol.metadata["licell"]["metadata"]["thresholds"] == {"li_void": 1450.0}
    [(data, kwargs, kind)] = read_volume_layers(str(path))
    assert kind == "labels" and kwargs["colormap"][1] is not None


# ---------------------------------------------------------------- HDF5


def test_hdf5_dxchange_exchange_data_with_pixel_size(tmp_path):
    data = _ramp((5, 12, 10), "f4")
    path = tmp_path / "recon.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("/exchange/data", data=data, chunks=(1, 12, 10), compression="gzip")
        f.create_dataset("/measurement/instrument/detection_system/objective/resolution", data=[0.65])
        f.create_dataset("/other/volume", data=np.zeros((2, 3, 4), "u1"))
    vol = read_volume(path)
    assert vol.metadata["hdf5_dataset"] == "/exchange/data"
    assert vol.voxel_size_um == pytest.approx((0.65, 0.65, 0.65))
    assert vol.voxel_size_assumed is False
    assert isinstance(vol.data, da.Array)
    np.testing.assert_allclose(vol.data.compute(), data)
    other = read_volume(path, dataset="/other/volume", voxel_size_um=0.54)
    assert other.shape == (2, 3, 4)


def test_hdf5_pixel_size_over_magnification_and_single_3d_dataset(tmp_path):
    path = tmp_path / "scan.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("/recon", data=_ramp((3, 4, 5)))
        f.create_dataset("/measurement/instrument/detector/pixel_size_x", data=[6.5])
        f.create_dataset("/measurement/instrument/detection_system/objective/magnification", data=[10.0])
    vol = read_volume(path)
    assert vol.metadata["hdf5_dataset"] == "/recon"
    assert vol.voxel_size_um == pytest.approx((0.65, 0.65, 0.65))


def test_hdf5_element_size_um_attribute(tmp_path):
    path = tmp_path / "ilastik.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("/exchange/data", data=_ramp((3, 4, 5)))
        ds.attrs["element_size_um"] = [2.0, 1.0, 1.0]
    assert read_volume(path).voxel_size_um == (2.0, 1.0, 1.0)


# ---------------------------------------------------------------- zarr


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_multiscale_round_trip(tmp_path, zarr_format):
    data = _ramp((20, 32, 40))
    path = write_volume_zarr(
        tmp_path / "scan.zarr",
        da.from_array(data, chunks=(5, 32, 40)),
        (1.0, 0.5, 0.5),
        chunks=(8, 16, 16),
        levels=3,
        zarr_format=zarr_format,
    )
    vol = read_volume(path)
    assert vol.metadata["format"] == "ome-zarr"
    assert vol.voxel_size_um == (1.0, 0.5, 0.5)
    levels = vol.metadata["multiscale_levels"]
    assert [lv.shape for lv in levels] == [(20, 32, 40), (10, 16, 20), (5, 8, 10)]
    assert all(isinstance(lv, da.Array) for lv in levels)
    assert vol.metadata["multiscale_voxel_sizes_um"][2] == [4.0, 2.0, 2.0]
    np.testing.assert_array_equal(vol.data.compute(), data)
    expected_l1 = data[:20, :32, :40].reshape(10, 2, 16, 2, 20, 2).mean(axis=(1, 3, 5))
    np.testing.assert_array_equal(levels[1].compute(), np.round(expected_l1).astype("u2"))
    [(layer_data, kwargs, kind)] = read_volume_layers(str(path))
    assert kind == "image" and kwargs["multiscale"] is True and len(layer_data) == 3


def test_ome_zarr_written_by_hand_with_nanometres_and_channel_axis(tmp_path):
    path = tmp_path / "hand.zarr"
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    arr = root.create_array("s0", shape=(1, 4, 6, 8), chunks=(1, 2, 6, 8), dtype="u1")
    arr[:] = 3
    root.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "c", "type": "channel"},
                {"name": "z", "type": "space", "unit": "nanometer"},
                {"name": "y", "type": "space", "unit": "nanometer"},
                {"name": "x", "type": "space", "unit": "nanometer"},
            ],
            "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1, 540, 270, 270]}]}],
            "coordinateTransformations": [{"type": "scale", "scale": [1, 2, 2, 2]}],
        }
    ]
    vol = read_volume(path)
    assert vol.shape == (4, 6, 8)
    assert vol.voxel_size_um == pytest.approx((1.08, 0.54, 0.54))


def test_plain_zarr_array(tmp_path):
    path = tmp_path / "plain.zarr"
    z = zarr.open_array(str(path), mode="w", shape=(3, 4, 5), chunks=(1, 4, 5), dtype="f4")
    z[:] = 1.5
    vol = read_volume(path)
    assert vol.voxel_size_assumed is True and float(vol.data.sum().compute()) == 1.5 * 60


# ---------------------------------------------------------------- raw


def test_raw_big_endian_with_header_offset(tmp_path):
    data = _ramp((4, 6, 5))
    path = tmp_path / "scan.raw"
    path.write_bytes(b"HEADER--" * 8 + data.astype(">u2").tobytes())
    vol = read_volume(
        path, raw_shape=(4, 6, 5), raw_dtype="uint16", byte_order=">", header_bytes=64, voxel_size_um=0.54
    )
    assert vol.dtype == np.dtype("u2") and vol.dtype.isnative
    np.testing.assert_array_equal(vol.data.compute(), data)
    assert vol.metadata["raw_byte_order"] == "big"
    inferred = read_volume(path, raw_shape=(-1, 6, 5), raw_dtype="uint16", byte_order=">", header_bytes=64)
    assert inferred.shape == (4, 6, 5)


def test_raw_little_endian_float(tmp_path):
    data = _ramp((3, 4, 4), "f4")
    path = tmp_path / "vol.bin"
    path.write_bytes(data.astype("<f4").tobytes())
    vol = read_volume(path, raw_shape=data.shape, raw_dtype="float32")
    np.testing.assert_array_equal(vol.data.compute(), data)


# ---------------------------------------------------------------- napari plugin functions


def test_get_volume_reader_claims_only_our_paths(tmp_path):
    (tmp_path / "study.licell.yaml").write_text("schema_version: 1\n")
    (tmp_path / "notes.txt").write_text("hi")
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    assert get_volume_reader(str(tmp_path / "study.licell.yaml")) is None
    assert get_volume_reader(str(tmp_path / "notes.txt")) is None
    assert get_volume_reader(str(empty)) is None
    for name in ("a.tif", "a.TIFF", "a.ome.tif", "a.h5", "a.hdf5", "a.zarr"):
        assert get_volume_reader(str(tmp_path / name)) is read_volume_layers
    assert get_volume_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.txt")]) is None


def test_napari_writers_round_trip(tmp_path):
    image = _ramp((4, 8, 8))
    meta = {"name": "scan", "scale": (1.0, 0.5, 0.5), "units": ("micrometer",) * 3, "metadata": {"k": 1}}
    [out] = write_image(str(tmp_path / "img.tif"), image, meta)
    vol = read_volume(out)
    assert vol.voxel_size_um == (1.0, 0.5, 0.5)
    np.testing.assert_array_equal(vol.data.compute(), image)
    labels = (image % 7).astype(np.int32)
    [out] = write_labels(str(tmp_path / "lab.zarr"), labels, {"name": "labels", "scale": (1, 1, 1), "units": "pixel"})
    vol = read_volume(out)
    assert vol.dtype == np.uint8 and vol.metadata["licell"]["kind"] == "labels"
    # A layer in pixels has no physical voxel size: the default is written and noted.
    assert vol.voxel_size_um == (DEFAULT_VOXEL_SIZE_UM,) * 3
    assert "no length units" in vol.metadata["licell"]["metadata"]["voxel_size_note"]
    [(data, kwargs, kind)] = read_volume_layers(out)
    assert kind == "labels"
    json.dumps(kwargs["metadata"])  # layer metadata stays JSON-able


def test_plane_reader_indexes_like_numpy(tmp_path):
    """Uncompressed pixel data are read with pread (not memory-mapped) and index exactly like the array."""
    from napari_licell.io.lazy_arrays import PlaneReader

    data = np.arange(7 * 5 * 6, dtype=">u2").reshape(7, 5, 6)
    path = tmp_path / "raw.bin"
    path.write_bytes(b"HEADER" + data.tobytes())
    reader = PlaneReader(path, 6, data.shape, data.dtype)
    keys = [
        3,
        -1,
        slice(None),
        slice(2, 5),
        slice(1, 7, 3),
        slice(None, None, -2),
        (slice(2, 4), 1),
        (1, slice(None), 4),
        (Ellipsis, 2),
        np.array([0, 4, 6]),
        (slice(0, 3), slice(1, 4), slice(2, 5)),
        slice(5, 2),
    ]
    for key in keys:
        np.testing.assert_array_equal(reader[key], data[key], err_msg=repr(key))
    with pytest.raises(IndexError):
        reader[7]
    short = tmp_path / "short.bin"
    short.write_bytes(data.tobytes()[:-10])
    with pytest.raises(OSError, match="ends"):
        PlaneReader(short, 0, data.shape, data.dtype)[6]
