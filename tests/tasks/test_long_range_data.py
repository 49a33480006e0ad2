"""Long-range data: ListOps answers checked by an evaluator written apart from the generator, its bounds and
seeds; the pixel sequences of MNIST (plain and permuted) and Pathfinder; the kind's settings and batches."""
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from tasks.kinds import kind_for
from tasks.long_range import listops as lo
from tasks.long_range.data import SequenceClassification, trimmed
from tasks.long_range.sources import listops, mnist_sequence, pathfinder_sequence


def evaluate(expression: str) -> int:
    """The value of a ListOps expression's text, read with a stack of open operators."""
    stack = [[None, []]]
    for token in expression.split():
        if token.startswith("["):
            stack.append([token[1:], []])
        elif token == "]":
            op, args = stack.pop()
            ordered = sorted(args)
            value = {"MAX": ordered[-1], "MIN": ordered[0], "SM": sum(args) % 10,
                     "MED": (ordered[(len(args) - 1) // 2] + ordered[len(args) // 2]) // 2}[op]
            stack[-1][1].append(value)
        else:
            stack[-1][1].append(int(token))
    (_, [value]), = stack
    return value


def nesting(expression: str) -> tuple[int, list[int]]:
    """The deepest bracket nesting and every operator's argument count."""
    depth, deepest, counts, open_counts = 0, 0, [], []
    for token in expression.split():
        if token.startswith("["):
            if open_counts:
                open_counts[-1] += 1
            depth, deepest = depth + 1, max(deepest, depth + 1)
            open_counts.append(0)
        elif token == "]":
            depth -= 1
            counts.append(open_counts.pop())
        elif open_counts:
            open_counts[-1] += 1
    return deepest, counts


def test_the_evaluator_reads_a_hand_worked_expression():
    # MED of 3 8 1 6 is (3 + 6) // 2 = 4; SM of 9 9 is 8; MAX of 2, 4, 8 is 8
    assert evaluate("[MAX 2 [MED 3 8 1 6 ] [SM 9 9 ] ]") == 8


@pytest.mark.parametrize("bounds", [(16, 64), (100, 300)])
def test_answers_match_an_independent_evaluator_within_bounds(bounds):
    low, high = bounds
    ids, labels = lo.generate(200, seed=3, min_length=low, max_length=high, max_depth=6, max_args=5)
    lengths = (ids != lo.PAD).sum(1)
    assert lengths.min() > low and lengths.max() < high  # strictly between, as LRA keeps them
    assert len({tuple(row) for row in ids}) == len(ids)
    assert (ids[np.arange(high)[None] >= lengths[:, None]] == lo.PAD).all()  # padding only after the end
    for row, label in zip(ids, labels):
        expression = lo.text(row)
        assert evaluate(expression) == label, expression
        deepest, counts = nesting(expression)
        assert 1 <= deepest <= 5 and min(counts) >= 2 and max(counts) <= 5  # the root is at depth 1, as LRA's


def test_brackets_are_tokens():
    ids, _ = lo.generate(20, seed=0, min_length=8, max_length=64)
    tokens = {lo.VOCAB[i] for i in ids.ravel()}
    assert lo.CLOSE in tokens and tokens & set(lo.OPERATORS)


def test_seeds_reproduce_and_differ():
    a, b, c = (lo.generate(50, seed=s, min_length=8, max_length=64) for s in (1, 1, 2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("settings,match", [
    (dict(min_length=64, max_length=32), "no expression"),
    (dict(max_args=1), "max_args"),
    (dict(op_prob=1.0), "op_prob"),
    (dict(min_length=1, max_length=4), "no expression"),  # 2 or 3 tokens: no expression has them
    (dict(min_length=32, max_length=128, max_depth=2, max_args=10), "the longest has 12 tokens"),
])
def test_bad_settings_fail_in_one_line(settings, match):
    with pytest.raises(ValueError, match=match):
        lo.generate(1, seed=0, **settings)


def test_mnist_sequences_are_the_28x28_pixels_and_the_permutation_is_fixed():
    plain, permuted, again = mnist_sequence(), mnist_sequence(0), mnist_sequence(0)
    ids, labels = plain.splits["train"]
    assert ids.shape == (3500, 784) and ids.min() >= 1 and plain.vocab_size == 257  # 0 is kept for padding
    from tasks.vision.sources import mnist
    padded = mnist(None).splits["train"][0].astype(np.int64)  # the vision domain's 32x32, MNIST's 28x28 in its middle
    assert padded.sum() == (ids - 1).sum()  # the crop drops no ink
    assert np.array_equal(ids.reshape(-1, 28, 28) - 1, padded[:, 0, 2:30, 2:30])  # read row by row
    assert np.array_equal(permuted.splits["test"][0], again.splits["test"][0])
    shuffled = permuted.splits["train"][0]
    assert not np.array_equal(shuffled, ids)
    order = np.random.default_rng(0).permutation(784)
    assert np.array_equal(shuffled, ids[:, order])  # the same order for every image
    assert np.array_equal(permuted.splits["train"][1], labels)


def test_mnist_evaluation_subsets_are_the_first_images_of_their_splits():
    whole, part = mnist_sequence(0), mnist_sequence(0, n_val=250, n_test=500)
    for split, n in (("val", 250), ("test", 500)):
        assert np.array_equal(part.splits[split][0], whole.splits[split][0][:n])
        assert np.array_equal(part.splits[split][1], whole.splits[split][1][:n])
    assert np.array_equal(part.splits["train"][0], whole.splits["train"][0])
    for bad in (0, 1001, 2.5):
        with pytest.raises(ValueError, match="n_test"):
            mnist_sequence(n_test=bad)


def test_pathfinder_sequence_reads_the_image_row_by_row(tmp_path):
    seqs = pathfinder_sequence(cache=tmp_path, size=16, length=6, n_train=4, n_val=2, n_test=2)
    ids, labels = seqs.splits["train"]
    assert ids.shape == (4, 256) and seqs.n_classes == 2 and set(np.unique(labels)) <= {0, 1}
    from tasks.vision.pathfinder import pathfinder
    images = pathfinder(size=16, length=6, n_train=4, n_val=2, n_test=2, cache=tmp_path).splits["train"][0]
    assert np.array_equal(ids[1].reshape(16, 16), images[1, 0].astype(np.int64) + 1)


def test_batches_are_cut_after_their_longest_sequence():
    ids = torch.tensor([[3, 4, 0, 0, 0], [5, 6, 7, 0, 0]])
    batch, labels = trimmed([(ids[0], torch.tensor(1)), (ids[1], torch.tensor(2))])
    assert batch.tolist() == [[3, 4, 0], [5, 6, 7]] and labels.tolist() == [1, 2]


def test_the_kind_names_an_unknown_setting(tmp_path):
    kind = kind_for("listops")
    cfg = OmegaConf.create(dict(seed=0, data_root=str(tmp_path)))
    data = dict(kind.data_defaults, task="smnist", settings={"permutation_seed": 1})
    with pytest.raises(ValueError, match="smnist does not take"):
        kind.build(cfg, data, lambda **io: None)
    assert kind.task_name(dict(task="pathfinder_seq", settings={})) == "pathfinder32_seq"


def test_listops_at_two_lengths_differs_in_its_length_alone():
    """The report folds the two lengths into one row per model, so nothing else in the data may differ; the
    shortest expression is a quarter of the longest allowed, LRA's ratio, unless min_length says otherwise."""
    described = []
    for longest in (32, 64):
        settings = dict(max_length=longest, n_train=8, n_val=4, n_test=4)
        seqs = listops(**settings)
        assert (seqs.splits["train"][0] != lo.PAD).sum(1).min() > longest // 4
        described.append(SequenceClassification(seqs, 2, None, settings).describe())
    assert {k for k in described[0] if described[0][k] != described[1][k]} == {"max_length"}


def test_listops_splits_are_one_set_of_distinct_expressions_and_more_training_leaves_the_test_set():
    small, large = (listops(n_train=n, n_val=20, n_test=30, max_length=48, seed=5) for n in (40, 80))
    rows = [tuple(r) for split in ("train", "val", "test") for r in large.splits[split][0]]
    assert len(set(rows)) == len(rows) == 130
    for split in ("val", "test"):
        assert all(np.array_equal(a, b) for a, b in zip(small.splits[split], large.splits[split]))
    assert np.array_equal(small.splits["train"][0], large.splits["train"][0][:40])  # the larger one extends it
