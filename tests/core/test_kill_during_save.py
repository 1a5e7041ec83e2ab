"""A process killed in the middle of saving labels leaves the previous file intact."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from napari_licell.io.read_volume import read_volume
from napari_licell.io.writers import write_labels_tiff

WRITER = """
import sys, numpy as np
from napari_licell.io.writers import write_volume_tiff
data = np.random.default_rng(0).integers(0, 60000, size=(400, 512, 512), dtype=np.uint16)
print("writing", flush=True)
write_volume_tiff(sys.argv[1], data, 0.54)
print("done", flush=True)
"""


def test_kill_mid_save_keeps_previous_labels(tmp_path, sigkill):
    target = tmp_path / "labels.tif"
    previous = np.random.default_rng(1).integers(0, 7, size=(20, 64, 64)).astype(np.uint8)
    write_labels_tiff(target, previous, 0.54)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    sigkill.track(proc)
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    temp_seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        temps = [p for p in tmp_path.iterdir() if p.name != "labels.tif"]
        if temps and temps[0].stat().st_size > 1_000_000:  # the new file is half written
            temp_seen = True
            break
        time.sleep(0.01)
    assert temp_seen, "the writer finished before it could be interrupted"
    sigkill(proc)
    volume = read_volume(target)
    assert np.array_equal(np.asarray(volume.data), previous)
    assert volume.voxel_size_um == (0.54, 0.54, 0.54)
