"""Overrides that shrink any run to a couple of steps on tiny data (config tests, smoke runs)."""
TINY = ["trainer.max_steps=2", "trainer.val_every_steps=2", "trainer.progress_bar=false", "logger=none",
        "data.n_train=16", "data.n_val=8", "data.n_test=8", "data.batch_size=8", "model.d_model=16"]
# a forecaster keeps the shipped series (its splits are fixed) but a short look-back and horizon
TINY_FORECAST = [*TINY[:4], "data.lookback=24", "data.horizon=8", "data.eval_batch_size=1024"]
# an image run keeps its data set (fixed splits), or draws a few Pathfinder images
TINY_IMAGE = [*TINY[:4], "data.batch_size=8", "data.eval_batch_size=1000"]
TINY_PATHFINDER = ["data.settings.n_train=16", "data.settings.n_val=8", "data.settings.n_test=8"]
# a graph run draws a few SBM graphs (two PATTERN instances), or keeps its molecules (fixed split)
TINY_GRAPH = [*TINY[:4], "data.n_train=16", "data.n_val=8", "data.n_test=8", "data.batch_size=8"]
TINY_MOLECULES = [*TINY[:4], "data.batch_size=8", "data.eval_batch_size=1000"]
# a long-range run keeps MNIST's fixed splits, or draws a few short ListOps expressions or small Pathfinder images
TINY_SEQUENCE = [*TINY[:4], "data.batch_size=8", "data.eval_batch_size=1000"]
TINY_LISTOPS = [*TINY_PATHFINDER, "data.settings.max_length=32"]
# a point-cloud run draws a few generated clouds and scores them in small batches
TINY_POINTS = [*TINY[:4], "data.batch_size=8", "data.eval_batch_size=100", "data.settings.n_train=16",
               "data.settings.n_val=8", "data.settings.n_test=8"]
# a byte-level run keeps its corpus but reads short windows of a few KB
TINY_BYTES = [*TINY[:4], "data.seq_len=32", "data.eval_lengths=[64]", "data.eval_bytes=2048", "data.batch_size=8"]


def tiny(overrides: list[str]) -> list[str]:
    """TINY for the kind of run `overrides` compose to (width 16 where the model has a width)."""
    import zoo
    from runners.run.config import compose
    from tasks.kinds import kind_for
    cfg = compose("train", list(overrides))
    kind = kind_for(cfg.data.task).name
    if kind == "token":
        return TINY
    base = {"forecast": TINY_FORECAST, "graph_node": TINY_GRAPH + ["data.instances=2"] * (cfg.data.task == "pattern"),
            "graph_reg": TINY_MOLECULES, "bytes": TINY_BYTES, "point_cloud": TINY_POINTS,
            "sequence": TINY_SEQUENCE + {"listops": TINY_LISTOPS, "pathfinder_seq": TINY_PATHFINDER + [
                "data.settings.size=16", "data.settings.length=6"]}.get(cfg.data.task, [])}.get(kind) \
        or TINY_IMAGE + TINY_PATHFINDER * (cfg.data.task == "pathfinder")
    return base + ["model.d_model=16"] * ("d_model" in zoo.resolved_config(cfg.model.name))
