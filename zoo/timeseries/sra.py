"""Bi-Mamba+'s series-relation-aware (SRA) decider: mix channels when the variables move together.

For each variable, count the others whose Spearman rank correlation with it (over the training rows) is at
least `threshold`, and the others whose correlation is non-negative. With r the largest first count over the
largest second count, tokens mix channels when r >= 1 - threshold, else each variable is its own sequence.
"""
from __future__ import annotations

import numpy as np


def spearman(values: np.ndarray) -> np.ndarray:
    """Rank correlation matrix of the columns of `values` (rows, variables); ties get the mean rank."""
    ranks = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):
        column = values[:, j]
        order = np.argsort(column, kind="stable")
        ranks[order, j] = np.arange(len(column), dtype=float)
        uniques, inverse = np.unique(column, return_inverse=True)
        if len(uniques) < len(column):  # average the ranks of equal values
            ranks[:, j] = (np.bincount(inverse, ranks[:, j]) / np.bincount(inverse))[inverse]
    return np.corrcoef(ranks, rowvar=False)


def sra_decision(values: np.ndarray, threshold: float = 0.6) -> str:
    """'variables' (channel mixing) or 'patches' (channel independence), PatchForecaster's token_axis."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold}: give a correlation strictly between 0 and 1")
    corr = spearman(values)
    high = np.maximum((corr >= threshold).sum(1) - 1, 0).max()      # minus the variable itself
    positive = np.maximum((corr >= 0).sum(1) - 1, 0).max()
    return "variables" if positive and high / positive >= 1 - threshold else "patches"
