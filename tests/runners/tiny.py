"""Overrides that shrink any run to a couple of steps on tiny data (config tests, smoke runs)."""
TINY = ["trainer.max_steps=2", "trainer.val_every_steps=2", "trainer.progress_bar=false", "logger=none",
        "data.n_train=16", "data.n_val=8", "data.n_test=8", "data.batch_size=8", "model.d_model=16"]
