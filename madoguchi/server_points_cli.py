"""``madoguchi server points-*``: the はちのへポイント campaign, card transfers, ledger check
and report (registered by ``madoguchi.server_cli``; server imports inside the handlers)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

AddCommand = Callable[[str, str, Any], argparse.ArgumentParser]
_CAMPAIGN = (("budget", "campaign_budget", "campaign budget in points (sum of all grants)"),
             ("cap", "per_person_cap", "points one card may earn in all"),
             ("per-use", "points_per_use", "points per facility use"),
             ("quota-chunk", "quota_chunk", "unused points a terminal is topped up to"),
             ("yen-per-point", "yen_per_point", "yen value of one point"))


def add_points_commands(add: AddCommand) -> None:
    """Register the points commands with ``server_cli``'s ``add``."""
    campaign = add("points-campaign", "show or change the points campaign settings",
                   points_campaign)
    for flag, _name, help_text in _CAMPAIGN:
        campaign.add_argument(f"--{flag}", type=int, metavar="N", help=help_text)
    campaign.add_argument("--redemption", choices=("on", "off"),
                          help="allow spending points (on/off)")
    campaign.add_argument("--admin", default="cli", help="who makes the change (audit)")
    move = add("points-transfer", "move a lost card's whole points balance to a new card",
               points_transfer)
    move.add_argument("--from", dest="from_card", required=True, metavar="CARD",
                      help="the lost card's token (never its IDm)")
    move.add_argument("--to", dest="to_card", required=True, metavar="CARD",
                      help="the new card's token")
    move.add_argument("--admin", required=True, help="the administrator doing it (audit)")
    move.add_argument("--reason", required=True, help="why (audit)")
    add("points-verify", "verify the points ledger: chain, hashes, server signatures, and "
        "that it agrees with the settled statement", points_verify)
    report = add("points-report", "points budget, awards per facility and day, corrections "
                 "and cards with many taps a day", points_report)
    report.add_argument("--from-day", help="first business day (default: 30 days ago)")
    report.add_argument("--to-day", help="last business day (default: today)")
    report.add_argument("--threshold", type=int, default=3,
                        help="taps a day that make a card unusual (default 3)")
    report.add_argument("--json", action="store_true", help="machine-readable output")


def _guard(args: argparse.Namespace, work: Callable[[Any], int]) -> int:
    from madoguchi.server_cli import _guard as guard

    return guard(args, work)


def points_campaign(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {name: getattr(args, flag.replace("-", "_"))
                               for flag, name, _ in _CAMPAIGN}
    if args.redemption is not None:
        changes["redemption_enabled"] = args.redemption == "on"

    def work(engine: Any) -> int:
        from sync.server.points.campaign import get_campaign, set_campaign, total_granted
        from sync.server.points.journal import resettle
        from sync.server.points.models import PointsAward

        with engine.begin() as conn:
            if any(v is not None for v in changes.values()):
                before = get_campaign(conn).per_person_cap
                campaign = set_campaign(conn, args.admin, **changes)
                if campaign.per_person_cap != before:  # every card settles anew
                    from sqlalchemy import select

                    cards = conn.execute(select(PointsAward.card).distinct()).scalars()
                    resettle(conn, list(cards), reason="cap changed")
            campaign = get_campaign(conn)
            granted = total_granted(conn)
        for name, value in campaign.as_dict().items():
            print(f"{name}: {value}")
        print(f"granted_to_terminals: {granted}")
        return 0

    return _guard(args, work)


def points_transfer(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.points.service import transfer

        with engine.begin() as conn:
            done = transfer(conn, args.from_card, args.to_card, args.admin, args.reason)
        print(f"{done['points']} points moved ({done['transfer']}); ledger rows "
              f"{done['ledger_seqs']}; new card balance {done['to_balance']}")
        return 0

    return _guard(args, work)


def points_verify(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.points.ledger import verify
        from sync.server.points.statement import check

        with engine.begin() as conn:
            result = verify(conn)
            mismatches = check(conn)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(result.kinds.items())) or "none"
        print(f"ledger rows {result.rows} ({kinds})")
        for problem in [*result.problems, *mismatches]:
            print(f"NG {problem}")
        if result.ok and not mismatches:
            print("OK: chain, hashes and signatures verified; the ledger agrees with the "
                  "settled statement")
            return 0
        return 1

    return _guard(args, work)


def points_report(args: argparse.Namespace) -> int:
    today = date.today()
    start = args.from_day or (today - timedelta(days=30)).isoformat()
    end = args.to_day or today.isoformat()

    def work(engine: Any) -> int:
        from sync.server.points import views

        with engine.begin() as conn:
            report = {"budget": views.budget_summary(conn),
                      "awards": views.awards_by_facility_day(conn, start, end),
                      "corrections": views.corrections(conn, limit=50),
                      "unusual_cards": views.unusual_cards(conn, args.threshold)}
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            print(_format(report, start, end), end="")
        return 0

    return _guard(args, work)


def _format(report: dict[str, Any], start: str, end: str) -> str:
    budget = report["budget"]
    lines = [f"予算 budget {budget['budget']:,} / 配分 granted {budget['granted']:,} / 付与 "
             f"awarded {budget['standing']:,} / 残り left {budget['budget_left']:,}",
             f"付与 awards {start}..{end} (facility day: count awarded settled corrected "
             "clawed_back)"]
    lines += [f"  {r['facility']} {r['day']}: {r['awards']} {r['awarded']:,} {r['settled']:,} "
              f"{r['corrected']:,} {r['clawed_back']:,}" for r in report["awards"]]
    lines.append(f"補正 corrections (newest {len(report['corrections'])})")
    lines += [f"  #{r['seq']} {r['card'][:12]}… {r['points']:+,} award {r['award_terminal']}"
              f"/{r['award_seq']}: {r['reason']}" for r in report["corrections"]]
    lines.append("多頻度カード cards with many taps a day")
    lines += [f"  {r['card'][:12]}… {r['day']}: {r['taps']} taps at "
              f"{', '.join(r['facilities'])}" for r in report["unusual_cards"]]
    return "\n".join(lines) + "\n"
