"""A generated stand-in for ModelNet40: clouds of points on the surfaces of parametric 3-D shapes.

Ten classes, each a closed surface: sphere, cube, cylinder (with its two discs), cone (with its base), torus,
square pyramid, capsule (a cylinder with two half-spheres), octahedron, hemisphere (with its disc) and
tetrahedron. Points are drawn uniformly over the surface: a part is chosen with probability proportional to
its area, then a point uniformly on it (triangles by their barycentric square-root rule, curved parts by
their area element), so a dense region of the cloud is a large region of the surface, as ModelNet pipelines
sample meshes (PyG's SamplePoints, Point-BERT's preprocessed 8,192-point files).

Each cloud is one shape with its own proportions (drawn per class, within bounds that keep the classes
apart), Gaussian noise of `noise` times the shape's size added along every axis, scaled along the three axes
independently by factors in [1 / `stretch`, `stretch`], turned by a uniform angle about the up (z) axis, and
normalised as ModelNet pipelines do (Point-MAE's pc_normalize): centred on its mean and divided by the largest
distance from it, so it fits the unit sphere. Rotation about the up axis only, because ModelNet's shapes
stand upright and differ in heading; a model is not expected to recognise a shape turned over.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import write_whole

GENERATOR_VERSION = 1  # bump when the drawing changes, so cached clouds are drawn again

SQUARE = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) / 2


def _triangles(vertices: np.ndarray, faces) -> np.ndarray:
    return np.asarray(vertices, float)[np.asarray(faces)]  # (F, 3 corners, 3)


def _box() -> np.ndarray:
    v = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return _triangles(v, [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])


def _pyramid(height: float) -> np.ndarray:
    v = np.vstack([np.c_[SQUARE, np.zeros(4)], [[0, 0, height]]])
    return _triangles(v, [(0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4), (0, 2, 1), (0, 3, 2)])


def _octahedron() -> np.ndarray:
    v = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    return _triangles(v, [(a, b, c) for a in (0, 1) for b in (2, 3) for c in (4, 5)])


def _tetrahedron() -> np.ndarray:
    v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    return _triangles(v, [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)])


def on_triangles(rng, triangles: np.ndarray, n: int) -> np.ndarray:
    """n points uniform over a triangle mesh: a triangle by area, then sqrt(u) barycentric coordinates."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    pick = rng.choice(len(triangles), n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n))[:, None], rng.random(n)[:, None]
    return (1 - r1) * a[pick] + r1 * (1 - r2) * b[pick] + r1 * r2 * c[pick]


def _sphere(rng, n: int) -> np.ndarray:
    p = rng.normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def _disc(rng, n: int, radius: float, z: float) -> np.ndarray:
    r, t = radius * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
    return np.c_[r * np.cos(t), r * np.sin(t), np.full(n, z)]


def _tube(rng, n: int, radius: float, z0: float, z1: float) -> np.ndarray:
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[radius * np.cos(t), radius * np.sin(t), rng.uniform(z0, z1, n)]


def _parts(rng, n: int, parts) -> np.ndarray:
    """parts: [(area, draw(m) -> (m, 3))]; the n points shared among them by area."""
    areas = np.array([a for a, _ in parts])
    counts = np.bincount(rng.choice(len(parts), n, p=areas / areas.sum()), minlength=len(parts))
    return np.concatenate([draw(m) for (_, draw), m in zip(parts, counts)])


def cylinder(rng, n, radius=0.5, height=1.0):
    return _parts(rng, n, [(2 * np.pi * radius * height, lambda m: _tube(rng, m, radius, -height / 2, height / 2)),
                           (np.pi * radius ** 2, lambda m: _disc(rng, m, radius, -height / 2)),
                           (np.pi * radius ** 2, lambda m: _disc(rng, m, radius, height / 2))])


def cone(rng, n, radius=0.5, height=1.0):
    def side(m):  # the distance from the apex grows as sqrt(u): the circle's length grows with it
        s, t = np.sqrt(rng.random(m)), rng.uniform(0, 2 * np.pi, m)
        return np.c_[radius * s * np.cos(t), radius * s * np.sin(t), height * (1 - s)]
    slant = np.hypot(radius, height)
    return _parts(rng, n, [(np.pi * radius * slant, side), (np.pi * radius ** 2, lambda m: _disc(rng, m, radius, 0))])


def torus(rng, n, major=0.7, minor=0.25):
    # around the tube, the surface element is (major + minor cos v): rejection keeps v in that proportion
    v = np.empty(0)
    while len(v) < n:
        draw = rng.uniform(0, 2 * np.pi, 2 * n)
        v = np.concatenate([v, draw[rng.random(2 * n) * (major + minor) < major + minor * np.cos(draw)]])
    v, u = v[:n], rng.uniform(0, 2 * np.pi, n)
    ring = major + minor * np.cos(v)
    return np.c_[ring * np.cos(u), ring * np.sin(u), minor * np.sin(v)]


