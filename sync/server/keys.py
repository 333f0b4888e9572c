"""The server's Ed25519 signing key, kept in the database (one row): it signs configs.

Every server process behind the load balancer reads the same key, so a terminal pins one
server public key (returned at enrollment)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from sync.server.db import ServerError, utcnow
from sync.server.models import ServerKey
from sync.server.sql import insert_ignore
from terminal.journal.keys import TerminalKey

KEY_ID = 1


def ensure_server_key(conn: Connection) -> tuple[str, bool]:
    """Create the key if there is none; (public key, created). Two racing inits keep one."""
    fresh = TerminalKey.generate()
    stmt = insert_ignore(conn, ServerKey.__table__, ["id"]).values(
        id=KEY_ID, private_pem=fresh.to_pem().decode("ascii"),
        public_key=fresh.public_key_b64, created_at=utcnow(),
    ).returning(ServerKey.id)
    created = conn.execute(stmt).first() is not None
    return server_key(conn).public_key_b64, created


def server_key(conn: Connection) -> TerminalKey:
    pem = conn.execute(select(ServerKey.private_pem).where(ServerKey.id == KEY_ID)).scalar()
    if pem is None:
        raise ServerError(
            "the server has no signing key yet; run 'madoguchi server init --database URL'"
        )
    return TerminalKey.from_pem(pem.encode("ascii"))


def server_public_key(engine: Engine) -> str:
    with engine.begin() as conn:
        return server_key(conn).public_key_b64
