"""Stored English sentences of shadowit (evidence lines, decoder notes, input warnings) in the reader's language.

Findings, notes and warnings are stored in English: the ``--json`` contract and
the database keep them as the scan wrote them. Each sentence a detector,
decoder or reader writes is declared here once as a template whose
placeholders stand for the values (``{server}``, ``{count}``); a stored text is
matched against the templates and rendered again from the translated
template, so the values stay and the words translate. A text no template
matches (data, or a sentence of a newer version) is shown as stored.

Placeholders named in ``_SPACELESS`` hold one token (an address, a port, a
count), others any text; a template has at most two free-text placeholders,
so matching a hostile 300-character line stays cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from detector.policy.texts import translated
from reports.i18n import DEFAULT_LANGUAGE, N_, _, current_language

MAX_TEXT = 600  # stored evidence, notes and hints are shorter; longer text is shown as stored
MAX_PARTS = 12  # parts of a joined note tried in runs (quadratic in the parts, so bounded)
_SPACELESS = {"byte", "bytes", "channel", "client", "count", "direction", "down", "frames", "host", "kernel", "label",
              "length", "limit", "line", "lost", "method", "number", "others", "pdu", "plugin", "port", "protocol",
              "reason", "records", "scheme", "server", "sid", "size", "snmp", "station", "status", "subtype",
              "target", "transport", "up", "version"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Words and fixed notes written as a whole value.
WORDS = (
    N_("accepted"), N_("refused"), N_("outcome unknown"), N_("(no user)"), N_("no reason code"), N_("an AP"),
    N_("unknown AP"), N_("unknown direction"), N_("an unknown sender"),
    N_("well-known default community"), N_("password equals the user name"),
    N_("the user name contained the password (replaced)"), N_("simple bind"),
    N_("typed after a Password: prompt"), N_("AUTH TLS was refused, login went in clear"),
    N_("server offered STARTTLS, client did not use it"), N_("no STARTTLS"),
    N_("STARTTLS was attempted but the login still went in clear"), N_("DIGEST challenge response, crackable offline"),
    N_("APOP digest, crackable offline"), N_("AUTH CRAM-MD5 challenge response, crackable offline"),
    N_("jabber:iq:auth digest, crackable offline"), N_("password not logged by Suricata"),
    N_("password hidden by Zeek"), N_("the log does not say whether TLS was used"), N_("no TLS"),
    N_("server PASS"), N_("up"), N_("down"),
)

# Decoder notes on a login (one note may join several with ", " or "; ").
NOTES = (
    N_("SNMP{version} community in {pdu}"), N_("field {field} to {host}"), N_("{name} header to {host}"),
    N_("{scheme} token in {name} header to {host}"), N_("{version} response to {host}, crackable offline"),
    N_("{version} response, crackable offline"), N_("host {host}"),
    N_("SIP {method} digest response (realm {realm}), crackable offline"),
    N_("{plugin} scramble, crackable offline"), N_("MD5 response, crackable offline"), N_("method {method}"),
    N_("{server_name} log"),
)

# Evidence lines of the detectors (detector/detectors/*).
EVIDENCE = (
    N_("{protocol} login {user} / {mask} {client} -> {server}:{port}, {outcome}"),
    N_("{protocol} login {user} / {mask} {client} -> {server}:{port}, {outcome} ({note})"),
    N_("{channel}: '{phrase}' followed by {mask} from {sender} to {recipients}"),
    N_("DNS query {name} from {client}"), N_("DNS {name} is an alias of {target}"),
    N_("{label} SNI {name} to {server}:{port}"), N_("{label} to {server}:{port} (SNI {name})"),
    N_("TLS certificate for {name} from {server}:{port} (no SNI)"),
    N_("TLS certificate {name} of {product} from {server}:{port}"), N_("TLS without SNI to {server}:{port}"),
    N_("TLS without SNI to {server}:{port}: {range}"),
    N_("Tor link TLS to {server}:{port}: SNI {name}, certificate {certificate}"),
    N_("BitTorrent tracker announce to {target}"),
    N_("{transport} flow {client} -> {server}:{port}: {up} B up, {down} B down"),
    N_("{count} station(s) lost Wi-Fi on {aps} for ~{duration} ({source}, reason {reason})"),
    N_("{count} station(s) lost Wi-Fi on {aps} for ~{duration} ({source}, {inferred})"),
    N_("{subtype} {direction} reason {reason}"), N_("{subtype} {direction} reason {reason} ({station})"),
    N_("{channel} up {name}"), N_("{channel} down {name}"),
    N_("{detail}: address in {owner}'s published range {network}"),
    N_("UDP {client} -> {server}:{port}: address in {owner}'s published range {network} ({source})"),
    N_("firewall: {client} -> {target} ({app}), {up} B sent, {down} B received"), N_("no app"),
    N_("proxy: {client} {method} {target} {status} {down} B down"),
    N_("Proxifier: {program} -> {target}, {up} B sent, {down} B received"),
    N_("Suricata alert {sid}: {signature}"), N_("software {kind}: {name} on {host}"),
    N_("BitTorrent local peer discovery (BT-SEARCH) from {client} to {target}"),
    N_("BitTorrent UDP tracker connect to {target}"),
    N_("BitTorrent uTP connection request {client} -> {target}"),
    N_("BitTorrent peer handshake {client} <-> {target} info_hash {hash}"),
    N_("BitTorrent encrypted handshake (MSE: {count} and {others} random bytes) {client} -> {target}"),
    N_("WhatsApp Noise handshake {client} -> {target} (prologue {version})"),
    N_("TeamViewer protocol ({transport}) {client} -> {target}"),
    N_("OpenVPN tunnel {client} -> {target}"), N_("WireGuard tunnel {client} -> {target}"),
    N_("Telegram MTProto {kind} transport {client} -> {target}"),
    N_("Dropbox LAN sync beacon from {client} to {target}: host_int {host}, {count} shared folder(s)"),
    N_("Discord voice ping 0x1337cafe {client} -> {target}"),
    N_("Discord voice IP discovery request {client} -> {target}"),
    N_("Discord voice IP discovery reply (client seen as {address}) {client} -> {target}"),
    N_("{detail} (address in {owner} range {network})"),
)

# Likely causes of recurring Wi-Fi drops (detector/detectors/wifi/patterns.py), joined by "; ".
HINTS = (
    N_("reason 23 (802.1X authentication failed): the RADIUS/NPS server or its certificate fails at that time"),
    N_("reason 15 (4-way handshake timeout): key exchange fails, e.g. an overloaded AP or a rekey job"),
    N_("reason 4 (inactivity): idle timeout, often power saving or an AP session timer"),
    N_("reason 2 (previous authentication no longer valid): a session or reauthentication timeout"),
    N_("the AP stopped beaconing: it rebooted or lost power (check uptime, PoE switch schedule)"),
    N_("the AP itself shut down or restarted before the stations dropped"),
    N_("lunchtime on 2.4 GHz: interference, e.g. a microwave oven near the AP"),
    N_("clients re-requested DHCP together: check the DHCP server and the uplink at that time"),
    N_("only one station affected: its driver, power saving or location"), N_("all stations on one AP"),
    N_("stations on {count} APs at once"),
    N_("every {interval} like clockwork: a timer such as group rekey, session timeout or a watchdog reboot"),
    N_("starts on the hour: a scheduled job (AP or controller reboot, firmware/config push, DHCP or RADIUS "
       "maintenance task)"),
    N_("same weekday each week: a weekly maintenance window or backup"),
)

# Warnings on an input (detector/session, capture, documents, inputs).
WARNINGS = (
    N_("empty file; skipped"), N_("empty once decompressed; skipped"), N_("log format not recognised; skipped"),
    N_("not a capture, a log or a known export; skipped"), N_("JSON nested too deeply: not read"),
    N_("compressed data ends early"), N_("already read by an earlier scan"),
    N_("file is shorter than when last read (truncated): read from the start"),
    N_("file was replaced since the last scan: read from the start"),
    N_("reading .evtx needs the 'evtx' package (Python >= 3.10: pip install evtx); skipped"),
    N_("cannot open: {reason}; skipped"), N_("{what}, not a regular file; skipped"),
    N_("could not read as {decoder}: {error}"), N_("link type(s) {types} not decoded"),
    N_("read error after line {line} ({error})"), N_("read error after {frames} frames ({error}); findings cover "
                                                     "the frames before it"),
    N_("{count} packet(s) could not be decoded and were skipped"),
    N_("{count} packet(s) could not be decoded and were skipped (first: {error})"),
    N_("{damage} after line {line}"), N_("{damage} after record {records}"),
    N_("{damage} after {frames} frames; findings cover the frames before the damage"),
    N_("{count} malformed line(s) skipped (first at line {line})"), N_("{count} malformed record(s) skipped"),
    N_("{count} line(s) longer than {limit} KiB skipped unread"),
    N_("{count} line(s) could not be parsed ({error})"),
    N_("{count} record(s) with a time outside 1970..2100 dropped"),
    N_("{count} record(s) with a clock before 2000 (never set?): kept out of the period covered, recency and "
       "recurrence"),
    N_("{count} record(s) with a clock more than a day ahead of the scan: kept out of the period covered, recency "
       "and recurrence"),
    N_("stopped reading after an internal error ({error}); findings cover what was read before it"),
    N_("corrupt record header at byte {byte} (length {length}) after {frames} frames; stopped reading this file"),
    N_("corrupt pcapng block at byte {byte} (length {length}) after {frames} frames; stopped"),
    N_("bad pcapng byte-order mark at byte {byte}; stopped"),
    N_("more than {count} interfaces in one pcapng section; packets on the others are skipped"),
    N_("frame {number}: bad interface id or length; skipped"),
    N_("frame {number}: timestamp outside 1970..2100; such frames are skipped"),
    N_("capture truncated at byte {byte} after {frames} frames; findings cover the frames before the cut"),
    N_("compressed data is corrupt ({error})"), N_("export larger than {limit} MiB: not read"),
    N_("not valid JSON: {error}"), N_("stopped after {count} messages"),
    N_("only the first {limit} MiB of the .evtx file were read"),
    N_("file ends inside a chunk ({count} bytes short); records from the cut on are lost"),
    N_("first unreadable evtx record: {error}"), N_("not a readable .evtx file: {error}"),
)

# The kind of special file a warning names.
FILE_KINDS = (N_("a FIFO (named pipe)"), N_("a character device"), N_("a block device"), N_("a socket"),
              N_("a directory"))


@dataclass(frozen=True)
class Template:
    english: str
    pattern: re.Pattern[str]


def _compile(english: str) -> Template:
    parts = _PLACEHOLDER.split(english)  # literal, name, literal, name, ...
    regex = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            regex.append(re.escape(part))
        else:
            regex.append(rf"(?P<{part}>\S+?)" if part in _SPACELESS else rf"(?P<{part}>.+?)")
    return Template(english, re.compile("".join(regex) + r"\Z", re.DOTALL))


@lru_cache(maxsize=1)
def _templates() -> tuple[Template, ...]:
    """Every template with a placeholder, longest first (the most specific sentence wins)."""
    texts = [t for t in (*EVIDENCE, *NOTES, *HINTS, *WARNINGS) if "{" in t]
    return tuple(_compile(t) for t in sorted(texts, key=len, reverse=True))


_FIXED = frozenset((*WORDS, *FILE_KINDS, *(t for t in (*NOTES, *HINTS, *WARNINGS, *EVIDENCE) if "{" not in t)))


def localized(text: str) -> str:
    """``text`` in the current language when it is one of shadowit's own sentences, else unchanged."""
    if current_language() == DEFAULT_LANGUAGE or not text or len(text) > MAX_TEXT:
        return text
    return _sentence(text, depth=0)


