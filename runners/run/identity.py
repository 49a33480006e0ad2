"""What makes two runs the same run, said once; every other part asks here.

A run is its composed config less the keys that say where it is written or how it is shown. On the run's side
that content is digested into the config hash (the model resolved against its variant, plus its builder's
fingerprint); on the record's side it is the suite, task, model, model config, data, protocol and seed. So:

- `config_hash` is what the trainer writes and a suite looks a run up by;
- `reproducing` is the command a record keeps;
- `run_key` / `row_key` are a run and its row (the run less its seed) in the report, and `newest` keeps one
  record per run;
- `setting` is what the models a suite compares share (their parameter counts are held to a tolerance);
- `telling` is what tells a run apart from the rest of its suite beyond its name.

A config key is named below only where it is not simply part of the run; a new key needs no entry unless it
says where or how a run is shown, or what a suite varies. A name ending in "." stands for every key under it.
"""
from __future__ import annotations

import hashlib
import json
import os

from runners.run.config import UsageError

# where a run is written and how it is shown: neither hashed nor kept in the reproducing command
WHERE = ("logger", "results_dir", "data_root", "suite_name")
DISPLAY = ("trainer.progress_bar", "trainer.log_every_n_steps", "trainer.checkpoint", "trainer.keep_checkpoint",
           "trainer.keep_weights")
# kept in the command (float sums depend on it) but not hashed, so a suite stopped on one machine resumes on
# another with a different core count
MACHINE = ("trainer.threads",)
# trainer settings added after records were made: hashed only when set, so those records stay found
HASHED_IF_SET = ("trainer.patience", "trainer.solved_at")
# what varies between the runs a suite compares in one setting: the model, its tuned protocol, the seed
COMPARED = ("seed", "model.name", "optim.", "schedule.")
# what the run's name (pipeline/model/seed) says already
NAMED = ("pipeline", "model", "model.name", "seed")


def key_of(override: str) -> str:
    """The config key an override sets (`+a.b=1` -> `a.b`)."""
    return override.split("=", 1)[0].lstrip("+~")


def among(key: str, names: tuple[str, ...]) -> bool:
    return any(key == n or (n.endswith(".") and key.startswith(n)) for n in names)


# ---- the run's side: a composed config and its overrides -------------------------------------------------

def resolved(cfg) -> dict:
    """The run's whole configuration as plain data, with the model's settings resolved against its
    variant's defaults and its builder's fingerprint (revision, defaults), so that editing a variant file or
    changing what a builder computes changes the hash of the runs that use it."""
    import zoo
    from omegaconf import OmegaConf
    from tasks.kinds import resolve_data
    content = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if not among(k, WHERE)}
    content["trainer"] = {k: v for k, v in content["trainer"].items()
                          if not among(f"trainer.{k}", DISPLAY + MACHINE)
                          and not (among(f"trainer.{k}", HASHED_IF_SET) and v is None)}
    settings = {k: v for k, v in content["model"].items() if k != "name"}
    try:
        content["data"] = resolve_data(content["data"])
        content["model"] = {"name": cfg.model.name, **zoo.resolved_config(cfg.model.name, **settings)}
        content["builder"] = zoo.fingerprint(cfg.model.name)
    except (KeyError, ValueError) as exc:
        raise UsageError(exc.args[0]) from None
    forced = os.environ.get("MAMBAZOO_SCAN_BACKEND")
    if forced:  # another backend gives other rounding, so other metrics
        content["scan_backend_forced"] = forced
    return content


def config_hash(cfg) -> str:
    return hashlib.sha256(json.dumps(resolved(cfg), sort_keys=True).encode()).hexdigest()


def run_name(cfg) -> str:
    return f"{cfg.pipeline_name}/{cfg.model.name}/s{cfg.seed}"


def reproducing(overrides: list[str]) -> list[str]:
    """The overrides a record's command keeps: where the record goes and how the run is shown are left out."""
    return [o for o in overrides if not among(key_of(o), WHERE + DISPLAY)]


def setting(overrides: list[str]) -> tuple[str, ...]:
    """The overrides the models a suite compares share: the run's less the model, its tuned protocol and seed."""
    return tuple(o for o in overrides if not among(key_of(o), COMPARED))


def telling(words: list[str], common: set[str]) -> list[str]:
    """Of a run's command, the overrides that its name does not say and the rest of its suite does not share
    (a tuned value, a scan order)."""
    return [w for w in words if w not in common and not among(key_of(w), NAMED)]


# ---- the record's side ---------------------------------------------------------------------------------

def canon(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def row_key(rec: dict) -> tuple:
    """A row: the run less its seed (runs trained under another protocol are another row)."""
    return (rec.get("suite", "default"), rec["task"], rec["model"], canon(rec.get("model_config", {})),
            canon(rec.get("data", {})), canon(rec.get("protocol", {})))


def run_key(rec: dict) -> tuple:
    return row_key(rec) + (canon(rec.get("seed")),)


def newest(records: list[dict]) -> list[dict]:
    """Drop superseded records: per (suite, config hash), then per run (a new builder revision gives the same
    run a new hash), keep the newest."""
    def keep_newest(recs, key):
        kept = {}
        for i, rec in enumerate(recs):
            k = key(rec)
            k = ("no key", i) if k is None else k
            if k not in kept or str(rec.get("finished_at", "")) >= str(kept[k].get("finished_at", "")):
                kept[k] = rec
        return list(kept.values())
    records = keep_newest(records, lambda r: (r.get("suite"), r["config_hash"]) if r.get("config_hash") else None)
    return keep_newest(records, run_key)
