"""ImageNet-1k read lazily (class folders or the hub's parquet shards), DeiT's transforms, the fixed held-out
validation split, a tiny run end to end, the plans of the image kinds against what they build, and CIFAR-100's
fine labels; all on images the tests write."""
import numpy as np
import pytest
import torch
from PIL import Image

from runners.run import train
from runners.run.config import compose
from tasks import kinds
from tasks.vision import imagenet
from tasks.vision.lazy import LazyImageData
from tasks.vision.recipe import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform

CLASSES = ["n01440764", "n01443537", "n01484850"]
GREY = 128  # the value of every pixel of the first training image of each class


def _image(rng, i):
    pixels = np.full((40, 48, 3), GREY, np.uint8) if i == 0 else rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def folder(tmp_path):
    """An ImageNet-style folder: 4 training and 2 validation JPEGs in each of 3 class folders."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imagenet"
    for split, n in (("train", 4), ("val", 2)):
        for wnid in CLASSES:
            (root / split / wnid).mkdir(parents=True)
            for i in range(n):
                _image(rng, i).save(root / split / wnid / f"{wnid}_{i}.JPEG", quality=95)
    (root / "train" / CLASSES[0] / "notes.txt").write_text("not an image")
    return root


def _hub_shards(folder, splits, features, n=6):
    """Parquet shards in the hub's layout, written as `datasets` writes them."""
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        rows = {"image" if "image" in features else "img": [_image(rng, 1) for _ in range(n)]}
        rows.update({name: [i % len(f.names) for i in range(n)] for name, f in features.items()
                     if isinstance(f, datasets.ClassLabel)})
        table = datasets.Dataset.from_dict(rows)
        for name, feature in features.items():
            table = table.cast_column(name, feature)
        table.to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))
    return folder


def _data(**settings):
    return kinds.resolve_data({"task": "imagenet", "image_size": 32, "n_val": 3, "batch_size": 4, "workers": 0,
                               **settings})


def test_folder_classes_and_splits(folder):
    images = imagenet.load(str(folder), "unused")
    assert images.n_classes == 3 and (len(images.train), len(images.test)) == (12, 6)  # notes.txt is no image
    assert images.train.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert images.test(5)[1] == 2 and images.test(0)[0].mode == "RGB"
    data = LazyImageData(images, 32, 3, None, None, batch_size=4, eval_batch_size=None, workers=0)
    assert {k: len(v) for k, v in data.indices.items()} == {"train": 9, "val": 3, "test": 6}
    assert not set(data.indices["train"]) & set(data.indices["val"])


def test_held_out_split_is_fixed_across_run_seeds(folder):
    images = imagenet.load(str(folder), "unused")
    a, b = (LazyImageData(images, 32, 3, None, None, 4, None, 0, shuffle_seed=s) for s in (0, 7))
    assert np.array_equal(a.indices["val"], b.indices["val"])
    assert np.array_equal(imagenet.held_out(1000, 10)[1], imagenet.held_out(1000, 10)[1])
    with pytest.raises(ValueError, match=r"data.n_val=12: give a positive integer below the 12 training images"):
        imagenet.held_out(12, 12)


def test_training_batch_is_normalised_and_only_training_is_random(folder):
    grey = Image.fromarray(np.full((40, 48, 3), GREY, np.uint8))
    evaluate = eval_transform(32, 0.875)
    first, again = evaluate(grey), evaluate(grey)
    assert first.shape == (3, 32, 32) and torch.equal(first, again)
    expected = (GREY / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(first.mean(dim=(1, 2)), expected, atol=1e-3)  # ImageNet mean/std, not the data's
    noise = Image.fromarray(np.random.default_rng(2).integers(0, 256, (40, 48, 3), dtype=np.uint8))
    augment = train_transform(32, "rand-m9-mstd0.5-inc1", 0.3, 0.25)
    draws = [augment(noise) for _ in range(3)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])

    cfg = compose("train", ["pipeline=imagenet", f"data.path={folder}", "data.image_size=32", "data.n_val=3",
                            "data.batch_size=4", "data.workers=0"])
    built = kinds.build(cfg, lambda **io: torch.nn.Linear(1, 1))
    images, labels = next(iter(built.data.train_dataloader()))
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert images.min() < -1 and images.max() > 1  # normalised, not [0, 1]
    assert built.task.mix is not None and built.data.drop_last  # Mixup / CutMix pair a batch's images


def test_a_tiny_run_on_the_folder_end_to_end_matches_its_plan(folder, tmp_path):
    overrides = ["pipeline=imagenet", f"data.path={folder}", "data.image_size=32", "data.n_val=3",
                 "data.batch_size=4", "data.eval_batch_size=6", "data.workers=0", "trainer.accelerator=cpu",
                 "trainer.devices=1", "trainer.strategy=auto", "trainer.precision=32-true", "trainer.max_steps=2",
                 "trainer.val_every_steps=2", "trainer.progress_bar=false", "logger=none", "model.name=vim",
                 "model.d_model=16", "model.depth=1", "model.patch_size=8"]
    cfg = compose("train", [*overrides, f"results_dir={tmp_path / 'results'}", f"data_root={tmp_path}"])
    seen = {}
    kinds.build(cfg, lambda **io: seen.update(io) or torch.nn.Linear(1, 1))
    planned = kinds.kind_for("imagenet").plan(_data(path=str(folder)), str(tmp_path))
    assert planned.io == seen == {"image_size": [32, 32], "in_channels": 3, "n_classes": 3}
    assert planned.missing is None and planned.example(5)[0].shape == (5, 3, 32, 32)
    assert planned.example(5)[0].device.type == "meta" and planned.unit == "images"

    record = train.run(cfg, overrides)
    assert record["status"] == "ok", record.get("error")
    assert record["task"] == "imagenet" and record["throughput_unit"] == "images" and record["steps"] == 2
    assert record["data"]["sizes"] == {"train": 9, "val": 3, "test": 6} and record["data"]["classes"] == 3
    assert 0 <= record["metrics"]["test/acc"] <= 1


