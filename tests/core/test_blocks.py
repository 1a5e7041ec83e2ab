"""Block plans: every voxel kept exactly once, blocks within the budget, halos where needed."""

import numpy as np
import pytest

from napari_licell.segmentation.blocks import YX_MULTIPLE, Z_MULTIPLE, plan_blocks


def _coverage(plan):
    count = np.zeros(plan.shape, dtype=np.int8)
    for r0, r1, k0, k1 in plan.slabs():
        for (y0, y1, ky0, ky1), (x0, x1, kx0, kx1) in plan.tiles():
            assert r0 <= r0 + k0 < r0 + k1 <= r1
            count[r0 + k0 : r0 + k1, y0 + ky0 : y0 + ky1, x0 + kx0 : x0 + kx1] += 1
            # the halo is read wherever the volume goes on
            assert k0 == min(plan.halo, r0 + k0)
            assert ky0 == min(plan.halo, y0 + ky0)
            assert x1 - (x0 + kx1) == min(plan.halo, plan.shape[2] - (x0 + kx1))
    return count


@pytest.mark.parametrize("shape,limit", [((40, 60, 70), 2**30), ((50, 300, 290), 2**20), ((33, 700, 650), 6 * 2**20)])
def test_blocks_cover_every_voxel_once(shape, limit):
    plan = plan_blocks(shape, 2, 3, limit, 16)
    assert (_coverage(plan) == 1).all()


def test_a_small_volume_is_one_block():
    plan = plan_blocks((300, 128, 128), 2, 4, 2 * 2**30, 16)
    assert plan.n_blocks == 1 and plan.overhead == 1.0 and plan.read_whole_slab


def test_real_scan_sizes_stay_within_the_budget():
    gib = 2**30
    # 2700 x 2688 x 2688 (39 GB of uint16): whole slabs read once, tiled in y/x
    plan = plan_blocks((2700, 2688, 2688), 2, 4, 2 * gib, 16)
    assert plan.read_whole_slab and plan.depth % Z_MULTIPLE == 0 and plan.tile[0] % YX_MULTIPLE == 0
    slab_bytes = (plan.depth + 8) * 2688 * 2688 * 2 + plan.depth * 2688 * 2688
    block_bytes = (plan.depth + 8) * (plan.tile[0] + 8) * (plan.tile[1] + 8) * 16
    assert slab_bytes + block_bytes <= 0.75 * 2 * gib
    assert plan.overhead < 1.3
    # 7808 x 7808 planes do not fit as whole slabs: block by block
    wide = plan_blocks((300, 7808, 7808), 2, 4, 2 * gib, 16)
    assert not wide.read_whole_slab
    read = (min(300, wide.depth + 8)) * (wide.tile[0] + 8) * (wide.tile[1] + 8)
    assert read * (16 + 2 + 1) <= 2 * gib / 4
    # a smaller budget gives smaller blocks
    assert plan_blocks((2700, 2688, 2688), 2, 4, gib // 2, 16).n_blocks > plan.n_blocks
