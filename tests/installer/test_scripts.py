"""Every installer script is shellcheck clean; the udev rules parse and grant the group."""

from __future__ import annotations

import shutil

import pytest
from conftest import INSTALLER, run
from udev_rules import UdevSyntaxError, parse_rules

SCRIPTS = sorted([*INSTALLER.glob("*.sh"), *INSTALLER.glob("lib/*.sh"),
                  *INSTALLER.glob("bin/*")])

DEVICES = {
    ("usb", "054c", "06c1"), ("usb", "054c", "06c3"),  # Sony RC-S380
    ("usb", "054c", "0dc8"), ("usb", "054c", "0dc9"),  # Sony RC-S300
    ("usb", "072f", "2200"),  # ACS ACR122U
    ("usb", "04b8", "0202"), ("usb", "04b8", "0e15"), ("usb", "04b8", "0e28"),  # Epson
    ("usb", "0519", "0003"),  # Star
    ("tty", "0403", "6001"), ("tty", "067b", "2303"), ("tty", "1a86", "7523"),  # USB-serial
}


def test_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck is missing (apt-get install shellcheck)"
    assert len(SCRIPTS) >= 5
    result = run(shellcheck, "-x", "--severity=style", *SCRIPTS, check=False)
    assert result.returncode == 0, result.stdout


def test_udev_rules_cover_every_device_without_root() -> None:
    rules = parse_rules((INSTALLER / "udev/60-madoguchi.rules").read_text("utf-8"))
    found = set()
    for rule in rules:
        vendor = rule.match("ATTRS", "idVendor")
        if vendor is None:
            continue
        assert rule.assign("GROUP") == "madoguchi"
        assert rule.assign("MODE") == "0660"
        assert rule.assign("OWNER") in (None, "madoguchi")
        product = rule.match("ATTRS", "idProduct")
        if product is not None:
            found.add((rule.match("SUBSYSTEM"), vendor, product))
    assert found >= DEVICES


@pytest.mark.parametrize("line", [
    'SUBSYSTEM=="usb", ATTRS{idVendor}=="054C", GROUP="madoguchi"',  # upper-case hex
    'SUBSYSTEM=="usb", ATTRS{idVendor}=="054c" GROUP="madoguchi"',  # missing comma
    'SUBSYSTEM=="usb", ATTRS{idVendor}=="054c", GROUP=="madoguchi"',  # GROUP matched
    'SUBSYSTEM=="usb", MODE="0669"',  # not octal
    'SUBSYSTEM=="usb", GROUP="madoguchi",',  # trailing comma
    'SUBSYSTEM="usb", GROUP="madoguchi"',  # SUBSYSTEM assigned
    'ATTRS=="x"',  # ATTRS without {attribute}
    'GOTO="nowhere"',
    'SUBSYSTEM=="usb", GROUP=madoguchi',  # unquoted
])
def test_udev_parser_rejects(line: str) -> None:
    with pytest.raises(UdevSyntaxError):
        parse_rules(line + "\n")
