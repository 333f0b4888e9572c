"""A small demo counter for the startup probe and the UI tests (not used in production).

PIN hashes are precomputed so a start does not spend a second hashing PINs.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

from drivers.inprocess import InProcessPaymentTerminal
from terminal.catalogue import Account, Catalogue, Category, FeeItem, Names, TimeSlot, VisitorType
from terminal.clerks import Clerk
from terminal.counter import Counter, CounterSettings
from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey
from terminal.ports import PaymentTerminal, QrGateway
from terminal.receipt import ReceiptHeader
from ui.context import AppContext

TERMINAL = "demo-museum-01"
DEMO_CLERKS: dict[str, Clerk] = {
    "c1": Clerk("c1", "窓口 一郎", "clerk", "$argon2id$v=19$m=65536,t=3,p=4$s0wBeH6L920RbSqhg3"
                "AiYw$crN35fJ4gphXsKSeKcztEgr1baUIAIhTqfZga5ayCCw"),
    "c2": Clerk("c2", "窓口 花子", "clerk", "$argon2id$v=19$m=65536,t=3,p=4$GJVROgQUM5Zw0vwOiJ"
                "iGTg$JJRdM9NXTqp2zZ6oqDW8zox+e71FMsOodNQO5fAZ/OA"),
    "sup1": Clerk("sup1", "係長 三郎", "supervisor", "$argon2id$v=19$m=65536,t=3,p=4$Yw65EoZfr2"
                  "Rtr/AAr9IBYQ$6GcKUdARkKnmY+oArz7BWoFNmfyA4egpJuDwSWkVb5E"),
}
HEADER = ReceiptHeader("八戸市博物館", address="八戸市大字根城字東構35-1", phone="0178-44-8111")


def demo_catalogue() -> Catalogue:
    n = Names
    return Catalogue(
        items=(
            FeeItem("ADM", n("常設展 観覧料", "Admission", "参观费", "관람료"), "admission", 250,
                    "std10", "14-01-01", "general", prices={"student": 150, "senior": 100}),
            FeeItem("SPECIAL", n("企画展 観覧料", "Special exhibition", "特展参观费", "특별전"),
                    "admission", 800, "std10", "14-01-02", "general", prices={"student": 500}),
            FeeItem("FREE", n("中学生以下", "Children", "儿童", "어린이"), "admission", 0, "std10",
                    "14-01-01", "general"),
            FeeItem("CAT", n("図録", "Catalogue book", "图录", "도록"), "shop", 1500, "std10",
                    "21-05-01", "general"),
            FeeItem("TEA", n("お茶", "Tea", "茶", "차"), "shop", 150, "red8", "21-05-02",
                    "general"),
            FeeItem("ROOM-AM", n("研修室", "Seminar room", "研修室", "세미나실"), "room", 1200,
                    "std10", "14-02-01", "general", time_slot=TimeSlot("09:00", "12:00")),
            FeeItem("ROOM-PM", n("研修室", "Seminar room", "研修室", "세미나실"), "room", 1600,
                    "std10", "14-02-01", "general", time_slot=TimeSlot("13:00", "17:00")),
        ),
        accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
        categories=(Category("admission", n("観覧料", "Admission", "门票", "입장료")),
                    Category("shop", n("売店", "Shop", "商店", "매점")),
                    Category("room", n("施設利用", "Rooms", "设施", "시설"))),
        visitor_types=(VisitorType("student", n("学生", "Student", "学生", "학생")),
                       VisitorType("senior", n("65歳以上", "Senior", "老年人", "경로"))),
    )


class WallClock:
    def now(self) -> datetime:
        return datetime.now(TOKYO)


def demo_counter(directory: Path, payment_terminal: PaymentTerminal | None = None,
                 qr_gateway: QrGateway | None = None, clock: object | None = None) -> Counter:
    journal = Journal.open(directory / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(directory / "terminal.key"))
    terminal = payment_terminal if payment_terminal is not None else InProcessPaymentTerminal(
        random.Random(1), 0.0, directory / "payterm.jsonl")
    return Counter(journal, demo_catalogue(), CounterSettings(TERMINAL), DEMO_CLERKS,
                   clock or WallClock(), terminal, qr_gateway)  # type: ignore[arg-type]


def demo_context(directory: Path, **overrides: object) -> AppContext:
    """A context on a journal in ``directory`` with the in-process payment terminal."""
    counter = overrides.pop("counter", None) or demo_counter(directory)
    return AppContext(counter=counter, header=HEADER, **overrides)  # type: ignore[arg-type]
