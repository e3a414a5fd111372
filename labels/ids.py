"""Text normalisation and stable comment ids.

A comment is referred to by ``<source>-<hash>``, where the hash is taken over the
normalised text. The id therefore survives re-exports that change width,
whitespace or byte order marks, and never carries the text itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Zero-width characters and the byte order mark show up inside exported CSV cells
# (the shopping set has a BOM in front of some reviews); they carry no meaning.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_SPACES = re.compile(r"\s+")

ID_HASH_CHARS = 16


def normalize_text(text: str) -> str:
    """Return ``text`` in NFKC width form with invisible marks and runs of space gone.

    >>> normalize_text(" 送餐很快，\\u3000态度好 ")
    '送餐很快, 态度好'
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text as str, got {type(text).__name__}: {text!r}")

    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


def comment_id(source: str, text: str) -> str:
    """Stable id of a comment: its source plus a hash of its normalised text."""
    if not source or "-" in source:
        raise ValueError(
            f"expected a source name without '-', got {source!r}; "
            "use letters, digits and '_'"
        )

    digest = hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()
    return f"{source}-{digest[:ID_HASH_CHARS]}"
