"""Cutting a volume into blocks with a halo so that one block's work fits a memory budget.

Classification reads the volume slab by slab along axis 0 and, inside a
slab, tile by tile in (y, x). Every block is read with ``halo`` voxels of
overlap on each side along all three axes and only its core is kept, so the
result does not depend on the block sizes. :func:`plan_blocks` picks the
sizes from the memory budget:

* **slab mode** (``read_whole_slab``): when a slab of whole planes (input
  plus its uint8 codes) fits half the budget, the slab is read once and
  tiled in memory; every chunk of the file is decoded about once.
* **block mode**: planes too large for that (e.g. 7808 x 7808) are read
  block by block, each block (input, codes and work arrays) within a
  quarter of the budget.

Depths are multiples of :data:`Z_MULTIPLE` and tiles multiples of
:data:`YX_MULTIPLE` where the volume allows, so writes line up with the
chunks of :func:`napari_licell.segmentation.label_store.create_label_store`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BlockPlan", "plan_blocks", "Z_MULTIPLE", "YX_MULTIPLE"]

#: Slab depths are rounded down to a multiple of this (the label store's chunk depth).
Z_MULTIPLE = 8
#: Tile sides are rounded down to a multiple of this (the label store's chunk side).
YX_MULTIPLE = 256


@dataclass(frozen=True)
class BlockPlan:
    """Block sizes for a streamed pass over a (z, y, x) volume.

    Attributes
    ----------
    shape : (z, y, x)
        Volume shape in voxels.
    depth : int
        Planes kept per slab (the read adds ``halo`` on each side).
    tile : (int, int)
        Kept (y, x) tile size.
    halo : int
        Voxels of overlap read on each side of a block, along every axis.
    read_whole_slab : bool
        Read each slab once (whole planes) and tile it in memory; else read block by block.
    """

    shape: tuple[int, int, int]
    depth: int
    tile: tuple[int, int]
    halo: int
    read_whole_slab: bool

    def slabs(self) -> Iterator[tuple[int, int, int, int]]:
        """(read_start, read_stop, keep_start, keep_stop) along axis 0; keep is relative to the read."""
        return _ranges(self.shape[0], self.depth, self.halo)

    def tiles(self) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
        """Per tile, the same four numbers along y and along x."""
        ys = list(_ranges(self.shape[1], self.tile[0], self.halo))
        xs = list(_ranges(self.shape[2], self.tile[1], self.halo))
        return [(y, x) for y in ys for x in xs]

    @property
    def n_blocks(self) -> int:
        """Blocks in the whole pass."""
        nz, ny, nx = self.shape
        return math.ceil(nz / self.depth) * math.ceil(ny / self.tile[0]) * math.ceil(nx / self.tile[1])

    @property
    def overhead(self) -> float:
        """Voxels read per voxel kept (halo cost; 1.0 means none)."""
        nz, ny, nx = self.shape
        f = 1.0
        for n, k in ((nz, self.depth), (ny, self.tile[0]), (nx, self.tile[1])):
            if k < n:
                f *= (min(n, k + 2 * self.halo)) / k
        return f


def _ranges(n: int, step: int, halo: int) -> Iterator[tuple[int, int, int, int]]:
    for start in range(0, n, max(1, int(step))):
        stop = min(start + step, n)
        r0, r1 = max(0, start - halo), min(n, stop + halo)
        yield r0, r1, start - r0, stop - r0


def _round_down(value: int, multiple: int, limit: int) -> int:
    """``value`` capped at ``limit``; below the limit rounded down to a multiple of ``multiple`` (when >= it)."""
    value = min(int(value), int(limit))
    if value >= limit:
        return max(1, value)
    if value >= multiple:
        return value - value % multiple
    return max(1, value)


def plan_blocks(
    shape: tuple[int, int, int], itemsize: int, halo: int, memory_limit_bytes: int, work_bytes_per_voxel: float
) -> BlockPlan:
    """Block sizes for a pass whose work per block is ``work_bytes_per_voxel`` times its voxels.

    Parameters
    ----------
    shape : (z, y, x)
        Volume shape in voxels.
    itemsize : int
        Bytes per input voxel.
    halo : int
        Overlap each block needs on every side (voxels).
    memory_limit_bytes : int
        Budget of the whole pass; blocks are sized to use at most about 3/4 of it.
    work_bytes_per_voxel : float
        Bytes of work arrays per voxel of a block (besides input and codes).

    Returns
    -------
    BlockPlan
    """
    nz, ny, nx = (int(s) for s in shape)
    h = int(halo)
    budget = max(int(memory_limit_bytes), 1)
    plane = ny * nx
    work = float(work_bytes_per_voxel)
    # slab mode: input (d + 2h planes) and codes (d planes) in half the budget
    d_slab = int((budget / 2 / max(plane, 1) - 2 * h * itemsize) // (itemsize + 1))
    if d_slab >= min(nz, max(Z_MULTIPLE, 2 * h, 1)):
        depth = _round_down(d_slab, Z_MULTIPLE, nz)
        tile = _largest_tile(depth + 2 * h if depth < nz else nz, ny, nx, h, work, budget / 4)
        return BlockPlan((nz, ny, nx), depth, tile, h, True)
    # block mode: input, codes and work of one block in a quarter of the budget
    per_voxel = work + itemsize + 1
    best: tuple[float, int, tuple[int, int]] | None = None
    for depth in sorted({_round_down(d, Z_MULTIPLE, nz) for d in (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, nz)}):
        read_depth = min(nz, depth + 2 * h)
        tile = _largest_tile(read_depth, ny, nx, h, per_voxel, budget / 4)
        plan = BlockPlan((nz, ny, nx), depth, tile, h, False)
        if read_depth * min(ny, tile[0] + 2 * h) * min(nx, tile[1] + 2 * h) * per_voxel > budget / 4 * 1.0001:
            continue
        if best is None or plan.overhead < best[0] - 1e-9:
            best = (plan.overhead, depth, tile)
    if best is None:  # even a one-plane 1 x 1 block is over budget: smallest blocks
        return BlockPlan((nz, ny, nx), 1, (min(ny, 32), min(nx, 32)), h, False)
    return BlockPlan((nz, ny, nx), best[1], best[2], h, False)


def _largest_tile(read_depth: int, ny: int, nx: int, h: int, per_voxel: float, budget: float) -> tuple[int, int]:
    """Largest (y, x) tile (whole axes, else multiples of YX_MULTIPLE, else of 32) whose block fits ``budget``."""
    if read_depth * ny * nx * per_voxel <= budget:
        return ny, nx
    side = math.sqrt(budget / max(read_depth * per_voxel, 1e-9)) - 2 * h
    if side >= YX_MULTIPLE:
        t = int(side) - int(side) % YX_MULTIPLE
    else:
        t = max(32, int(side) - int(side) % 32)
    # a tile may span a whole short axis and be longer along the other one
    ty, tx = min(ny, t), min(nx, t)
    if ty == ny and tx < nx:
        tx = min(nx, max(tx, int(budget / max(read_depth * per_voxel * ny, 1e-9)) - 2 * h))
        tx = tx - tx % 32 if tx > 32 and tx < nx else tx
    elif tx == nx and ty < ny:
        ty = min(ny, max(ty, int(budget / max(read_depth * per_voxel * nx, 1e-9)) - 2 * h))
        ty = ty - ty % 32 if ty > 32 and ty < ny else ty
    return max(1, ty), max(1, tx)
