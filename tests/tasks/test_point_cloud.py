"""The point-cloud domain: the generated shapes (seeded, on their surfaces within the noise, area-weighted,
normalised, balanced), FPS and kNN against brute force, the ModelNet40 reader on two tiny .off meshes, the
augmentation's bounds, the plan's io against the build's, what the models' output does not depend on (the
order of the input points, given the first), and a two-step run end to end."""
import numpy as np
import pytest
import torch
from scipy.spatial import ConvexHull

import zoo
from zoo.registry import example_of
from tasks import kinds
from tasks.point_cloud import modelnet
from tasks.point_cloud import shapes as sh
from tasks.point_cloud.data import SCALE, SHIFT, scale_translate
from zoo.point_cloud.patches import farthest_points, group, nearest_neighbours

TINY_SETTINGS = ["data.settings.n_train=20", "data.settings.n_val=10", "data.settings.n_test=10",
                 "data.settings.n_points=128", "model.n_groups=8", "model.group_size=8"]


def _hull_distance(p: np.ndarray) -> np.ndarray:
    """A convex polyhedron's surface holds a point where the point's largest plane distance is 0."""
    planes = ConvexHull(p).equations
    return np.abs((p @ planes[:, :3].T + planes[:, 3]).max(1))


def _on_disc_or(side, z, r, z_disc, radius):
    on_disc = np.isclose(z, z_disc, atol=1e-12)
    return np.where(on_disc, np.maximum(r - radius, 0), side)


# class -> (draw with known proportions, distance of each point to that surface, written from its equation)
KNOWN = {
    "sphere": (lambda rng, n: sh.SHAPES["sphere"](rng, n), lambda p, r, z: np.abs(np.linalg.norm(p, axis=1) - 1)),
    "cylinder": (lambda rng, n: sh.cylinder(rng, n, 0.4, 1.2), lambda p, r, z: np.where(
        np.isclose(np.abs(z), 0.6), np.maximum(r - 0.4, 0), np.abs(r - 0.4) + np.maximum(np.abs(z) - 0.6, 0))),
    "cone": (lambda rng, n: sh.cone(rng, n, 0.5, 1.0),  # the radius falls linearly from 0.5 at z = 0 to 0 at z = 1
             lambda p, r, z: _on_disc_or(np.abs(r - 0.5 * (1 - z)), z, r, 0.0, 0.5)),
    "torus": (lambda rng, n: sh.torus(rng, n, 0.7, 0.25), lambda p, r, z: np.abs(np.hypot(r - 0.7, z) - 0.25)),
    "capsule": (lambda rng, n: sh.capsule(rng, n, 0.3, 1.0),  # 0.3 from the axis segment z in [-0.5, 0.5]
                lambda p, r, z: np.abs(np.hypot(r, z - np.clip(z, -0.5, 0.5)) - 0.3)),
    "hemisphere": (lambda rng, n: sh.SHAPES["hemisphere"](rng, n), lambda p, r, z: _on_disc_or(
        np.abs(np.linalg.norm(p, axis=1) - 1) + (z < 0), z, r, 0.0, 1.0)),
}


@pytest.mark.parametrize("name", sh.CLASSES)
def test_every_shape_is_drawn_on_its_surface(name):
    rng = np.random.default_rng(0)
    assert sh.SHAPES[name](rng, 500).shape == (500, 3)  # with the proportions the set draws
    if name in KNOWN:
        draw, distance = KNOWN[name]
        p = draw(rng, 2000)
        assert distance(p, np.hypot(p[:, 0], p[:, 1]), p[:, 2]).max() < 1e-6
    else:  # the polyhedra (cube, pyramid, octahedron, tetrahedron): every point on a face of its convex hull
        assert _hull_distance(sh.SHAPES[name](rng, 2000)).max() < 1e-6


