"""The training batches of a run that resumes from a checkpoint: the batches an uninterrupted run would see.

Every domain's training loader shuffles with a generator seeded by the run's seed. A checkpoint written after
step s keeps where that generator was when the epoch of step s began, and how many of that epoch's batches were
trained (each step trains one batch); the resumed run sets the generator back and skips those batches, so from
step s on it sees what the uninterrupted run saw. The state is taken from the generator itself, not replayed,
so it holds whatever the DataLoader draws from it per epoch.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader


class Resumable:
    """A DataLoader that shuffles with a generator of its own (shuffle=True, generator=...), able to start
    mid-run. Iterates and has a length like the loader."""

    def __init__(self, loader: DataLoader):
        if not isinstance(loader.generator, torch.Generator):
            raise ValueError("a resumable loader shuffles with a generator of its own (DataLoader(generator=...))")
        self.loader, self._skip, self._epoch_start = loader, 0, None

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self._epoch_start = self.loader.generator.get_state()
        batches = iter(self.loader)
        skip, self._skip = self._skip, 0
        for _ in range(skip):
            next(batches)
        yield from batches

    def state_after(self, steps: int) -> dict:
        """Where the data order stands once `steps` batches are trained, the last of them from this epoch."""
        within = steps % len(self)
        # an epoch just finished: the next one draws from the generator as it is now
        generator = self._epoch_start if within else self.loader.generator.get_state()
        return {"generator": generator.clone(), "skip": within}

    def restore(self, state: dict):
        self.loader.generator.set_state(state["generator"])
        self._skip = int(state["skip"])
