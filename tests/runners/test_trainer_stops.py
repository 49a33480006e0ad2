"""The solved-task stop: it stops at the first validation at or above its threshold, and names a task that
logs no accuracy."""
import pytest
import torch

from runners.run.trainer import StopWhenSolved


class Stub:
    sanity_checking, should_stop = False, False


def test_stops_at_the_first_validation_that_reaches_the_threshold():
    trainer, stop = Stub(), StopWhenSolved(0.99)
    for acc, stopped in [(0.5, False), (0.989, False), (0.99, True)]:
        trainer.callback_metrics = {"val/acc": torch.tensor(acc)}
        stop.on_validation_end(trainer, None)
        assert trainer.should_stop == stopped


def test_a_task_without_accuracy_is_named():
    trainer = Stub()
    trainer.callback_metrics = {"val/loss": torch.tensor(0.1)}
    with pytest.raises(ValueError, match="trainer.solved_at needs val/acc, which this task does not log"):
        StopWhenSolved(0.99).on_validation_end(trainer, None)
