"""Where the shipped sample configurations are."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "kiosk_config" / "samples"
