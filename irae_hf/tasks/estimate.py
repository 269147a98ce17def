"""Blind degradation levels: the noise σ of an image, and the JPEG quality of its decoded pixels.

Users do not know the σ of their photo's noise or the quality its JPEG was saved at; these estimates let
restoration decide for them. Images are H×W×3 uint8 arrays or PIL images; σ is in 0–255 units.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

__all__ = ["estimate_sigma", "jpeg_quality_from_pixels", "NO_COMPRESSION"]

#: what the pixel estimate returns for an image that shows no sign of JPEG compression
NO_COMPRESSION = None
#: a quality's re-encoding error must be under this fraction of its neighbours' to count as the original one
DIP = 0.5


def _rgb(image: Image.Image | np.ndarray) -> np.ndarray:
    return np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.uint8)


def _wavelet_mad(rgb: np.ndarray) -> float:
    """Donoho and Johnstone's robust σ (MAD of the finest diagonal wavelet sub-band), per channel, averaged; 0–255."""
    from skimage.restoration import estimate_sigma as wavelet_mad

    with warnings.catch_warnings():  # a flat image's empty MAD warns, then reads nan: estimate_sigma says 0
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(wavelet_mad(rgb / 255.0, channel_axis=-1, average_sigmas=True)) * 255.0


def estimate_sigma(image: Image.Image | np.ndarray) -> float:
    """σ of additive white Gaussian noise in 0–255 units, corrected for the clipping of 8-bit files.

    The wavelet MAD estimate (scikit-image's ``estimate_sigma``) reads low once noise is clipped at 0 and 255
    (−13 at σ 75 on CBSD68): the same estimator is run on a simulation (seeded noise of the candidate σ added to
    the image's 3×3 median, which clipping does not bias, then clipped and rounded) and the candidate scaled until
    the simulation reads what the image read. The correction is estimated on a centre crop of at most
    ``CORRECTION_CROP``² pixels and capped at ``MAX_CORRECTION``× the plain estimate. Always a number in
    [0, ``MAX_SIGMA``]: 0 for flat and two-tone images and those under ``MIN_SIDE`` pixels on a side.
    """
    u8 = _rgb(image)
    if min(u8.shape[:2]) < MIN_SIDE:  # too few pixels to tell noise from detail
        return 0.0
    if np.count_nonzero(np.bincount(u8.ravel(), minlength=256)) <= 2:
        return 0.0  # two tones (a 1-bit scan, black text on white): sharp edges, not noise
    rgb = u8.astype(np.float64)
    measured = _wavelet_mad(rgb)
    if not np.isfinite(measured) or measured < 1e-6:  # a flat image (all black, say): no noise to read
        return 0.0
    return float(min(measured * _clipping_correction(rgb, measured), MAX_SIGMA))


#: images narrower than this read σ 0 (the wavelet estimate needs a few rows and columns)
MIN_SIDE = 4
#: the largest σ an estimate reports (0–255 units: a checkerboard reads more than 500)
MAX_SIGMA = 255.0


#: the clipping correction is measured on a centre crop this size at most (its cost grows with the pixels)
CORRECTION_CROP = 1024
#: the most the clipping correction may raise the plain estimate (a nearly saturated image cannot say more)
MAX_CORRECTION = 3.0


def _clipping_correction(rgb: np.ndarray, measured: float, iterations: int = 4) -> float:
    from scipy.ndimage import median_filter

    h, w = rgb.shape[:2]
    top, left = max(0, (h - CORRECTION_CROP) // 2), max(0, (w - CORRECTION_CROP) // 2)
    crop = rgb[top : top + CORRECTION_CROP, left : left + CORRECTION_CROP]
    if crop.shape != rgb.shape:
        measured = _wavelet_mad(crop)
    if measured <= 0:
        return 1.0
    base = median_filter(crop, size=(3, 3, 1))
    noise = np.random.default_rng(0).standard_normal(crop.shape)
    sigma = measured
    for _ in range(iterations):
        simulated = _wavelet_mad(np.clip(np.round(base + sigma * noise), 0, 255))
        sigma = min(sigma * measured / max(simulated, 1e-6), MAX_CORRECTION * measured)
    return sigma / measured


#: the chroma subsamplings a JPEG is re-encoded with: 4:2:0 (Pillow's and phones' default) and 4:4:4 (no subsampling)
SUBSAMPLINGS = (2, 0)


def _recompression_error(rgb: np.ndarray, quality: int, subsampling: int = 2) -> float:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    again = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float64)
    return float(np.mean((again - rgb) ** 2))


def jpeg_quality_from_pixels(image: Image.Image | np.ndarray, crop: int = 256) -> int | None:
    """The JPEG quality decoded pixels were once saved at, or ``NO_COMPRESSION`` (None).

    JPEG is nearly idempotent: re-encoding a decoded JPEG at its own quality (and chroma subsampling) changes almost
    nothing, at other qualities much more, so the re-encoding error over qualities dips at the original one ("JPEG
    ghosts"). The search runs on a 16-aligned centre crop, once per subsampling (4:2:0, 4:4:4), in coarse steps of 5
    and then ±4 around the deepest dip. A photo compressed twice (quality 30, then 90) shows a ghost at each: the
    lowest quality with a dip is returned, since its artifacts are the ones to undo. No quality whose error is under
    ``DIP`` times both neighbours' means the pixels show no sign of compression (or were saved at quality ≥ 98).
    """
    rgb = _rgb(image)
    h, w = rgb.shape[:2]
    ch, cw = min(crop, h - h % 16), min(crop, w - w % 16)
    if ch < 16 or cw < 16:
        return NO_COMPRESSION
    top, left = ((h - ch) // 2) // 16 * 16, ((w - cw) // 2) // 16 * 16  # keep the 16×16 MCU grid (4:2:0)
    rgb = np.ascontiguousarray(rgb[top : top + ch, left : left + cw])
    if _detail(rgb) < MIN_DETAIL:  # a flat image re-encodes alike at many qualities: spurious dips, nothing to undo
        return NO_COMPRESSION
    found = [_ghost(rgb, subsampling) for subsampling in SUBSAMPLINGS]
    found = [q for q in found if q is not None]
    return min(found) if found else NO_COMPRESSION


#: below this mean step between neighbouring pixels (8-bit units) an image is flat (a smooth gradient saved as JPEG
#: reads about 0.2): no compression to read
MIN_DETAIL = 0.02


def _detail(rgb: np.ndarray) -> float:
    """The mean absolute difference between horizontally and vertically neighbouring pixel values."""
    x = rgb.astype(np.int16)
    return float((np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()) / 2)


def _ghost(rgb: np.ndarray, subsampling: int) -> int | None:
    """The lowest quality whose re-encoding error (at ``subsampling``) dips under ``DIP`` times its neighbours',
    refined to the single quality; None without a dip."""
    errors = {q: _recompression_error(rgb, q, subsampling) for q in range(5, 101, 5)}

    def dip(q: int) -> float:  # the error at q against its coarse neighbours': a ghost is far below both
        around = [errors[n] for n in (q - 5, q + 5) if n in errors]
        return errors[q] / (min(around) + 1e-9)

    dips = [q for q in range(5, 100, 5) if dip(q) <= DIP]
    if not dips:
        return None
    coarse = dips[0]
    near = range(max(1, coarse - 4), min(99, coarse + 4) + 1)
    for q in near:
        errors.setdefault(q, _recompression_error(rgb, q, subsampling))
    return min(near, key=errors.get)
