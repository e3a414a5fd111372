import torch

from model.windows import attend_windows, pad_windows, pool_windows, split_windows


def test_split_windows_keeps_every_token_of_a_long_comment():
    tokens = list(range(100, 125))  # 25 tokens, room for 6 per window
    windows, owners, truncated = split_windows(
        [tokens, [7]], prefix_ids=[50], bos=0, eos=2, window_tokens=9, max_windows=16
    )

    body = [t for w, o in zip(windows, owners, strict=True) if o == 0 for t in w[2:-1]]
    assert body == tokens
    assert owners == [0, 0, 0, 0, 0, 1]
    assert all(w[0] == 0 and w[1] == 50 and w[-1] == 2 for w in windows)
    assert truncated == [False, False]


def test_split_windows_past_max_windows_says_truncated():
    _, owners, truncated = split_windows(
        [list(range(40))], prefix_ids=[], bos=0, eos=2, window_tokens=10, max_windows=2
    )
    assert owners == [0, 0] and truncated == [True]


def test_split_windows_empty_comment_gets_one_window():
    windows, owners, _ = split_windows([[]], [5], 0, 2, 8, 4)
    assert windows == [[0, 5, 2]] and owners == [0]


def test_pool_windows_is_the_token_mean_over_all_windows():
    hidden = torch.tensor(
        [[[1.0], [3.0], [0.0]], [[5.0], [0.0], [0.0]], [[2.0], [2.0], [2.0]]]
    )
    batch = pad_windows(
        [[1, 1], [1], [1, 1, 1]], [0, 0, 1], pad=9, comments=2, truncated=[False, False]
    )

    pooled = pool_windows(hidden, batch.attention_mask, batch.owner, 2)

    assert pooled[:, 0].tolist() == [3.0, 2.0]  # (1 + 3 + 5) / 3 and 6 / 3


def _three_windows():
    hidden = torch.tensor(
        [[[1.0], [3.0], [0.0]], [[5.0], [0.0], [0.0]], [[2.0], [4.0], [6.0]]]
    )
    batch = pad_windows(
        [[1, 1], [1], [1, 1, 1]], [0, 0, 1], pad=9, comments=2, truncated=[False, False]
    )
    return hidden, batch


def test_attend_windows_with_equal_scores_is_the_token_mean():
    hidden, batch = _three_windows()
    scores = torch.zeros(3, 3, 2)

    pooled = attend_windows(hidden, scores, batch.attention_mask, batch.owner, 2)

    mean = pool_windows(hidden, batch.attention_mask, batch.owner, 2)
    assert pooled.shape == (2, 2, 1)
    assert torch.allclose(pooled[:, 0], mean) and torch.allclose(pooled[:, 1], mean)


def test_attend_windows_finds_a_token_in_any_window_and_ignores_padding():
    hidden, batch = _three_windows()
    scores = torch.zeros(3, 3, 1)
    scores[1, 0, 0] = 50.0  # comment 0's second window: the token worth 5
    scores[1, 1, 0] = 99.0  # padding: must not count
    scores[2, 2, 0] = 50.0  # comment 1: the token worth 6

    pooled = attend_windows(hidden, scores, batch.attention_mask, batch.owner, 2)

    assert torch.allclose(pooled[:, 0, 0], torch.tensor([5.0, 6.0]), atol=1e-4)
