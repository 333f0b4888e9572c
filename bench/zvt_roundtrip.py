"""Benchmark: a ZVT sale round trip over a pty pair at 9600 baud vs its wire-time bound.

The driver (ZvtPaymentTerminal on SerialTransport) sells against the ZVT simulator across a
socat pty pair. A pty does not pace bytes, so both ends pace their writes to the line rate
(bytes x 10 bits / 9600 s) to emulate the cable; the lower bound is every byte exchanged in
one sale (frames, ACK bytes, both directions) x 10 / 9600 s, measured in the same run.
Ours / bound shows the protocol's turnaround and processing overhead. The unpaced pty
median (pure software latency) is printed alongside.

    python bench/zvt_roundtrip.py [--n 15] [--baud 9600]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.zvt.ptypair import PtyPair
from drivers.zvt.simulator import ZvtSimulator
from drivers.zvt.terminal import ZvtPaymentTerminal
from drivers.zvt.transport import SerialTransport, ZvtTimeouts

TIMEOUTS = ZvtTimeouts(ack=5.0, completion=30.0, char=1.0)


def run(n: int, baud: int, pace: bool, workdir: Path) -> tuple[list[float], list[int]]:
    pace_baud = baud if pace else None
    with PtyPair(workdir, "bench") as pair:
        sim = ZvtSimulator(timeouts=TIMEOUTS, pace_baud=pace_baud)
        sim.serve_serial(str(pair.b), baud)
        if not sim.wait_link(5):
            raise SystemExit("the simulator did not open its end of the pty pair")
        link = SerialTransport(str(pair.a), baudrate=baud, timeouts=TIMEOUTS,
                               pace_baud=pace_baud)
        terminal = ZvtPaymentTerminal(lambda: link, timeouts=TIMEOUTS)
        try:
            terminal.status()  # connect and register outside the measurement
            times, sizes = [], []
            for i in range(n):
                before = link.bytes_moved
                start = time.perf_counter()
                result = terminal.authorize_sale(1200, "credit", f"B-{pace}-{i}", lambda _: None)
                times.append(time.perf_counter() - start)
                sizes.append(link.bytes_moved - before)
                assert result.approved
        finally:
            terminal.close()
            sim.stop()
    return times, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=15)
    parser.add_argument("--baud", type=int, default=9600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paced, sizes = run(args.n, args.baud, True, Path(tmp))
        unpaced, _ = run(args.n, args.baud, False, Path(tmp))
    size = statistics.median(sizes)
    bound = size * 10 / args.baud
    ours = statistics.median(paced)
    print(f"zvt sale round trip, pty at {args.baud} baud, n={args.n}: median ours "
          f"{ours * 1000:.1f} ms vs wire bound {bound * 1000:.1f} ms ({size:.0f} bytes x 10 / "
          f"{args.baud}) = {ours / bound:.2f}x; unpaced pty median "
          f"{statistics.median(unpaced) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