def capsule(rng, n, radius=0.35, length=1.0):
    def caps(m):
        p = _sphere(rng, m) * radius
        p[:, 2] += np.sign(p[:, 2]) * length / 2  # the upper half-sphere on top, the lower one below
        return p
    return _parts(rng, n, [(2 * np.pi * radius * length, lambda m: _tube(rng, m, radius, -length / 2, length / 2)),
                           (4 * np.pi * radius ** 2, caps)])


def hemisphere(rng, n, radius=1.0):
    def dome(m):
        p = _sphere(rng, m)
        p[:, 2] = np.abs(p[:, 2])
        return p * radius
    return _parts(rng, n, [(2 * np.pi * radius ** 2, dome), (np.pi * radius ** 2, lambda m: _disc(rng, m, radius, 0))])


# class -> draw(rng, n): its proportions drawn per cloud within bounds that keep the classes apart
SHAPES = {
    "sphere": lambda rng, n: _sphere(rng, n),
    "cube": lambda rng, n: on_triangles(rng, _box(), n),
    "cylinder": lambda rng, n: cylinder(rng, n, rng.uniform(0.3, 0.5), rng.uniform(0.8, 1.6)),
    "cone": lambda rng, n: cone(rng, n, rng.uniform(0.35, 0.6), rng.uniform(0.8, 1.4)),
    "torus": lambda rng, n: torus(rng, n, rng.uniform(0.6, 0.8), rng.uniform(0.15, 0.3)),
    "pyramid": lambda rng, n: on_triangles(rng, _pyramid(rng.uniform(0.6, 1.2)), n),
    "capsule": lambda rng, n: capsule(rng, n, rng.uniform(0.25, 0.4), rng.uniform(0.8, 1.4)),
    "octahedron": lambda rng, n: on_triangles(rng, _octahedron(), n),
    "hemisphere": lambda rng, n: hemisphere(rng, n),
    "tetrahedron": lambda rng, n: on_triangles(rng, _tetrahedron(), n),
}
CLASSES = tuple(SHAPES)


def normalise(points: np.ndarray) -> np.ndarray:
    """Point-MAE's pc_normalize: centred on the mean, divided by the largest distance from it."""
    centred = points - points.mean(-2, keepdims=True)
    return centred / np.linalg.norm(centred, axis=-1).max(-1)[..., None, None].clip(1e-12)


def cloud(rng, name: str, n_points: int, noise: float, stretch: float) -> np.ndarray:
    """One cloud (n_points, 3) of class `name` (see the module's docstring for the steps)."""
    p = SHAPES[name](rng, n_points)
    size = np.linalg.norm(p - p.mean(0), axis=1).max()
    p = p + rng.normal(scale=noise * size, size=p.shape)
    p = p * np.exp(rng.uniform(-np.log(stretch), np.log(stretch), 3))
    angle = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    p = p @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
    return normalise(p)


@dataclass
class Clouds:
    name: str
    splits: dict       # {"train" | "val" | "test": (points float32 (n, n_points, 3), labels int64 (n,))}
    classes: tuple
    source: str

    @property
    def n_points(self) -> int:
        return self.splits["train"][0].shape[1]


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"data.settings.{name}={value!r}: give a positive integer")
    return value


def shapes(n_train: int = 2000, n_val: int = 300, n_test: int = 600, n_points: int = 1024, noise: float = 0.01,
           stretch: float = 1.25, seed: int = 0, cache: str | Path | None = None) -> Clouds:
    """Balanced classes, every split drawn from its own stream of `seed` (a split never changes when another
    one's size does). With `cache`, kept under cache/shapes/ by the settings."""
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("n_points", n_points)):
        _positive(name, value)
    if not isinstance(noise, (int, float)) or not 0 <= noise < 0.2:
        raise ValueError(f"data.settings.noise={noise!r}: give a fraction of the shape's size in [0, 0.2)")
    if not isinstance(stretch, (int, float)) or not 1 <= stretch <= 2:
        raise ValueError(f"data.settings.stretch={stretch!r}: give a scale factor bound in [1, 2]")
    settings = dict(n_train=n_train, n_val=n_val, n_test=n_test, n_points=n_points, noise=noise, stretch=stretch,
                    seed=seed, version=GENERATOR_VERSION)
    source = f"generated (10 parametric shapes, {n_points} surface points, seed {seed})"
    stored = None if cache is None else Path(cache) / "shapes" / (
        hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16] + ".npz")
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            return Clouds("shapes", {s: (saved[f"{s}_x"], saved[f"{s}_y"]) for s in ("train", "val", "test")},
                          CLASSES, source)
    splits = {}
    for index, (split, n) in enumerate((("train", n_train), ("val", n_val), ("test", n_test))):
        rng = np.random.default_rng([seed, index])
        labels = rng.permutation(np.arange(n) % len(CLASSES))
        points = np.stack([cloud(rng, CLASSES[y], n_points, noise, stretch) for y in labels]).astype(np.float32)
        splits[split] = (points, labels.astype(np.int64))
    if stored is not None:
        write_whole(stored, lambda partial: np.savez(
            partial, **{f"{s}_{k}": v for s, (x, y) in splits.items() for k, v in (("x", x), ("y", y))}))
    return Clouds("shapes", splits, CLASSES, source)
