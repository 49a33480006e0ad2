"""A Pathfinder-style connectivity task (Linsley et al. 2018; LRA's Pathfinder-32), generated here.

Each image holds two dashed contours and short distractor contours; two markers sit at contour ends. The
label says whether both markers end the same contour (1) or one marker ends each (0). Deciding it means
following a contour across the image, so a model must carry information along the path: the task where a
scan's order over the patch grid should matter.

Settings follow LRA's Pathfinder-32 generator (snakes2.py) where they carry over: contours of `length`
paddles (14 hard, 9 intermediate), each `paddle` pixels long with a one-pixel gap, the heading turning by at
most `turn` radians per paddle (continuity), markers of radius 1.5 at least `seed_distance` apart,
20 // (length // 3) distractor contours. What differs: one-pixel strokes without anti-aliasing or contrast
jitter, distractors a third of a contour long, and contours that may cross (LRA avoids most crossings).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..cache import write_whole
from .sources import ImageSet

GENERATOR_VERSION = 1  # bump when the drawing changes, so cached images are redrawn


def _contour(rng, size: int, n_paddles: int, paddle: int, turn: float, tries: int = 20):
    """Pixel coordinates (rows, cols) of a dashed contour inside the image and its two ends, or None. A
    paddle that would leave the image draws another turn from a range widened a little each try (up to
    half a circle), so a contour bends away from an edge instead of being thrown away."""
    margin = 2.0
    point = rng.uniform(size / 4, 3 * size / 4, 2)  # from the middle half, so few contours run into an edge
    heading = rng.uniform(0, 2 * np.pi)
    along = np.linspace(0, paddle, 4 * paddle + 1)[:, None]
    pixels = []
    for _ in range(n_paddles):
        for attempt in range(tries):
            candidate = heading + rng.uniform(-1, 1) * min(np.pi, turn * (1 + attempt / 4))
            step = np.array([np.sin(candidate), np.cos(candidate)])
            stroke, after = point + along * step, point + (paddle + 1) * step  # after: where the next one starts
            if min(stroke.min(), after.min()) >= margin and max(stroke.max(), after.max()) <= size - 1 - margin:
                break
        else:
            return None
        heading = candidate
        pixels.append(stroke)
        point = after
    return np.round(np.concatenate(pixels)).astype(int), (pixels[0][0], pixels[-1][-1])


def _disc(image, centre, radius: float):
    rows, cols = np.ogrid[:image.shape[0], :image.shape[1]]
    image[(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2] = 255


def draw(rng, size: int, length: int, paddle: int, turn: float, seed_distance: float, positive: bool):
    """One image (size x size uint8) with its label's marker placement; retries until the markers are
    at least seed_distance apart."""
    while True:
        image = np.zeros((size, size), np.uint8)
        contours = [_contour(rng, size, length, paddle, turn) for _ in range(2)]
        if any(c is None for c in contours):
            continue
        distractors = [_contour(rng, size, max(1, length // 3), paddle, turn) for _ in range(20 // max(1, length // 3))]
        for found in contours + [d for d in distractors if d is not None]:
            image[found[0][:, 0], found[0][:, 1]] = 255
        (_, a), (_, b) = contours
        markers = (a[0], a[1]) if positive else (a[0], b[rng.integers(2)])
        if np.linalg.norm(markers[0] - markers[1]) < seed_distance:
            continue
        for centre in markers:
            _disc(image, centre, 1.5)
        return image


def pathfinder(size: int = 32, length: int = 14, paddle: int = 2, turn: float = 1.0, seed_distance: float = 7.0,
               n_train: int = 4000, n_val: int = 500, n_test: int = 1000, seed: int = 0,
               cache: str | Path | None = None) -> ImageSet:
    """Balanced labels, every split drawn from its own stream of `seed`, so a split never changes when
    another one's size does. With `cache`, the images are kept in cache/pathfinder/ by their settings (a few
    thousand images take tens of seconds to draw)."""
    for name, value in (("size", size), ("length", length), ("paddle", paddle), ("n_train", n_train),
                        ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"data.settings.{name}={value!r}: give a positive integer")
    if size < 16:
        raise ValueError(f"data.settings.size={size}: pathfinder images need at least 16 pixels a side")
    settings = dict(size=size, length=length, paddle=paddle, turn=turn, seed_distance=seed_distance,
                    n_train=n_train, n_val=n_val, n_test=n_test, seed=seed, version=GENERATOR_VERSION)
    name = f"pathfinder{size}"
    source = f"generated (Pathfinder-style, length {length}, seed {seed})"
    stored = None if cache is None else Path(cache) / "pathfinder" / (
        hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16] + ".npz")
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            return ImageSet(name, {s: (saved[f"{s}_x"], saved[f"{s}_y"]) for s in ("train", "val", "test")}, 2,
                            source).check()
    splits = {}
    for index, (split, n) in enumerate((("train", n_train), ("val", n_val), ("test", n_test))):
        rng = np.random.default_rng([seed, index])
        labels = rng.permutation(np.arange(n) % 2)
        images = np.stack([draw(rng, size, length, paddle, turn, seed_distance, bool(y)) for y in labels])
        splits[split] = (images[:, None], labels.astype(np.int64))
    if stored is not None:
        write_whole(stored, lambda partial: np.savez_compressed(
            partial, **{f"{s}_{k}": v for s, (x, y) in splits.items() for k, v in (("x", x), ("y", y))}))
    return ImageSet(name, splits, 2, source).check()
