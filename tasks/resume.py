"""The training batches of a run: the batches an uninterrupted run sees, after a resume and across processes.

Every domain's training loader shuffles with a generator seeded by the run's seed. A checkpoint written after
step s keeps where that generator was when the epoch of step s began, and how many of that epoch's batches were
trained (each step trains one batch); the resumed run sets the generator back and skips those batches, so from
step s on it sees what the uninterrupted run saw. The state is taken from the generator itself, not replayed,
so it holds whatever the DataLoader draws from it per epoch.

Under DDP (torch.distributed initialised with more than one process) each process trains on its own share of
every epoch: the same permutation on every rank (the generator is seeded alike), dealt out rank by rank, so the
shares never overlap and together cover the epoch (DistributedSampler's rule: a few samples repeat when the
count does not divide by the world size, so every rank takes the same number of steps). Lightning leaves this
loader alone (it is no DataLoader), and the evaluation loaders whole: every rank evaluates every sample.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler


class Share(Sampler):
    """Rank `rank`'s share of a permutation of range(n) drawn from `generator` once per pass."""

    def __init__(self, n: int, generator: torch.Generator, rank: int, world: int):
        self.n, self.generator, self.rank, self.world = n, generator, rank, world

    def __len__(self):
        return math.ceil(self.n / self.world)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator)
        order = order.repeat(math.ceil(len(self) * self.world / self.n))[: len(self) * self.world]
        return iter(order[self.rank::self.world].tolist())


class Resumable:
    """A DataLoader that shuffles with a generator of its own (shuffle=True, generator=...), able to start
    mid-run and to train on one rank's share. Iterates and has a length like the loader of this process."""

    def __init__(self, loader: DataLoader):
        if not isinstance(loader.generator, torch.Generator):
            raise ValueError("a resumable loader shuffles with a generator of its own (DataLoader(generator=...))")
        self.loader, self._skip, self._epoch_start, self._shared = loader, 0, None, None

    def _mine(self) -> DataLoader:
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return self.loader
        if self._shared is None:
            whole = self.loader
            share = Share(len(whole.dataset), whole.generator, dist.get_rank(), dist.get_world_size())
            self._shared = DataLoader(whole.dataset, batch_size=whole.batch_size, sampler=share,
                                      drop_last=whole.drop_last, collate_fn=whole.collate_fn,
                                      num_workers=whole.num_workers, generator=whole.generator)
        return self._shared

    def __len__(self):
        return len(self._mine())

    def __iter__(self):
        loader = self._mine()
        self._epoch_start = loader.generator.get_state()
        batches = iter(loader)
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
