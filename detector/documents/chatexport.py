"""Chat exports handed to the consultant: Slack (per-channel day files) and Microsoft Teams JSON.

Slack: a JSON list of ``{"type": "message", "user": ..., "text": ..., "ts": ...}``.
Teams (Graph chatMessage, or the export tool's list): objects with
``createdDateTime``, ``from.user.displayName`` and ``body.content`` (HTML).
The file is read up to MAX_BYTES and parsed with the standard JSON parser;
every message text goes to the password-in-message scanner.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from typing import Any, BinaryIO, Iterable

from detector.documents.base import DocumentDecoder, DocumentStats
from detector.logs.base import LogContext
from detector.observations import Emit, Observation
from detector.textscan import shared_passwords
from detector.times import plausible_ts

MAX_BYTES = 64 * 1024 * 1024
MAX_MESSAGES = 500_000
MAX_TEXT = 16 * 1024
TAG = re.compile(r"<[^>]{0,2000}>")


def _load(stream: BinaryIO, stats: DocumentStats) -> Any:
    raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        stats.warnings.append(f"export larger than {MAX_BYTES // (1024 * 1024)} MiB: not read")
        return None
    try:
        return json.loads(raw.decode("utf-8-sig", "replace"))
    except ValueError as exc:
        stats.warnings.append(f"not valid JSON: {exc}"[:200])
        return None
    except RecursionError:  # [[[[...]]]] 100,000 deep: the C scanner recurses per level
        stats.warnings.append("JSON nested too deeply: not read")
        return None


def _messages(data: Any) -> Iterable[dict]:
    if isinstance(data, dict):
        for key in ("value", "messages", "chatMessages"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, list):
        return []
    return (item for item in data[:MAX_MESSAGES] if isinstance(item, dict))


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


class SlackExportDecoder(DocumentDecoder):
    name = "slack-export"

    def sniff(self, head: bytes) -> float:
        sample = head.lstrip()
        if not sample.startswith(b"["):
            return 0.0
        if re.search(rb'"type"\s*:\s*"message"', sample) and re.search(rb'"ts"\s*:\s*"\d+\.\d+"', sample):
            return 0.95
        return 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        channel_hint = f"#{ctx.path.rsplit('/', 2)[-2]}" if "/" in ctx.path else ""
        for index, message in enumerate(_messages(_load(stream, stats))):
            stats.records += 1
            text = _text(message.get("text"))
            if not text:
                continue
            profile = message.get("user_profile") if isinstance(message.get("user_profile"), dict) else {}
            sender = _text(profile.get("real_name") or profile.get("name") or message.get("user")
                           or message.get("username"))[:128]
            try:
                ts = float(message.get("ts", 0) or 0)
            except (TypeError, ValueError, OverflowError):
                ts, stats.malformed = 0.0, stats.malformed + 1
            if not plausible_ts(ts):  # "ts": "1e300" or "nan": dropped, not a crash in a detector
                stats.malformed += 1
                continue
            channel = _text(message.get("channel")) or channel_hint
            _emit_all(shared_passwords(text, "slack", sender, (channel,) if channel else (), ts,
                                       f"{ctx.path}:message {index + 1}"), emit)
        return stats


class TeamsExportDecoder(DocumentDecoder):
    name = "teams-export"

    def sniff(self, head: bytes) -> float:
        if b'"createdDateTime"' in head and b'"body"' in head and (b'"from"' in head or b'"content"' in head):
            return 0.95
        return 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        for index, message in enumerate(_messages(_load(stream, stats))):
            stats.records += 1
            body = message.get("body") if isinstance(message.get("body"), dict) else {}
            text = _text(body.get("content"))
            if not text:
                continue
            if str(body.get("contentType", "html")).lower() == "html":
                text = html.unescape(TAG.sub(" ", text)).replace("\xa0", " ")
            ts = _iso(message.get("createdDateTime"))
            if ts is None:
                stats.malformed += 1
            _emit_all(shared_passwords(text, "teams", _sender(message), _recipients(message), ts or 0.0,
                                       f"{ctx.path}:message {index + 1}"), emit)
        return stats


def _sender(message: dict) -> str:
    origin = message.get("from")
    if isinstance(origin, dict):
        for key in ("user", "application", "device"):
            who = origin.get(key)
            if isinstance(who, dict):
                return _text(who.get("displayName") or who.get("userPrincipalName") or who.get("id"))[:128]
    return _text(origin or message.get("sender"))[:128]


def _recipients(message: dict) -> tuple[str, ...]:
    identity = message.get("channelIdentity")
    if isinstance(identity, dict) and identity.get("channelId"):
        return (_text(identity.get("channelId"))[:128],)
    if message.get("chatId"):
        return (_text(message.get("chatId"))[:128],)
    return ()


def _iso(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00")[:32]).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return ts if plausible_ts(ts) else None


def _emit_all(observations: list[Observation], emit: Emit) -> None:
    for obs in observations:
        emit(obs)
