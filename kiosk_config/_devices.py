"""The [devices.<kind>] sections: which driver runs each device, with its parameters."""

from __future__ import annotations

import difflib
from types import MappingProxyType

from kiosk_config._fields import Table
from kiosk_config.schema import DEVICE_DRIVERS, DEVICE_KINDS, DeviceConfig

DEVICES_VALID = "a [devices.<kind>] table per device, kinds: " + ", ".join(DEVICE_KINDS)


def read_devices(root: Table) -> dict[str, DeviceConfig]:
    """Read [devices]: each sub-table has ``driver`` and any driver parameters."""
    devices: dict[str, DeviceConfig] = {}
    table = root.sub("devices", DEVICES_VALID)
    if table is None:
        return devices
    for kind in table.data:
        if kind not in DEVICE_DRIVERS:
            close = difflib.get_close_matches(str(kind), DEVICE_KINDS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            table.problem(
                str(kind),
                f"unknown device kind {kind!r}{hint}",
                "one of " + ", ".join(DEVICE_KINDS),
            )
            continue
        device = _device(table, kind)
        if device is not None:
            devices[kind] = device
    return devices


def _device(devices: Table, kind: str) -> DeviceConfig | None:
    drivers = DEVICE_DRIVERS[kind]
    table = devices.sub(kind, f'a table with driver = "{drivers[0]}" (and driver parameters)')
    if table is None:
        return None
    if not table.has("driver"):
        table.problem("driver", "missing (required)", f"one of {', '.join(drivers)}")
        return None
    driver = table.choice("driver", drivers, default="")
    if not driver:
        return None
    params = {str(k): v for k, v in table.data.items() if k != "driver"}
    return DeviceConfig(kind, driver, MappingProxyType(params))
