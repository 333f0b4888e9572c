"""Pure scanners for secrets in files the suites produce: PAN-like digit runs (Luhn),
and exact needles (card IDm, key material, passwords, codes) in several encodings."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

_RUN: Final = re.compile(rb"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])")
_GROUPED: Final = re.compile(
    rb"(?<![0-9A-Za-z])[0-9]{4}(?:([ -])[0-9]{4})(?:\1[0-9]{4}){2}(?:\1[0-9]{1,3})?"
    rb"(?![0-9A-Za-z])"
)  # 4111 1111 1111 1111, 4111-1111-1111-1111(-123)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of decimal digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Hit:
    what: str
    offset: int
    text: str


def find_pans(data: bytes) -> list[Hit]:
    """Luhn-valid runs of 13-19 digits bounded by non-alphanumerics (also grouped by 4 with
    spaces or dashes)."""
    hits = []
    for pattern in (_RUN, _GROUPED):
        for match in pattern.finditer(data):
            digits = re.sub(rb"[ -]", b"", match.group()).decode("ascii")
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                hits.append(Hit("PAN-like", match.start(), match.group().decode("ascii")))
    return hits


def encodings(name: str, secret: bytes) -> dict[str, bytes]:
    """The forms a secret could leak in: raw, hex (either case, matched case-insensitively),
    standard and URL-safe base64 (without padding)."""
    forms = {
        f"{name} (raw)": secret,
        f"{name} (hex)": secret.hex().encode("ascii"),
        f"{name} (base64)": base64.b64encode(secret).rstrip(b"="),
        f"{name} (base64url)": base64.urlsafe_b64encode(secret).rstrip(b"="),
    }
    return {k: v for k, v in forms.items() if len(v) >= 8}


def find_needles(data: bytes, needles: Mapping[str, bytes]) -> list[Hit]:
    """Every occurrence of each needle; hex needles (``(hex)`` in the name) in any case."""
    hits = []
    lowered = data.lower()
    for what, needle in needles.items():
        hay, pin = (lowered, needle.lower()) if "(hex)" in what else (data, needle)
        start = hay.find(pin)
        while start >= 0:
            hits.append(Hit(what, start, needle.decode("ascii", "replace")[:40]))
            start = hay.find(pin, start + 1)
    return hits


def pem_body_lines(pem: bytes) -> list[bytes]:
    """The base64 lines between a PEM's BEGIN and END lines."""
    return [
        line.strip() for line in pem.splitlines() if line.strip() and not line.startswith(b"-----")
    ]


def scan(data: bytes, needles: Mapping[str, bytes], pans: bool = True) -> list[Hit]:
    return (find_pans(data) if pans else []) + find_needles(data, needles)


def merge(*maps: Mapping[str, bytes]) -> dict[str, bytes]:
    merged: dict[str, bytes] = {}
    for m in maps:
        merged.update(m)
    return merged


def describe(hits: Iterable[tuple[str, Hit]]) -> str:
    return "\n".join(f"{where}: {hit.what} at {hit.offset}: {hit.text!r}" for where, hit in hits)
