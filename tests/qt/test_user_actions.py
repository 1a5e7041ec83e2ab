"""The GUI-thread stall sampler that the first-hour tests rely on puts a stall down to the right code."""

from __future__ import annotations

import numpy as np

from user_actions import StallSampler

_BUSY = """
def busy(cpu_seconds):
    import time
    start = time.thread_time()
    while time.thread_time() - start < cpu_seconds:
        pass
"""


def test_a_stall_in_our_code_is_ours_and_napari_building_a_layer_is_not(make_napari_viewer, qtbot):
    namespace: dict = {}
    exec(compile(_BUSY, "napari_licell/_busy_for_test.py", "exec"), namespace)  # noqa: S102 - frames named as ours
    with StallSampler() as sampler:
        qtbot.wait(30)
        namespace["busy"](0.4)
        qtbot.wait(30)
    own = sampler.own_stalls(100)
    assert len(own) == 1 and own[0][1] >= 200 and "busy" in own[0][2][0]
    assert sampler.longest_ms >= 300

    viewer = make_napari_viewer()
    with StallSampler() as sampler:
        qtbot.wait(30)
        viewer.add_labels(np.zeros((64, 256, 256), np.uint8))
        qtbot.wait(30)
    assert not sampler.own_stalls(0)  # napari's own work is never counted as ours
