"""Rigs for the ZVT tests: the simulator on one end of a socat pty pair (or a TCP listener)
and the driver on the other, with short timeouts so the fault tests stay fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drivers.zvt.ptypair import PtyPair
from drivers.zvt.simulator import ZvtSimulator
from drivers.zvt.terminal import ZvtPaymentTerminal
from drivers.zvt.transport import ZvtTimeouts

FAST = ZvtTimeouts(ack=0.5, completion=1.5, char=0.3, connect=2.0)


@dataclass
class Rig:
    sim: ZvtSimulator
    terminal: ZvtPaymentTerminal
    pair: PtyPair | None
    tcp_port: int = 0

    def new_terminal(self) -> ZvtPaymentTerminal:
        """Another driver on the same link (as after a restart of the counter)."""
        self.terminal.close()
        if self.pair is not None:
            self.terminal = ZvtPaymentTerminal.over_serial(str(self.pair.a), timeouts=FAST)
        else:
            self.terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", self.tcp_port,
                                                       timeouts=FAST)
        return self.terminal

    def relink(self) -> None:
        """Plug the cable back in after a ``drop``: a new pty pair for the same paths."""
        if self.pair is not None:
            self.pair.start()
            assert self.sim.wait_link(5.0), "the simulator did not reopen its port"


@contextmanager
def serial_rig(tmp_path: Path, card_wait: float = 0.0) -> Iterator[Rig]:
    pair = PtyPair(tmp_path).start()
    sim = ZvtSimulator(tmp_path / "pt-ledger.jsonl", timeouts=FAST, card_wait=card_wait,
                       on_drop=pair.stop)
    sim.serve_serial(str(pair.b))
    terminal = ZvtPaymentTerminal.over_serial(str(pair.a), timeouts=FAST)
    rig = Rig(sim, terminal, pair)
    try:
        assert sim.wait_link(5.0), "the simulator did not open its end of the pty pair"
        yield rig
    finally:
        rig.terminal.close()
        sim.stop()
        pair.stop()


@contextmanager
def tcp_rig(tmp_path: Path, card_wait: float = 0.0) -> Iterator[Rig]:
    sim = ZvtSimulator(tmp_path / "pt-ledger.jsonl", timeouts=FAST, card_wait=card_wait)
    port = sim.serve_tcp()
    terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", port, timeouts=FAST)
    rig = Rig(sim, terminal, None, port)
    try:
        yield rig
    finally:
        rig.terminal.close()
        sim.stop()


def no_prompt(message: str) -> None:
    pass
