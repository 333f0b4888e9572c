"""ZVT payment terminal driver: codec, serial/TCP transports, the PaymentTerminal adapter and
a wire-level simulator."""

from drivers.zvt.codec import ZvtProtocolError
from drivers.zvt.terminal import ZvtPaymentTerminal, self_test
from drivers.zvt.transport import ZvtTimeouts, list_serial_ports

__all__ = ["ZvtPaymentTerminal", "ZvtProtocolError", "ZvtTimeouts", "list_serial_ports",
           "self_test"]
