"""The errors of the label-set code, in one place so every module can raise them."""

from __future__ import annotations


class LabelSetError(ValueError):
    """A label-set file that does not describe a valid label set."""


class MigrationError(LabelSetError):
    """A migration that cannot be declared or followed as asked."""
