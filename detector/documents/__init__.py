"""Whole-file documents handed to the consultant (mail files, chat exports, Windows event logs).

To add a format: write ``documents/<format>.py`` with a DocumentDecoder
subclass (``documents/base.py``), add it to ``document_decoders`` below, and
add its test.
"""

from __future__ import annotations

from typing import Optional

from detector.documents.base import DocumentDecoder
from detector.logs.sniffing import best_sniff
from detector.policy.settings import Settings


def document_decoders(settings: Settings) -> list[DocumentDecoder]:
    """Whole-file formats (JSON exports, mailboxes, .evtx) that are not read line by line."""
    from detector.documents.chatexport import SlackExportDecoder, TeamsExportDecoder
    from detector.documents.evtx import EvtxDecoder
    from detector.documents.mailbox import MailboxDecoder
    from detector.documents.wlan_autoconfig import WlanCsvDecoder, WlanXmlDecoder

    messages = [MailboxDecoder(), SlackExportDecoder(), TeamsExportDecoder()]
    wifi = [EvtxDecoder(), WlanXmlDecoder(), WlanCsvDecoder()]
    return messages + wifi


def choose_document(head: bytes, decoders: list[DocumentDecoder]) -> tuple[Optional[DocumentDecoder], float]:
    """The whole-file format most confident about these first bytes (up to 8 KiB), and its score."""
    return best_sniff(decoders, head)
