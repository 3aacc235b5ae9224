"""802.11 management frames (IEEE 802.11-2020 9.3.3): deauthentication, disassociation, (re)association, beacons.

The caller strips radiotap/PPI headers (and, with ``capture_header_length``,
Prism and AVS headers); this module sees the MAC header.
Direction is read from the addresses: SA == BSSID means the AP sent it.
Beacons are tracked per BSSID (name, channel, rhythm) so that an AP that
stops beaconing and comes back yields one ``WifiBeaconGap``; the per-beacon
path only updates a small list, since every AP sends about ten a second.
"""

from __future__ import annotations

from detector.observations import Emit, WifiBeaconGap, WifiConnect, WifiDisconnect
from detector.protocols.base import FrameDecoder

SUBTYPE_ASSOC_REQ = 0
SUBTYPE_REASSOC_REQ = 2
SUBTYPE_BEACON = 8
SUBTYPE_DISASSOC = 10
SUBTYPE_DEAUTH = 12
BROADCAST = "ff:ff:ff:ff:ff:ff"
MAX_BSSIDS = 4096
TU_SECONDS = 1024e-6
# Floors below which a silence is never reported; the detector applies the
# (higher, configurable) wifi_beacon_gap_* settings on top.
GAP_MIN_SECONDS = 3.0
GAP_MIN_INTERVALS = 10
STEADY_BEACONS = 30  # consecutive on-time beacons before a silence counts (rules out channel hopping)
ALIVE_FRAMES_PER_SECOND = 0.5  # the capture kept receiving frames during the silence

LINK_PRISM = 119  # DLT_PRISM_HEADER: wlan-ng / older Linux monitor mode
LINK_AVS = 163  # DLT_IEEE802_11_RADIO_AVS
CAPTURE_HEADER_LINKTYPES = (LINK_PRISM, LINK_AVS)
PRISM_HEADER_BYTES = 144  # msgcode, msglen, devname[16], ten 12-byte items
AVS_MAGIC, AVS_MAGIC_MASK = 0x80211000, 0xFFFFF000  # AVS version word (0x80211001/2), big-endian
MIN_80211_HEADER = 24

# per-BSSID beacon state, a list for speed: [last_ts, steady_run, interval_s, frames_seen_at_last, ssid, channel]
LAST, RUN, INTERVAL, FRAMES, SSID, CHANNEL = range(6)


def mac(raw: bytes) -> str:
    return bytes(raw).hex(":")


def beacon_details(frame: bytes) -> tuple[str, int, float]:
    """(SSID, channel, beacon interval in seconds) from a beacon body; bounded walk over the IEs."""
    interval = int.from_bytes(frame[32:34], "little") * TU_SECONDS if len(frame) >= 34 else 0.1024
    ssid, channel, pos, end = "", 0, 36, min(len(frame), 36 + 2048)
    while pos + 2 <= end:
        ie, size = frame[pos], frame[pos + 1]
        value = frame[pos + 2:pos + 2 + size]
        if ie == 0:
            ssid = value[:32].decode("utf-8", "replace").replace("\x00", "")
        elif ie == 3 and value:  # the IE may claim more bytes than the frame holds
            channel = value[0]
        pos += 2 + size
    return ssid, channel, interval if interval > 0 else 0.1024


def capture_header_length(buf: bytes, off: int, end: int, linktype: int) -> int:
    """Bytes of the Prism or AVS header at ``off`` before the 802.11 frame, or -1 when it cannot be read.

    AVS states its length big-endian after its version word, and also turns up
    under the Prism link type (as Wireshark allows). Prism states its length in
    the writer's byte order; both are tried, then the fixed 144 bytes.
    """
    if end - off < 8:
        return -1
    room = end - off - MIN_80211_HEADER
    if int.from_bytes(buf[off:off + 4], "big") & AVS_MAGIC_MASK == AVS_MAGIC:
        length = int.from_bytes(buf[off + 4:off + 8], "big")
    elif linktype == LINK_PRISM:
        length = int.from_bytes(buf[off + 4:off + 8], "little")
        if not 8 <= length <= room:
            length = int.from_bytes(buf[off + 4:off + 8], "big")
        if not 8 <= length <= room:
            length = PRISM_HEADER_BYTES
    else:
        return -1
    return length if 8 <= length <= room else -1


class Dot11Decoder(FrameDecoder):
    name = "dot11"

    def __init__(self) -> None:
        self.beacons: dict[bytes, list] = {}
        self.frames = 0

    def decode(self, frame: bytes, ts: float, where: str, emit: Emit) -> None:
        self.frames += 1
        if len(frame) < 24:
            return
        fc0 = frame[0]
        if (fc0 >> 2) & 3 != 0:
            return
        subtype = fc0 >> 4
        if subtype == SUBTYPE_BEACON:
            self._beacon(frame, ts, where, emit)
            return
        if subtype not in (SUBTYPE_DEAUTH, SUBTYPE_DISASSOC, SUBTYPE_ASSOC_REQ, SUBTYPE_REASSOC_REQ):
            return
        da, sa, bssid = mac(frame[4:10]), mac(frame[10:16]), mac(frame[16:22])
        known = self.beacons.get(frame[16:22])
        ssid, channel = (known[SSID], known[CHANNEL]) if known else ("", 0)
        if subtype in (SUBTYPE_ASSOC_REQ, SUBTYPE_REASSOC_REQ):
            emit(WifiConnect(ts, where, sa, bssid, ssid))
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
                            "deauth" if subtype == SUBTYPE_DEAUTH else "disassoc", direction, ssid,
                            channel=channel))

    def _beacon(self, frame: bytes, ts: float, where: str, emit: Emit) -> None:
        key = frame[16:22]
        state = self.beacons.get(key)
        if state is None:
            self._first_beacon(key, frame, ts)
            return
        silence = ts - state[LAST]
        interval = state[INTERVAL]
        if silence > 3 * interval:
            gap = self._gap(state, silence)
            if gap:
                emit(WifiBeaconGap(state[LAST], where, mac(key), round(silence, 3), state[SSID], state[CHANNEL],
                                   round(interval * 1000, 1)))
            state[RUN] = 0
        elif silence >= 0:
            state[RUN] += 1
        state[LAST] = ts
        state[FRAMES] = self.frames

    def _gap(self, state: list, silence: float) -> bool:
        """A real outage: long enough, after a steady rhythm, while the capture kept hearing other frames."""
        if silence < max(GAP_MIN_SECONDS, GAP_MIN_INTERVALS * state[INTERVAL]):
            return False
        if state[RUN] < STEADY_BEACONS:
            return False
        return self.frames - state[FRAMES] >= silence * ALIVE_FRAMES_PER_SECOND

    def _first_beacon(self, key: bytes, frame: bytes, ts: float) -> None:
        if len(self.beacons) >= MAX_BSSIDS:
            self._evict()
        ssid, channel, interval = beacon_details(frame)
        self.beacons[key] = [ts, 0, interval, self.frames, ssid, channel]

    def _evict(self) -> None:
        """Forget the quarter of BSSIDs heard least recently."""
        order = sorted(self.beacons, key=lambda k: self.beacons[k][LAST])
        for key in order[: MAX_BSSIDS // 4]:
            del self.beacons[key]