def test_without_the_images_the_plan_and_the_run_name_the_download(folder, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    empty = tmp_path / "empty_root"
    line = kinds.kind_for("imagenet").plan(_data(), str(empty)).missing
    assert "https://image-net.org" in line and "ILSVRC/imagenet-1k" in line and "huggingface-cli login" in line
    assert "\n" not in line and str(empty / "imagenet") in line
    with pytest.raises(OSError, match=r"^ImageNet-1k: no images in") as err:
        imagenet.load(None, str(empty))
    assert "\n" not in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"ImageNet-1k: data.path=.* holds neither layout"):
        imagenet.load(str(empty), str(empty))
    # the default folder under data_root is found with no path set
    assert kinds.kind_for("imagenet").plan(_data(), str(folder.parent)).missing is None


def test_hub_parquet_shards_are_read_lazily_with_their_classes(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = {"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b", "c", "d"])}
    shards = _hub_shards(tmp_path / "shards", ["train", "validation"], features)
    images = imagenet.load(str(shards), tmp_path)
    assert images.n_classes == 4 and (len(images.train), len(images.test)) == (6, 6)
    image, label = images.train(5)
    assert image.size == (48, 40) and label == 1
    assert imagenet.n_classes_there(str(shards), tmp_path) == 4
    assert kinds.kind_for("imagenet").plan(_data(path=str(shards)), str(tmp_path)).missing is None


def test_bad_imagenet_settings_fail_in_one_line(folder):
    with pytest.raises(ValueError, match=r"data.batch_size=5: mixup and cutmix pair a batch's images"):
        kinds.kind_for("imagenet").plan(_data(batch_size=5), "unused")
    with pytest.raises(ValueError, match=r"data.crop_pct=1.5"):
        kinds.kind_for("imagenet").plan(_data(crop_pct=1.5), "unused")
    with pytest.raises(ValueError, match=r"data.imag_size is no setting of imagenet data; did you mean 'image_size'"):
        kinds.resolve_data({"task": "imagenet", "imag_size": 32})


def _build_io(cfg):
    seen = {}
    built = kinds.build(cfg, lambda **io: seen.update(io) or torch.nn.Linear(1, 1))
    return built, seen


def test_the_image_plan_gives_the_io_build_gives():
    cfg = compose("train", ["pipeline=digits"])
    _, io = _build_io(cfg)
    planned = kinds.kind_for("digits").plan(kinds.resolve_data({"task": "digits"}), "unused")
    assert planned.io == io == {"image_size": [8, 8], "in_channels": 1, "n_classes": 10}
    assert planned.missing is None and planned.example(3)[0].shape == (3, 1, 8, 8)


def test_cifar100_predicts_the_fine_labels_and_its_plan_agrees(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = {"img": datasets.Image(), "fine_label": datasets.ClassLabel(names=list("abcde")),
                "coarse_label": datasets.ClassLabel(names=["x", "y"])}
    shards = _hub_shards(tmp_path / "c100", ["train", "test"], features, n=8)
    cfg = compose("train", ["pipeline=cifar100", f"data.path={shards}", f"data_root={tmp_path}"])
    from tasks.vision import kind, sources
    with pytest.MonkeyPatch.context() as mp:  # 8 images leave none after CIFAR's 5,000 held out: hold out 2
        mp.setattr(kind, "hugging_face", lambda *args, **kw: sources.hugging_face(*args, **{**kw, "n_val": 2}))
        built, io = _build_io(cfg)
    assert built.name == "cifar100" and io == {"image_size": [40, 48], "in_channels": 3, "n_classes": 5}
    assert built.data.set.splits["train"][1].tolist() == [0, 1, 2, 3, 4, 0]  # fine, not coarse (0, 1, 0, ...)
    planned = kinds.kind_for("cifar100").plan(kinds.resolve_data({"task": "cifar100", "path": str(shards)}), tmp_path)
    assert planned.io == io and planned.missing is None
    with pytest.raises(ValueError, match=r"several ClassLabel columns \(fine_label, coarse_label\)"):
        kind.hugging_face("uoft-cs/cifar100", str(shards), tmp_path, n_val=2)


def test_cifar_plan_finds_the_hub_cache_without_loading(tmp_path):
    plan = kinds.kind_for("cifar100").plan
    data = kinds.resolve_data({"task": "cifar100"})
    assert "uoft-cs/cifar100 is not cached" in plan(data, tmp_path).missing
    (tmp_path / "hf" / "uoft-cs___cifar100" / "cifar100" / "0.0.0" / "abc123").mkdir(parents=True)
    (tmp_path / "hf" / "uoft-cs___cifar100" / "cifar100" / "0.0.0" / "abc123" / "dataset_info.json").write_text("{}")
    assert plan(data, tmp_path).missing is None
    assert plan(data, tmp_path).io == {"image_size": [32, 32], "in_channels": 3, "n_classes": 100}
