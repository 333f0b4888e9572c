"""はちのへポイント on the server (docs/points.md).

- ``models``: the tables (migration 0004); ``campaign``: the settings;
- ``ledger``: the append-only, hash-chained, signed ledger (``append``, ``verify``);
- ``settle``: deterministic cap resolution and the statement, pure functions;
- ``journal``: the ingest hook (``apply_entries``, called by ``sync.server.ingest`` on the
  entries a batch newly stored) and re-settling;
- ``statement``: ``points_statement``, ``ledger_balances``, ``check``, ``rebuild``;
- ``service``: balances, redemptions, cancels, refunds, quota grants, card transfers;
- ``routes``: the signed terminal routes; ``views``: the console's queries.
"""