def test_points_are_spread_by_area():
    # a cylinder of radius 0.5 and height 1: the two discs are 2 * pi * 0.25 of the 2 * pi * 0.75 of surface
    points = sh.cylinder(np.random.default_rng(1), 30000, 0.5, 1.0)
    on_discs = np.isclose(np.abs(points[:, 2]), 0.5).mean()
    assert abs(on_discs - 1 / 3) < 0.015
    # on the cone's side (slant sqrt(1.25)), half the area lies below mid-height... by 3/4: the lower half is
    # the wider one (a circle's length grows with the distance from the apex)
    side = sh.cone(np.random.default_rng(2), 30000, 0.5, 1.0)
    side = side[side[:, 2] > 1e-9]
    assert abs((side[:, 2] < 0.5).mean() - 0.75) < 0.015


def test_noise_is_within_its_scale_and_clouds_are_normalised():
    rng = np.random.default_rng(3)
    clean = sh.cloud(rng, "sphere", 4000, noise=0.0, stretch=1.0)
    noisy = sh.cloud(rng, "sphere", 4000, noise=0.02, stretch=1.0)
    # still a sphere (centred on the points' mean, not exactly its centre): |p|^2 = 2 p.c + k, solved for c and k
    fit, *_ = np.linalg.lstsq(np.c_[2 * clean, np.ones(len(clean))], (clean ** 2).sum(1), rcond=None)
    radius = np.linalg.norm(clean - fit[:3], axis=1)
    assert np.allclose(radius, radius.mean(), atol=1e-6) and abs(radius.mean() - 1) < 0.05
    spread = np.linalg.norm(noisy, axis=1)
    spread = spread / np.median(spread)
    assert 0.015 < spread.std() < 0.025 and np.abs(spread - 1).max() < 6 * 0.02
    for p in (clean, noisy):
        assert np.abs(p.mean(0)).max() < 1e-6 and np.isclose(np.linalg.norm(p, axis=1).max(), 1)


def test_the_set_is_seeded_balanced_and_split_by_streams(tmp_path):
    a = sh.shapes(n_train=30, n_val=10, n_test=20, n_points=64, seed=5, cache=tmp_path)
    again = sh.shapes(n_train=30, n_val=10, n_test=20, n_points=64, seed=5, cache=None)  # drawn anew
    other = sh.shapes(n_train=30, n_val=10, n_test=20, n_points=64, seed=6)
    bigger = sh.shapes(n_train=50, n_val=10, n_test=20, n_points=64, seed=5)
    for split in ("train", "val", "test"):
        assert np.array_equal(a.splits[split][0], again.splits[split][0])
        assert not np.array_equal(a.splits[split][0], other.splits[split][0])
    assert np.array_equal(a.splits["test"][0], bigger.splits["test"][0])  # a split's own stream
    points, labels = a.splits["train"]
    assert points.shape == (30, 64, 3) and points.dtype == np.float32
    assert np.bincount(labels, minlength=10).tolist() == [3] * 10
    assert np.allclose(np.linalg.norm(points, axis=-1).max(1), 1, atol=1e-5)
    assert list((tmp_path / "shapes").glob("*.npz"))  # cached, and read back whole
    assert np.array_equal(sh.shapes(n_train=30, n_val=10, n_test=20, n_points=64, seed=5,
                                    cache=tmp_path).splits["val"][0], a.splits["val"][0])


@pytest.mark.parametrize("settings,match", [(dict(n_train=0), "n_train"), (dict(noise=0.5), "noise"),
                                            (dict(stretch=0.5), "stretch")])
def test_bad_settings_fail_in_one_line(settings, match):
    with pytest.raises(ValueError, match=match):
        sh.shapes(**settings)


def test_fps_and_knn_match_brute_force():
    g = torch.Generator().manual_seed(0)
    points = torch.rand(2, 40, 3, generator=g)
    picked = farthest_points(points, 6)
    for b in range(2):
        chosen = [0]
        for _ in range(5):  # the point whose nearest chosen point is farthest
            d = [min(float((points[b, i] - points[b, c]).norm()) for c in chosen) for i in range(40)]
            chosen.append(int(np.argmax(d)))
        assert picked[b].tolist() == chosen
    centres = points[torch.arange(2)[:, None], picked]
    near = nearest_neighbours(centres, points, 5)
    for b in range(2):
        for c in range(6):
            d = [float((points[b, i] - centres[b, c]).norm()) for i in range(40)]
            assert near[b, c].tolist() == sorted(range(40), key=d.__getitem__)[:5]
    patches, grouped = group(points, 6, 5)
    assert torch.equal(grouped, centres) and torch.allclose(patches[:, :, 0], torch.zeros(2, 6, 3))


