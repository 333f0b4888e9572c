"""The merchant-presented QR (EMVCo) a counter shows on its customer display."""

from __future__ import annotations

from collections.abc import Callable

from drivers.qr import MerchantAccount, MerchantInfo, emv_payload_for
from kiosk_config.schema import KioskConfig


def merchant_for(config: KioskConfig) -> MerchantInfo:
    """The facility as an EMVCo merchant. Sample account template: the real acquirer's GUID
    and merchant id come with the QR payment contract."""
    latin = config.facility_name.en or config.facility_id
    return MerchantInfo(
        name=latin.upper()[:25], city="HACHINOHE",
        accounts=(MerchantAccount(guid="jp.madoguchi.sample",
                                  fields=(("01", config.terminal_id[:25]),)),),
        language="JA", name_local=config.facility_name.ja[:25], city_local="八戸市",
    )


def qr_payload_for(config: KioskConfig) -> Callable[[int, str], str | None]:
    merchant = merchant_for(config)

    def payload(amount: int, ref: str) -> str | None:
        return emv_payload_for(merchant, amount, ref[:25])

    return payload
