"""Compare a rendered screenshot with its reference PNG, tolerant of anti-aliasing noise.

Both images are downscaled to a common width (box average) so single-pixel
edge differences fade; the comparison fails when the mean absolute difference
or the share of strongly differing pixels exceeds a threshold, which a hidden
layer, a different colour map or a shifted cursor all do. On failure the
actual image and a diff image are written next to the test output and named
in the message. With LICELL_UPDATE_SCREENSHOTS=1 the reference is rewritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
OUTPUT_DIR = Path(__file__).resolve().parents[1] / "_output" / "screenshots"
#: Width in pixels the references are stored and compared at.
COMPARE_WIDTH = 320


@dataclass
class Comparison:
    mean_abs_diff: float
    strong_pixel_share: float
    matches: bool


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.float32)


def downscale(image: np.ndarray, width: int = COMPARE_WIDTH) -> np.ndarray:
    """Box-average ``image`` (H, W, 3|4) down to ``width`` pixels wide, keeping the aspect ratio."""
    from skimage.transform import resize

    rgb = _rgb(image)
    h, w = rgb.shape[:2]
    height = max(1, round(h * width / w))
    return resize(rgb, (height, width), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)


def compare(
    actual: np.ndarray,
    reference: np.ndarray,
    mean_tol: float = 4.0,
    strong: float = 60.0,
    strong_share_tol: float = 0.01,
) -> Comparison:
    """Compare two images of the same size (0-255 RGB)."""
    if actual.shape != reference.shape:
        return Comparison(float("inf"), 1.0, False)
    diff = np.abs(actual - reference).max(axis=-1)
    mean = float(diff.mean())
    share = float((diff > strong).mean())
    return Comparison(mean, share, mean <= mean_tol and share <= strong_share_tol)


def _write_png(path: Path, image: np.ndarray) -> None:
    from skimage.io import imsave

    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(str(path), np.clip(image, 0, 255).astype(np.uint8), check_contrast=False)


def _read_png(path: Path) -> np.ndarray:
    from skimage.io import imread

    return _rgb(imread(str(path)))


def assert_matches_reference(image: np.ndarray, name: str, **tolerances) -> Comparison:
    """Assert that a screenshot matches ``reference/<name>.png``; see the module docstring."""
    small = downscale(image)
    ref_path = REFERENCE_DIR / f"{name}.png"
    if os.environ.get("LICELL_UPDATE_SCREENSHOTS") == "1" or not ref_path.exists():
        if os.environ.get("LICELL_UPDATE_SCREENSHOTS") != "1":
            raise AssertionError(
                f"no reference {ref_path}; create it with LICELL_UPDATE_SCREENSHOTS=1 "
                "bash .ci/test.sh tests/screenshots, then look at it before committing"
            )
        _write_png(ref_path, small)
        return Comparison(0.0, 0.0, True)
    reference = _read_png(ref_path)
    result = compare(small, reference, **tolerances)
    if not result.matches:
        actual_path = OUTPUT_DIR / f"{name}.actual.png"
        diff_path = OUTPUT_DIR / f"{name}.diff.png"
        _write_png(actual_path, small)
        if small.shape == reference.shape:
            _write_png(diff_path, np.abs(small - reference) * 4)
        raise AssertionError(
            f"screenshot {name!r} differs from {ref_path} (mean |diff| {result.mean_abs_diff:.2f}, "
            f"{result.strong_pixel_share:.2%} strongly different pixels); actual: {actual_path}, diff: {diff_path}"
        )
    return result


def differs_from_reference(image: np.ndarray, name: str, **tolerances) -> bool:
    """True when ``image`` does NOT match the reference (for tests proving the comparison can fail)."""
    reference = _read_png(REFERENCE_DIR / f"{name}.png")
    return not compare(downscale(image), reference, **tolerances).matches