def _sentence(text: str, depth: int) -> str:
    return _ours(text, depth) or _joined(text, depth)


def _ours(text: str, depth: int) -> str:
    """The translation when ``text`` is one sentence of ours as a whole, else ''."""
    if text in _FIXED:
        return _(text)
    for template in _templates():
        found = template.pattern.match(text)
        if found:
            values = {name: _value(value, depth) for name, value in found.groupdict().items()}
            return _(template.english).format(**values)
    return ""


def _value(value: str, depth: int) -> str:
    """A placeholder's value: a word or note of ours (an outcome, a note in brackets) translates too."""
    return _sentence(value, depth + 1) if depth < 2 else value


def _joined(text: str, depth: int) -> str:
    """A note made of several ("AUTH LOGIN, server offered STARTTLS, client did not use it"): the longest run
    of parts that is a sentence of ours translates, other parts stay (a sentence may hold the separator)."""
    if depth >= 2:
        return text
    for separator in ("; ", ", "):
        parts = text.split(separator)
        if not 1 < len(parts) <= MAX_PARTS:
            continue
        shown, start, changed = [], 0, False
        while start < len(parts):
            for end in range(len(parts), start, -1):
                translated_run = _ours(separator.join(parts[start:end]), depth + 1)
                if translated_run:
                    shown.append(translated_run)
                    start, changed = end, True
                    break
            else:
                shown.append(parts[start])
                start += 1
        if changed:
            return separator.join(shown)
    return text


def rule_text(english: str) -> str:
    """A rule's own text (title, remediation) in the current language, as its rule file gives it."""
    return translated(english, current_language())


def all_sentences() -> Iterable[str]:
    """Every declared sentence and word (for tests that look for English left in a translated output)."""
    return (*WORDS, *NOTES, *EVIDENCE, *HINTS, *WARNINGS, *FILE_KINDS)
