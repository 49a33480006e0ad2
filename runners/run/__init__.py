"""One run: its config, hash, trainer, checkpoints, record and the machine's facts."""
