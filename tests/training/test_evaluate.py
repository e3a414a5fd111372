from training.data import IGNORE, Example
from training.evaluate import star_agreement


def _example(id: str, source: str, sentiment: int, hand: bool) -> Example:
    return Example(id, "", source, "test", hand, [], [], [], sentiment)


def test_star_agreement_counts_neutral_as_disagreement_and_skips_unrated():
    positive, negative, neutral = 0, 1, 2
    hand = [
        _example("h-1", "hotel", negative, True),  # the stars say positive
        _example("h-2", "hotel", positive, True),
        _example("h-3", "hotel", neutral, True),  # stars have no neutral
        _example("h-4", "hotel", IGNORE, True),  # no hand sentiment: skipped
        _example("h-5", "hotel", positive, True),  # no star label: skipped
        _example("w-1", "waimai", negative, True),
        _example("x-1", "helpdesk", negative, True),  # no star source
    ]
    star = [
        _example("h-1", "hotel", positive, False),
        _example("h-2", "hotel", positive, False),
        _example("h-3", "hotel", negative, False),
        _example("h-4", "hotel", positive, False),
        _example("w-1", "waimai", negative, False),
    ]

    agreement = star_agreement(hand, star)

    assert agreement == {
        "waimai": {"examples": 1, "agreement": 1.0},
        "hotel": {"examples": 3, "agreement": 1 / 3},
    }
