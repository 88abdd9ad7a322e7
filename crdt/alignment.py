"""Pairing two stretches of items in order: which old item becomes which new one."""

from __future__ import annotations


def ordered_pairs(score: list[list[float]]) -> list[tuple[int, int]]:
    """The pairs (old index, new index), both increasing, with the largest total of
    ``score[old][new]``; a negative score means the two may not be paired."""
    rows = len(score)
    columns = len(score[0]) if rows else 0
    # best[i][j]: the best total for the old items from i and the new ones from j.
    best = [[0.0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(columns - 1, -1, -1):
            paired = best[i + 1][j + 1] + score[i][j] if score[i][j] >= 0 else -1.0
            best[i][j] = max(best[i + 1][j], best[i][j + 1], paired)
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < rows and j < columns:
        if score[i][j] >= 0 and best[i][j] == best[i + 1][j + 1] + score[i][j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs
