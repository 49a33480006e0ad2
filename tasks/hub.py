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
            files = {split: sorted(str(p) for p in Path(path).glob(f"{split}*.parquet")) for split in splits}
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
