"""Card readers (FeliCa): nfcpy and PC/SC drivers, wire-level simulators, tools.

Modules: ``felica`` (pure codec), ``nfcpy_reader.NfcpyReader``, ``pcsc.PcscReader``,
``multi.MultiReader``, ``simulator`` (``VirtualFelicaCard`` for vpcd, ``EmulatedFelicaTag``
for nfcpy udp), ``tools`` (``list_readers``, ``self_test``). Nothing opens a device at import.
"""

from __future__ import annotations

from drivers.cards.multi import MultiReader
from drivers.cards.tools import list_readers, self_test

__all__ = ["MultiReader", "list_readers", "self_test"]
