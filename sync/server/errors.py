"""An API refusal: HTTP status + JSON body {"error", "message", ...}."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.payload: dict[str, object] = {"error": error, "message": message, **extra}
        self.headers: dict[str, str] = {}
