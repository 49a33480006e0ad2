"""Data sets through Hugging Face `datasets`: the hub's copy (downloaded once, cached), or the same format
from parquet files, which is how each domain tests its loading offline."""
from __future__ import annotations

from pathlib import Path


def load_hub(name: str, config: str | None, path: str | None, splits: list[str], cache: str | Path, label: str,
             alternative: str, extra: str, loaded_as: str = "it", missing_for: str = ""):
    """`datasets.load_dataset` of the hub's `name` (and `config`) cached under `cache`/hf, or of the files
    `<split>*.parquet` under `path`. One line for each way it fails: no `datasets` (install `extra`), a split's
    file missing, the hub unreachable (`label: ... could not load <loaded_as> ...; or <alternative>`)."""
    try:
        import datasets
    except ImportError:
        raise ImportError(f"{label} needs Hugging Face datasets: pip install {extra}") from None
    try:
        if path is not None:
            files = {split: parquet_files(path, split) for split in splits}
            missing = [split for split, found in files.items() if not found]
            if missing:
                raise FileNotFoundError(f"data.path={path} has no {missing[0]}*.parquet file{missing_for}")
            return datasets.load_dataset("parquet", data_files=files, cache_dir=str(Path(cache) / "hf"))
        return datasets.load_dataset(name, config, cache_dir=str(Path(cache) / "hf"))
    except FileNotFoundError:
        raise
    except Exception as exc:  # the hub's errors differ by version; offline they all mean "not reachable"
        raise ConnectionError(f"{label}: Hugging Face datasets could not load {loaded_as} ({type(exc).__name__}); "
                              f"the machine may be offline: run it once online to cache it, or {alternative}") \
            from None


def parquet_files(path: str | Path, split: str) -> list[str]:
    """The files `<split>*.parquet` under `path`, as `load_hub` reads them."""
    return sorted(str(p) for p in Path(path).glob(f"{split}*.parquet"))


def hub_cached(name: str, cache: str | Path) -> Path | None:
    """The `dataset_info.json` of the hub's `name` prepared under `cache`/hf by an earlier `load_hub`, or None:
    a look at the folder, no download. `datasets` keeps a set in <namespace>___<name>/<config>/<version>/<hash>/;
    a legacy name that the hub redirects (cifar10 -> uoft-cs/cifar10) may sit under either form."""
    root = Path(cache) / "hf"
    if not root.is_dir():
        return None
    base = name.split("/")[-1].lower()
    wanted = {name.replace("/", "___").lower(), base}
    for folder in root.iterdir():
        lower = folder.name.lower()
        if lower in wanted or ("/" not in name and lower.endswith(f"___{base}")):
            info = next(folder.glob("*/*/*/dataset_info.json"), None)
            if info is not None:
                return info
    return None
