"""Time to first slice of a big scan: ``read_volume`` + plane 0, beside the format's own reader.

Formats: uncompressed ImageJ TIFF, OME-Zarr (blosc, one plane per chunk) and
HDF5 (DXchange ``/exchange/data``, one plane per chunk), all holding the same
volume from :mod:`large_cell_data` (the demo cell scaled up; about 3 GB by
default). Every measurement runs in a fresh child process with the modules
already imported (the GUI has them loaded; the import times are printed
apart), and is repeated; the table shows the median and the ratio to the peer
measured in the same child. dask's very first compute in a process imports
``distributed`` (to look for a cluster client, ~0.25 s once per process, not
per file); that is counted with the imports, and shown apart as "first dask
compute of the process". Peers:

* TIFF: ``tifffile.imread(path, key=0)`` and ``tifffile.memmap(path)[0]``;
* zarr: ``zarr.open_array(store, path="0")[0]``;
* HDF5: ``h5py.File(path)["/exchange/data"][0]``.

::

    .venv/bin/python benchmarks/bench_first_slice.py --gigabytes 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

#: Run in each child: imports first (timed apart), then ours and the peer in the given order.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from napari_licell.io.read_volume import read_volume
import dask.array, tifffile, zarr, h5py
kind, path, order, warm = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "warm"
if warm:  # dask's first compute imports distributed (when installed) to look for a client: ~0.25 s once
    import distributed
t_import = time.perf_counter() - t0

def ours():
    t = time.perf_counter()
    vol = read_volume(path)
    plane = np.asarray(vol.data[0])
    return time.perf_counter() - t, plane

def peers():
    out = {}
    if kind == "tiff":
        t = time.perf_counter(); a = tifffile.imread(path, key=0); out["tifffile imread(key=0)"] = (time.perf_counter() - t, a)
        t = time.perf_counter(); m = tifffile.memmap(path, mode="r"); a = np.array(m[0]); del m
        out["tifffile memmap()[0]"] = (time.perf_counter() - t, a)
    elif kind == "zarr":
        t = time.perf_counter(); a = zarr.open_array(store=path, path="0", mode="r")[0]
        out["zarr open_array()[0]"] = (time.perf_counter() - t, a)
    else:
        t = time.perf_counter()
        with h5py.File(path, "r") as f:
            a = f["/exchange/data"][0]
        out["h5py dataset[0]"] = (time.perf_counter() - t, a)
    return out

res = {"import_s": t_import}
if order == "ours-first":
    res["ours"], plane = ours(); p = peers()
else:
    p = peers(); res["ours"], plane = ours()
for name, (sec, arr) in p.items():
    assert np.array_equal(arr, plane), name
    res[name] = sec
print(json.dumps(res))
"""


def write_hdf5(path: Path, zarr_path: Path) -> Path:
    """The zarr volume copied plane by plane into a DXchange HDF5 file (one plane per chunk)."""
    import h5py
    import zarr

    if path.exists():
        return path
    src = zarr.open_array(store=str(zarr_path), path="0", mode="r")
    tmp = path.with_suffix(".partial.h5")
    with h5py.File(tmp, "w") as f:
        d = f.create_dataset("/exchange/data", shape=src.shape, dtype=src.dtype, chunks=(1, *src.shape[1:]))
        for z in range(src.shape[0]):
            d[z] = src[z]
    tmp.rename(path)
    return path


def measure(kind: str, path: Path, repeats: int, warm: bool = True) -> dict[str, list[float]]:
    """Seconds per repeat for ours and each peer (fresh child each time, alternating which goes first).

    ``warm``: dask's one-time import of ``distributed`` at the first compute is done with the imports.
    """
    runs: dict[str, list[float]] = {}
    for i in range(repeats):
        order = "ours-first" if i % 2 == 0 else "peer-first"
        out = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(path), order, "warm" if warm else "cold"],
            capture_output=True,
            text=True,
            check=True,
        )
        for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
            runs.setdefault(key, []).append(float(value))
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gigabytes", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", type=Path, default=HERE / "_data" / "large_cell")
    args = p.parse_args(argv)

    from large_cell_data import write_large_cell

    cell = write_large_cell(args.data, args.gigabytes, tiff=True, zarr=True)
    h5 = write_hdf5(cell.zarr.with_name(cell.zarr.name.replace(".ome.zarr", ".h5")), cell.zarr)
    print(
        f"volume {' x '.join(map(str, cell.shape))} uint16 = {cell.nbytes / 1e9:.2f} GB; plane "
        f"{cell.shape[1] * cell.shape[2] * 2 / 2**20:.1f} MiB; median of {args.repeats} fresh processes"
    )
    print()
    print(
        "| format | read_volume + plane 0 | first dask compute of the process | peer | peer time | ours / peer "
        "| imports (apart) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind, path in (("tiff", cell.tiff), ("zarr", cell.zarr), ("hdf5", h5)):
        runs = measure(kind, path, args.repeats, warm=True)
        cold = statistics.median(measure(kind, path, max(1, args.repeats // 2), warm=False)["ours"])
        ours = statistics.median(runs.pop("ours"))
        imports = statistics.median(runs.pop("import_s"))
        for name, values in runs.items():
            peer = statistics.median(values)
            print(
                f"| {kind} | {ours * 1e3:.1f} ms | {cold * 1e3:.0f} ms | {name} | {peer * 1e3:.1f} ms "
                f"| {ours / max(peer, 1e-9):.1f} | {imports:.2f} s |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
