"""XMPP (RFC 6120/6121): SASL PLAIN, legacy jabber:iq:auth and in-band registration passwords, chat bodies.

The stream is XML; only complete ``<auth>``, ``<iq>`` and ``<message>``
stanzas are read, with regular expressions over a bounded buffer (no XML
parser on hostile input). ``<success/>`` or an ``iq type='result'`` with the
same id means accepted. DIGEST-MD5/SCRAM and ``<digest>`` are crackable
material, not clear passwords. ``<proceed/>`` after ``<starttls/>`` ends what
can be read.
"""

from __future__ import annotations

import html
import re
from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession
from detector.protocols.sasl import plain
from detector.textscan import shared_passwords

XMPP_PORTS = frozenset({5222, 5223})
MAX_BUFFER = 64 * 1024
CLIENT_STANZA = re.compile(rb"<(auth|iq|message|starttls)\b[^>]{0,2048}?(?:/>|>.{0,16384}?</\1\s*>)", re.DOTALL)
SERVER_STANZA = re.compile(rb"<(success|failure|proceed|iq|message)\b[^>]{0,2048}?(?:/>|>.{0,16384}?</\1\s*>)",
                           re.DOTALL)
ATTR = r"""\b{name}\s*=\s*(?:'([^']{{0,512}})'|"([^"]{{0,512}})")"""


def attribute(tag: bytes, name: str) -> str:
    match = re.search(ATTR.format(name=name).encode(), tag)
    if not match:
        return ""
    return html.unescape((match.group(1) or match.group(2) or b"").decode("utf-8", "replace"))


def child_text(stanza: bytes, name: str) -> Optional[str]:
    match = re.search(rb"<" + name.encode() + rb"(?:\s[^>]{0,512})?>([^<]{0,4096})</" + name.encode() + rb">",
                      stanza)
    if match is None:
        return None
    return html.unescape(match.group(1).decode("utf-8", "replace"))


def bare(jid: str) -> str:
    return jid.split("/")[0][:256]


class XmppSession(LoginSession):
    protocol = "xmpp"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.starttls = False
        self.buffers = {True: b"", False: b""}
        self.waiting_id = ""  # iq id of a pending register/auth, or "sasl"
        self.jid = ""
        self.domain = ""

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        buf = self.buffers[from_client] + data
        pattern = CLIENT_STANZA if from_client else SERVER_STANZA
        end = 0
        for match in pattern.finditer(buf):
            end = match.end()
            stanza = match.group(0)
            head = stanza[:stanza.find(b">") + 1]
            kind = match.group(1)
            if from_client:
                self._client(kind, head, stanza, ts, where)
            elif self._server(kind, head, stanza, ts, where) is False:
                self.flush()
                return False
        buf = buf[end:]
        if len(buf) > MAX_BUFFER:
            buf = buf[-4096:]
        self.buffers[from_client] = buf
        if from_client and b"<stream:stream" in data:
            self.domain = self.domain or attribute(data[data.find(b"<stream:stream"):][:2048], "to")
        return True

    def _client(self, kind: bytes, head: bytes, stanza: bytes, ts: float, where: str) -> None:
        if kind == b"starttls":
            self.starttls = True
        elif kind == b"auth":
            mechanism = attribute(head, "mechanism").upper()
            if mechanism == "PLAIN":
                body = stanza[len(head):].rsplit(b"<", 1)[0]
                pair = plain(body)
                if pair is not None:
                    self._login_as(pair[0])
                    self.offer(ts, where, pair[0], pair[1], note="SASL PLAIN")
                    self.waiting_id = "sasl"
        elif kind == b"iq":
            self._iq(head, stanza, ts, where)
        elif kind == b"message":
            body = child_text(stanza, "body")
            if body:
                sender = bare(attribute(head, "from")) or self.jid
                recipient = bare(attribute(head, "to"))
                for obs in shared_passwords(body, "xmpp", sender, (recipient,) if recipient else (), ts, where):
                    self.send(obs)

    def _login_as(self, user: str) -> None:
        """Remember who is logged in on this stream: messages without a from= are theirs."""
        if user and not self.jid:
            self.jid = user if "@" in user or not self.domain else f"{user}@{self.domain}"

    def _iq(self, head: bytes, stanza: bytes, ts: float, where: str) -> None:
        if attribute(head, "type") != "set":
            return
        namespace = "register" if b"jabber:iq:register" in stanza else "auth" if b"jabber:iq:auth" in stanza else ""
        if not namespace:
            return
        user = child_text(stanza, "username") or ""
        self._login_as(user)
        password = child_text(stanza, "password")
        if password:
            note = "in-band registration (jabber:iq:register)" if namespace == "register" else "jabber:iq:auth"
            self.offer(ts, where, user, password, note=note)
            self.waiting_id = attribute(head, "id") or "?"
        elif namespace == "auth":
            digest = child_text(stanza, "digest")
            if digest:
                self.offer(ts, where, user, digest, kind="hash", note="jabber:iq:auth digest, crackable offline")
                self.waiting_id = attribute(head, "id") or "?"

    def _server(self, kind: bytes, head: bytes, stanza: bytes, ts: float, where: str) -> Optional[bool]:
        if kind == b"proceed":
            return False
        if kind in (b"success", b"failure") and self.waiting_id == "sasl":
            self.waiting_id = ""
            self.judge(kind == b"success")
        elif kind == b"iq" and self.waiting_id and attribute(head, "id") == self.waiting_id:
            self.waiting_id = ""
            kind_attr = attribute(head, "type")
            if kind_attr in ("result", "error"):
                self.judge(kind_attr == "result")
        elif kind == b"message":
            body = child_text(stanza, "body")
            if body:
                sender = bare(attribute(head, "from"))
                recipient = bare(attribute(head, "to"))
                for obs in shared_passwords(body, "xmpp", sender, (recipient,) if recipient else (), ts, where):
                    self.send(obs)
        return None


class XmppDecoder(StreamDecoder):
    name = "xmpp"
    tcp_ports = XMPP_PORTS
    client_prefixes = (b"<?xml version", b"<stream:stream")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return head.lstrip().startswith((b"<?xml", b"<stream:stream", b"<")) or not head

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return XmppSession(ends, emit)
