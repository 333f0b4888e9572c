"""The one summary every ours-vs-raw benchmark prints (run as scripts: bench/ is on sys.path)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence


def report_ratio(name: str, n: int, ours_seconds: Sequence[float], raw_seconds: Sequence[float],
                 target: float, as_json: bool) -> int:
    """Print medians as entries/s and their ratio; exit code 1 when below ``target``."""
    ours_rate = n / statistics.median(ours_seconds)
    raw_rate = n / statistics.median(raw_seconds)
    ratio = ours_rate / raw_rate
    if as_json:
        print(json.dumps({"bench": name, "n": n, "ours_per_s": ours_rate, "raw_per_s": raw_rate,
                          "ratio": ratio, "target": target}))
    else:
        print(f"{name}: ours {ours_rate:.1f}/s raw {raw_rate:.1f}/s ratio {ratio:.2f} "
              f"(target >= {target}, n={n})")
    return 0 if ratio >= target else 1
