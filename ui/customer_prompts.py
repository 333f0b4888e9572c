"""Map a payment terminal's live prompt to the customer display's own words."""

from __future__ import annotations

_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("暗証", "PIN"), "pin"),
    (("離し", "取り", "remove"), "remove"),
    (("タッチ", "かざ", "挿入", "tap", "insert"), "tap"),
    (("お待ち", "wait", "process"), "wait"),
)


def prompt_key(text: str) -> str:
    """tap, pin, remove, wait or follow (follow the terminal's screen) for ``text``."""
    lowered = text.lower()
    for words, key in _KEYWORDS:
        if any(w.lower() in lowered for w in words):
            return key
    return "follow"
