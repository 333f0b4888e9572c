"""Reading one TOML file into a dict, turning every failure into a ConfigProblem."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from kiosk_config.errors import ConfigProblem

_AT = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)\s*$")
TOML_VALID = "TOML syntax (https://toml.io/en/v1.0.0), UTF-8 text"


def read_toml(path: Path, label: str, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    """Parse ``path``; on failure record a problem (labelled ``label``) and return None."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(ConfigProblem(label, "", "file not found", "an existing TOML file"))
        return None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.append(ConfigProblem(label, "", f"cannot read: {reason}", "a readable file"))
        return None
    return parse_toml(raw, label, problems)


def parse_toml(raw: bytes, label: str, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(label, f"byte {exc.start}", "not UTF-8 text", TOML_VALID))
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _AT.search(message)
        where = match.group(1) if match else ""
        what = message[: match.start()] if match else message
        problems.append(ConfigProblem(label, where, f"malformed TOML: {what}", TOML_VALID))
        return None
    except RecursionError:
        problems.append(
            ConfigProblem(label, "", "malformed TOML: values nested too deeply", TOML_VALID)
        )
        return None
