"""Published configs: a new version per facility, signed by the server key over
sync.protocol.config_digest(facility, version, payload)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from sync.protocol import config_digest
from sync.server.db import ServerError, utcnow
from sync.server.keys import server_key
from sync.server.models import ConfigVersion

ATTEMPTS = 5


def publish(engine: Engine, facility: str, payload: str) -> int:
    """Store ``payload`` as the facility's next config version; the version number."""
    if not facility:
        raise ServerError("publish-config needs --facility")
    for _ in range(ATTEMPTS):
        try:
            with engine.begin() as conn:
                version = 1 + (conn.execute(select(func.max(ConfigVersion.version)).where(
                    ConfigVersion.facility == facility)).scalar() or 0)
                signature = server_key(conn).sign_hash(config_digest(facility, version, payload))
                conn.execute(insert(ConfigVersion).values(
                    facility=facility, version=version, payload=payload,
                    sha256=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
                    signature=signature, published_at=utcnow()))
                return version
        except IntegrityError:
            continue  # another publisher took this version number: try the next
    raise ServerError(f"could not publish a config for {facility!r}: too many concurrent "
                      "publishers; retry")


def latest(engine: Engine, facility: str) -> dict[str, Any] | None:
    """The newest config of ``facility`` in the wire form, or None."""
    with engine.begin() as conn:
        row = conn.execute(select(
            ConfigVersion.facility, ConfigVersion.version, ConfigVersion.payload,
            ConfigVersion.sha256, ConfigVersion.signature, ConfigVersion.published_at,
        ).where(ConfigVersion.facility == facility)
            .order_by(ConfigVersion.version.desc()).limit(1)).one_or_none()
    if row is None:
        return None
    return {
        "facility": row.facility, "version": row.version, "payload": row.payload,
        "sha256": row.sha256, "signature": row.signature,
        "published_at": row.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
