"""802.11 management frames (IEEE 802.11-2020 9.3.3): deauthentication, disassociation, (re)association.

The caller strips radiotap/PPI headers; this module sees the MAC header.
Direction is read from the addresses: SA == BSSID means the AP sent it.
"""

from __future__ import annotations

from ..model import WifiConnect, WifiDisconnect
from .base import Emit, FrameDecoder

SUBTYPE_ASSOC_REQ = 0
SUBTYPE_REASSOC_REQ = 2
SUBTYPE_DISASSOC = 10
SUBTYPE_DEAUTH = 12
BROADCAST = "ff:ff:ff:ff:ff:ff"


def mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class Dot11Decoder(FrameDecoder):
    name = "dot11"

    def decode(self, frame: bytes, ts: float, where: str, emit: Emit) -> None:
        fc0 = frame[0]
        if (fc0 >> 2) & 3 != 0 or len(frame) < 24:
            return
        subtype = fc0 >> 4
        if subtype not in (SUBTYPE_DEAUTH, SUBTYPE_DISASSOC, SUBTYPE_ASSOC_REQ, SUBTYPE_REASSOC_REQ):
            return
        da, sa, bssid = mac(frame[4:10]), mac(frame[10:16]), mac(frame[16:22])
        if subtype in (SUBTYPE_ASSOC_REQ, SUBTYPE_REASSOC_REQ):
            emit(WifiConnect(ts, where, sa, bssid))
            return
        protected = frame[1] & 0x40
        reason = int.from_bytes(frame[24:26], "little") if len(frame) >= 26 and not protected else 0
        if sa == bssid:
            direction = "broadcast" if da == BROADCAST else "ap-to-sta"
            station = da
        elif da == bssid:
            direction, station = "sta-to-ap", sa
        else:
            direction, station = "", da
        emit(WifiDisconnect(ts, where, station, bssid, reason,
                            "deauth" if subtype == SUBTYPE_DEAUTH else "disassoc", direction))
