"""SNMP v1/v2c (RFC 1157, RFC 3416): the community string is a password sent in every packet.

SNMPv3 messages carry no community and yield nothing. A response from the agent
proves the community was accepted. Defaults such as ``public``/``private`` are
flagged by ``protect()`` (Secret.default).
"""

from __future__ import annotations

from detector.observations import Credential, Emit
from detector.protocols.base import Datagram, DatagramDecoder
from detector.protocols.ber import TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, BerError, element, integer
from detector.secrets import protect

VERSIONS = {0: "v1", 1: "v2c"}
PDU_NAMES = {0xA0: "get-request", 0xA1: "get-next-request", 0xA2: "response", 0xA3: "set-request",
             0xA4: "trap", 0xA5: "get-bulk-request", 0xA6: "inform-request", 0xA7: "trap", 0xA8: "report"}
RESPONSE = 0xA2
AGENT_PORTS = (161, 162)
MAX_COMMUNITY = 256


def parse_community(payload: bytes) -> tuple[str, bytes, int]:
    """(version name, community, PDU tag) of a v1/v2c message; raises BerError otherwise."""
    message = element(payload, 0, TAG_SEQUENCE)
    version = element(message.value, 0, TAG_INTEGER)
    name = VERSIONS.get(integer(version.value))
    if name is None:
        raise BerError("not SNMP v1/v2c")
    community = element(message.value, version.end, TAG_OCTET_STRING)
    if not community.value or len(community.value) > MAX_COMMUNITY:
        raise BerError("empty or oversized community")
    pdu = element(message.value, community.end)
    if pdu.tag not in PDU_NAMES:
        raise BerError("unknown PDU")
    return name, community.value, pdu.tag


class SnmpDecoder(DatagramDecoder):
    name = "snmp"
    udp_ports = frozenset(AGENT_PORTS)

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        try:
            version, community, pdu = parse_community(dgram.payload)
        except BerError:
            return
        if dgram.sport in AGENT_PORTS and dgram.dport not in AGENT_PORTS:
            client, server, port = dgram.dst, dgram.src, dgram.sport
        else:
            client, server, port = dgram.src, dgram.dst, dgram.dport
        secret = protect(community)
        note = f"SNMP{version} community in {PDU_NAMES[pdu]}"
        if secret.default:
            note += ", well-known default community"
        emit(Credential(dgram.ts, dgram.where, "snmp", client, server, port, "", secret,
                        accepted=True if pdu == RESPONSE else None, note=note))
