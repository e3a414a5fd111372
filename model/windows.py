"""Cut tokenised comments into encoder windows and pool them back per comment.

A comment longer than one window is not truncated: its tokens are cut into
consecutive windows, each wrapped in ``<s> query: ... </s>``, and the comment's
vector is the mean of all its token vectors across windows. ``max_windows``
bounds the cost of a pathological input; past it the rest is dropped and the
prediction says so (``truncated``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class WindowBatch:
    input_ids: torch.Tensor  # (windows, tokens)
    attention_mask: torch.Tensor  # (windows, tokens)
    owner: torch.Tensor  # (windows,) index of the comment each window belongs to
    comments: int
    truncated: list[bool]


def split_windows(
    token_ids: list[list[int]],
    prefix_ids: list[int],
    bos: int,
    eos: int,
    window_tokens: int,
    max_windows: int,
) -> tuple[list[list[int]], list[int], list[bool]]:
    """Windows of ``[bos] + prefix + chunk + [eos]`` and the comment of each."""
    room = window_tokens - len(prefix_ids) - 2
    if room < 1:
        raise ValueError(
            f"expected window_tokens above {len(prefix_ids) + 2}, got {window_tokens}"
        )

    windows: list[list[int]] = []
    owners: list[int] = []
    truncated: list[bool] = []
    for index, ids in enumerate(token_ids):
        chunks = [ids[i : i + room] for i in range(0, len(ids), room)] or [[]]
        truncated.append(len(chunks) > max_windows)
        for chunk in chunks[:max_windows]:
            windows.append([bos, *prefix_ids, *chunk, eos])
            owners.append(index)
    return windows, owners, truncated


def pad_windows(
    windows: list[list[int]],
    owners: list[int],
    pad: int,
    comments: int,
    truncated: list[bool],
) -> WindowBatch:
    width = max(len(w) for w in windows)
    input_ids = torch.full((len(windows), width), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, window in enumerate(windows):
        input_ids[row, : len(window)] = torch.tensor(window)
        attention_mask[row, : len(window)] = 1
    return WindowBatch(
        input_ids, attention_mask, torch.tensor(owners), comments, truncated
    )


def pool_windows(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    owner: torch.Tensor,
    comments: int,
) -> torch.Tensor:
    """Token-mean per comment over all its windows. (w, t, h) -> (comments, h)"""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    sums = (hidden * mask).sum(1)
    counts = mask.sum(1)

    pooled = hidden.new_zeros((comments, hidden.shape[-1])).index_add(0, owner, sums)
    total = counts.new_zeros((comments, 1)).index_add(0, owner, counts)
    return pooled / total.clamp(min=1.0)


def attend_windows(
    hidden: torch.Tensor,
    scores: torch.Tensor,
    attention_mask: torch.Tensor,
    owner: torch.Tensor,
    comments: int,
) -> torch.Tensor:
    """One attention-weighted mean per comment and query, over all tokens of
    all its windows. hidden (w, t, h), scores (w, t, q) -> (comments, q, h)

    The softmax runs over a comment's tokens in every window, so a long comment
    is read whole here too: each query picks its tokens wherever they are.
    """
    queries = scores.shape[-1]
    scores = scores.masked_fill(attention_mask.unsqueeze(-1) == 0, float("-inf"))
    best = scores.amax(dim=1)  # (w, q) per window
    top = best.new_full((comments, queries), float("-inf"))
    top = top.scatter_reduce(0, owner.unsqueeze(1).expand(-1, queries), best, "amax")

    weights = (scores - top[owner].unsqueeze(1)).exp()  # (w, t, q); pads give 0
    totals = weights.new_zeros((comments, queries)).index_add(0, owner, weights.sum(1))
    per_window = torch.einsum("wtq,wth->wqh", weights, hidden)
    pooled = hidden.new_zeros((comments, queries, hidden.shape[-1]))
    pooled = pooled.index_add(0, owner, per_window)
    return pooled / totals.clamp(min=1e-12).unsqueeze(-1)