def test_fps_and_knn_refuse_impossible_counts():
    with pytest.raises(ValueError, match="give between 1 and 10"):
        farthest_points(torch.rand(1, 10, 3), 11)
    with pytest.raises(ValueError, match="give between 1 and 10"):
        nearest_neighbours(torch.rand(1, 2, 3), torch.rand(1, 10, 3), 0)


def _write_off(path, vertices, faces):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0", *(" ".join(map(str, v)) for v in vertices),
             *(f"3 {' '.join(map(str, f))}" for f in faces)]
    path.write_text("\n".join(lines) + "\n")


def _tiny_modelnet(root):
    """Two classes in the release's layout, raw/<class>/{train,test}/<class>_NNNN.off: a box 2 x 1 x 1 (4 training
    meshes, 2 test) and a tetrahedron (the same)."""
    box = [[x, y, z] for x in (0, 2) for y in (0, 1) for z in (0, 1)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    box_faces = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    tet = [[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
    tet_faces = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
    for cls, (v, f) in {"box": (box, box_faces), "tetra": (tet, tet_faces)}.items():
        for split, count in (("train", 4), ("test", 2)):
            for i in range(count):
                _write_off(root / "raw" / cls / split / f"{cls}_{i + 1:04d}.off", v, f)


def test_the_modelnet_reader_samples_tiny_meshes(tmp_path):
    root = tmp_path / "modelnet40"
    _tiny_modelnet(root)
    assert modelnet.present(root)
    clouds = modelnet.modelnet40(n_points=256, val_fraction=0.25, root=root, cache=tmp_path)
    sizes = {s: len(y) for s, (_, y) in clouds.splits.items()}
    assert sizes == {"train": 6, "val": 2, "test": 4} and clouds.classes == ("box", "tetra")
    assert clouds.splits["test"][1].tolist() == [0, 0, 1, 1]  # classes in sorted order, as PyG labels them
    for points, labels in clouds.splits.values():
        assert points.shape[1:] == (256, 3)
        assert np.allclose(np.linalg.norm(points, axis=-1).max(1), 1, atol=1e-5)
        for p, y in zip(points, labels):
            # on the mesh's surface: both meshes are convex, so every point lies on a face of the cloud's hull
            assert _hull_distance(p.astype(np.float64)).max() < 1e-4
            if y == 0:  # the 2 x 1 x 1 box keeps its proportions through the normalisation
                extent = p.max(0) - p.min(0)
                assert abs(extent[0] / extent[1] - 2) < 0.1 and abs(extent[1] / extent[2] - 1) < 0.1
    again = modelnet.modelnet40(n_points=256, val_fraction=0.25, root=root, cache=tmp_path)  # from the cache
    assert np.array_equal(again.splits["val"][0], clouds.splits["val"][0])


def test_a_missing_modelnet_is_one_line_naming_the_url_and_folder(tmp_path):
    data = kinds.resolve_data({"task": "modelnet40"})
    planned = kinds.kind_for("modelnet40").plan(data, str(tmp_path))
    assert planned.missing == modelnet.missing_line(tmp_path / "modelnet40")
    assert "\n" not in planned.missing and modelnet.URL in planned.missing and str(tmp_path) in planned.missing


def test_scale_and_translate_stay_in_point_mae_bounds():
    points = torch.ones(200, 4, 3)
    moved = scale_translate(points, torch.Generator().manual_seed(0))
    assert moved.min() >= SCALE[0] - SHIFT and moved.max() <= SCALE[1] + SHIFT
    assert torch.allclose(moved[:, 0], moved[:, 1])  # one draw per cloud and axis, the same for all its points


@pytest.mark.parametrize("name", zoo.list_models(domain="point_cloud"))
def test_the_output_does_not_depend_on_the_order_of_the_points_after_the_first(name):
    # farthest point sampling starts at point 0, so the centres and the tokens are the same set in the same order
    # for any order of the other points, and kNN patches are max-pooled; a different first point changes them
    torch.manual_seed(0)
    model = zoo.create_model(name, **example_of(name).io, **example_of(name).settings).eval()
    points = torch.rand(2, 128, 3)
    shuffled = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(127)])
    with torch.no_grad():
        torch.testing.assert_close(model(points[:, shuffled]), model(points), rtol=1e-5, atol=1e-5)


def test_mean_class_accuracy_is_counted_per_class_by_hand():
    from runners.run.config import compose
    from tasks.point_cloud.data import PointCloudTask
    task = PointCloudTask(torch.nn.Linear(1, 1), compose("train", ["pipeline=shapes"]), n_classes=3)
    # class 0: 2 of 2 right, class 1: 1 of 4, class 2: none seen; in two batches
    task.keep("val", "val/acc", torch.tensor([1.0, 0.0, 1.0]), 1, torch.tensor([0, 1, 0]))
    task.keep("val", "val/acc", torch.tensor([1.0, 0.0, 0.0]), 1, torch.tensor([1, 1, 1]))
    hits, counts = task.per_class["val"]
    assert hits.tolist() == [2, 1, 0] and counts.tolist() == [2, 4, 0]
    seen = counts > 0
    assert (hits[seen] / counts[seen]).mean().item() == pytest.approx((1 + 0.25) / 2)  # accuracy would be 3 / 6


def test_a_training_batch_of_one_cloud_runs():
    # the plan counts FLOPs on one example in training mode; the head's batch norm then uses its running statistics
    model = zoo.create_model("pointmamba", **example_of("pointmamba").io, **example_of("pointmamba").settings)
    assert model.train()(torch.rand(1, 128, 3)).shape == (1, 5) and model.head.training


def test_the_order_settings_are_what_the_variants_compare():
    configs = {n: zoo.resolved_config(n) for n in zoo.list_models(domain="point_cloud")}
    assert configs["pointmamba"]["order"] == ["hilbert", "trans_hilbert"]
    assert configs["pointmamba_random"]["order"] == ["random", "random"]
    same = {k: v for k, v in configs["pointmamba"].items() if k != "order"}
    assert same == {k: v for k, v in configs["pointmamba_random"].items() if k != "order"}


@pytest.mark.parametrize("pipeline", ["shapes", "modelnet40"])
def test_the_plan_has_the_io_the_build_gives(tmp_path, pipeline):
    from runners.run.config import compose
    if pipeline == "modelnet40":
        _tiny_modelnet(tmp_path / "modelnet40")
    overrides = [f"pipeline={pipeline}", "model.name=pointmamba", f"data_root={tmp_path}"]
    overrides += TINY_SETTINGS[:4] if pipeline == "shapes" else ["data.settings.n_points=128"]
    cfg = compose("train", overrides)
    data = kinds.resolve_data(dict(cfg.data))
    planned = kinds.kind_for(pipeline).plan(data, str(tmp_path))
    seen = {}
    built = kinds.build(cfg, lambda **io: seen.update(io) or torch.nn.Linear(1, 1))
    assert planned.io == built.io == seen and planned.missing is None
    assert planned.example(3)[0].shape == (3, 128, 3)


def test_a_two_step_run_end_to_end(tmp_path):
    from runners.run import train
    from runners.run.config import compose
    overrides = ["pipeline=shapes", "model.name=pointmamba", "trainer.max_steps=2", "trainer.val_every_steps=2",
                 "trainer.progress_bar=false", "logger=none", "data.batch_size=8", "model.d_model=16",
                 *TINY_SETTINGS]
    rec = train.run(compose("train", [*overrides, f"results_dir={tmp_path}", f"data_root={tmp_path}"]), overrides)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["primary_metric"] == "test/acc" and 0 <= rec["metrics"]["test/acc"] <= 1
    assert 0 <= rec["metrics"]["test/macc"] <= 1
