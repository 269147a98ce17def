"""Padding to the model's multiple, overlapping tiles with blended seams, and the 8-fold self-ensemble.

Pure tensor code: ``fn(x, cond)`` is any map that keeps the shape (a model's forward or inverse).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "pad",
    "resolve_tile",
    "tiled",
    "tiled_pixels",
    "self_ensemble",
    "DIHEDRAL",
    "tile_count",
    "AUTO_TILE_PIXELS",
    "DEFAULT_TILE",
    "DEFAULT_OVERLAP",
    "Progress",
]

#: images with more padded pixels than this are tiled when ``tile="auto"`` (bounds memory to ~1 GB)
AUTO_TILE_PIXELS = 1024 * 1024
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
Progress = Callable[[int, int], None]


def pad(x: Tensor, multiple: int) -> Tensor:
    """Reflect-pad bottom/right to a multiple (replicate where the image is too small to reflect)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return sorted({int(round(s / multiple)) * multiple for s in np.linspace(0, length - tile, n)})


def _ramp(size: int, start: int, total: int, overlap: int) -> Tensor:
    """Blend weights along one axis: a partition of unity over overlaps, ignoring the outer quarter."""
    d = torch.arange(size, dtype=torch.float32) + 0.5
    w = torch.ones(size)
    q, half = overlap / 4, max(overlap / 2, 1.0)
    if start > 0:
        w = torch.minimum(w, ((d - q) / half).clamp(0, 1))
    if start + size < total:
        w = torch.minimum(w, ((size - d - q) / half).clamp(0, 1))
    return w.clamp(min=1e-6)


def resolve_tile(tile: int | str | None, h: int, w: int, multiple: int) -> int | None:
    if tile is None or tile == 0:
        return None
    if tile == "auto":
        return DEFAULT_TILE if h * w > AUTO_TILE_PIXELS else None
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < multiple:
        raise ValueError(f"tile must be 'auto', None/0 or an integer >= {multiple}, got {tile!r}")
    return tile - tile % multiple


def tiled_pixels(h: int, w: int, tile: int | None, overlap: int, multiple: int) -> int:
    """How many pixels ``tiled`` runs its map on for an h×w canvas (overlaps counted twice): its cost."""
    if tile is None or (h <= tile and w <= tile):
        return h * w
    overlap = min(overlap, tile // 2)
    ys, xs = _starts(h, tile, overlap, multiple), _starts(w, tile, overlap, multiple)
    return sum(min(tile, h - y) for y in ys) * sum(min(tile, w - x) for x in xs)


def tile_count(h: int, w: int, tile: int | None, overlap: int, multiple: int) -> int:
    """How many tiles ``tiled`` cuts an h×w canvas into."""
    if tile is None or (h <= tile and w <= tile):
        return 1
    overlap = min(overlap, tile // 2)
    return len(_starts(h, tile, overlap, multiple)) * len(_starts(w, tile, overlap, multiple))


def tiled(
    fn: Callable[[Tensor, Tensor], Tensor],
    x: Tensor,
    cond: Tensor,
    tile: int | None,
    overlap: int,
    multiple: int,
    progress: Progress | None = None,
) -> Tensor:
    """Apply ``fn(x, cond)`` to overlapping tiles of the padded canvas and blend the seams."""
    h, w = x.shape[-2:]
    if tile is None or (h <= tile and w <= tile):
        out = fn(x, cond)
        if progress:
            progress(1, 1)
        return out
    overlap = min(overlap, tile // 2)
    ys, xs = _starts(h, tile, overlap, multiple), _starts(w, tile, overlap, multiple)
    out = torch.zeros_like(x)
    weight = torch.zeros(1, 1, h, w, device=x.device, dtype=x.dtype)
    done, total = 0, len(ys) * len(xs)
    for y0 in ys:
        th = min(tile, h - y0)
        wy = _ramp(th, y0, h, overlap)
        for x0 in xs:
            tw = min(tile, w - x0)
            wgt = (wy[:, None] * _ramp(tw, x0, w, overlap)[None, :]).to(x.device, x.dtype)
            sl = (..., slice(y0, y0 + th), slice(x0, x0 + tw))
            out[sl] += fn(x[sl], cond[sl]) * wgt
            weight[sl] += wgt
            done += 1
            if progress:
                progress(done, total)
    return out.div_(weight)


#: the 8 symmetries of the square used by the self-ensemble: (quarter turns, mirrored)
DIHEDRAL = [(k, mirror) for mirror in (False, True) for k in range(4)]


def _turn(x: Tensor, k: int, mirror: bool) -> Tensor:
    return torch.rot90(x.flip(-1) if mirror else x, k, (-2, -1))


def _unturn(x: Tensor, k: int, mirror: bool) -> Tensor:
    x = torch.rot90(x, -k, (-2, -1))
    return x.flip(-1) if mirror else x


def self_ensemble(
    fn: Callable[[Tensor, Tensor], Tensor], on_pass: Callable[[], None] | None = None
) -> Callable[[Tensor, Tensor], Tensor]:
    """``fn(x, cond)`` averaged over the 8 flips and quarter turns of its input and condition, each turned back
    (the standard test-time ensemble of restoration papers: 8× the work for a smoother estimate); ``on_pass`` is
    called after each of the 8 passes (progress, and a chance to stop)."""

    def averaged(x: Tensor, cond: Tensor) -> Tensor:
        out = torch.zeros_like(x)
        for k, mirror in DIHEDRAL:
            out += _unturn(fn(_turn(x, k, mirror), _turn(cond, k, mirror)), k, mirror)
            if on_pass:
                on_pass()
        return out.div_(len(DIHEDRAL))

    return averaged
