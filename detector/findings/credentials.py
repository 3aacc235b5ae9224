"""Attributes of clear-text credential findings, one frozen class per kind (see detector.findings.attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from detector.findings.attributes import Attributes, attribute
from detector.findings.finding import CATEGORY_CREDENTIALS

# How a secret crosses the wire, as the decoders and log readers name it: the closed set a rule may name
# (`protocol: ...`) and a finding may carry. A decoder that learns a new way adds it here first.
CREDENTIAL_PROTOCOLS = (
    "ftp", "telnet", "rlogin", "pop3", "imap", "smtp", "managesieve", "snmp", "ldap", "sip", "smb-ntlm",
    "mysql", "postgresql", "redis", "irc", "irc-nickserv", "xmpp",
    "http-basic", "http-proxy-basic", "http-digest", "http-ntlm", "http-form", "http-json", "http-query",
    "http-form-token", "http-json-token", "http-query-token", "http-bearer", "http-token", "http-oauth",
    "http-api-key",
)
PROTOCOL_VALUES = ", ".join(f"`{protocol}`" for protocol in CREDENTIAL_PROTOCOLS)


@dataclass(frozen=True, kw_only=True)
class CleartextLoginAttributes(Attributes):
    detector = "credentials.cleartext"
    category = CATEGORY_CREDENTIALS
    summary = ("one finding per protocol, user name and server (every secret that user sent is listed in `secrets`); "
               "one secret sent over one protocol to several servers is one finding listing them in `servers`; "
               "`hosts` is the site's server that accepts it (the device to fix), else the site's clients")

    protocol: str = attribute("how the secret crossed the wire: " + PROTOCOL_VALUES, label="Protocol", default="",
                              choices=CREDENTIAL_PROTOCOLS)
    username: str = attribute("user name sent with the secret (empty for SNMP: the community is the secret)",
                              label="User", default="")
    secret_mask: str = attribute("mask of the secret: at most its first character and its length",
                                 label="Secret (masked)", default="")
    secret_fingerprint: str = attribute("keyed HMAC fingerprint of the secret (same secret, same value on this "
                                        "installation); empty when the secret was not captured",
                                        label="Fingerprint", default="")
    secret_captured: bool = attribute("false when the source saw the login but not the secret (Zeek hides "
                                      "passwords, server logs never carry them)", label="Secret captured",
                                      default=True)
    secrets: list[dict[str, Any]] = attribute("every distinct secret this user sent to this server: "
                                              "`{mask, fingerprint, accepted, count}`", label="Secrets",
                                              factory=list, structured=True)
    domain: str = attribute("Windows domain or realm of the user (NTLM, Kerberos, LDAP)", label="Domain",
                            default="")
    workstation: str = attribute("the client's computer name the login gave (NTLM)", label="Workstation",
                                 default="")
    client: str = attribute("the first client device (address) that sent it", label="Client", default="")
    clients: list[str] = attribute("every client device (address) that sent it", label="Clients", factory=list)
    used_by: list[str] = attribute("the site's own clients (local addresses) that sent it", label="Used by",
                                   factory=list)
    server: str = attribute("server address (the lowest when the secret went to several)", label="Server",
                            default="")
    server_port: int = attribute("server port", label="Port", default=0)
    servers: list[str] = attribute("every `address:port` the secret was sent to over this protocol",
                                   label="Servers", factory=list)
    accepted: Optional[bool] = attribute("true when the server accepted a login, false when it refused every one",
                                         label="Accepted by server", when="null when the protocol did not say")
    weak: bool = attribute("the secret is short or common", label="Weak", default=False)
    default: bool = attribute("the secret is a vendor default (`public`, `admin`, ...)", label="Default",
                              default=False)
    kind: str = attribute("`cleartext`, `anonymous`, `hash` (Digest/NTLM material crackable offline) or `token` "
                          "(a bearer, OAuth or API token: no user name)", label="Kind", default="cleartext",
                          choices=("cleartext", "anonymous", "hash", "token"))
    note: str = attribute("what the decoder noted about the exchange", label="Note", default="")
    starttls: Optional[bool] = attribute("true when STARTTLS was tried and failed before the clear login, false "
                                         "when never tried", label="STARTTLS tried first",
                                         when="null for protocols without STARTTLS")


@dataclass(frozen=True, kw_only=True)
class BruteForceAttributes(Attributes):
    detector = "credentials.bruteforce"
    category = CATEGORY_CREDENTIALS
    summary = ("repeated refused logins from one client to one server (brute force, password spraying) grouped "
               "into one finding")

    protocol: str = attribute("login protocol: " + PROTOCOL_VALUES, label="Protocol", default="",
                              choices=CREDENTIAL_PROTOCOLS)
    client: str = attribute("the client device (address) that made the attempts", label="Client", default="")
    used_by: list[str] = attribute("that client when it is one of the site's devices (a local address)",
                                   label="Used by", factory=list)
    server: str = attribute("server address", label="Server", default="")
    server_port: int = attribute("server port", label="Port", default=0)
    pattern: str = attribute("`brute-force` (many secrets for few users) or `password-spraying` (one secret, "
                             "many users)", label="Pattern", default="brute-force",
                             choices=("brute-force", "password-spraying"))
    attempts: int = attribute("login attempts seen", label="Attempts", default=0)
    refused: int = attribute("attempts the server refused", label="Refused", default=0)
    usernames: list[str] = attribute("distinct user names tried (at most 50 listed)", label="User names tried",
                                     factory=list)
    distinct_usernames: int = attribute("how many distinct user names were tried", label="Distinct user names",
                                        default=0)
    distinct_secrets: int = attribute("how many distinct secrets were tried", label="Distinct secrets", default=0)
    succeeded: bool = attribute("true when any attempt from this client was accepted", label="Any attempt accepted",
                                default=False)
    accepted_usernames: list[str] = attribute("user names whose login was accepted", label="Accepted users",
                                              factory=list)
    duration_s: float = attribute("seconds between the first and the last attempt", label="Duration", default=0.0)


@dataclass(frozen=True, kw_only=True)
class ReuseAttributes(Attributes):
    detector = "credentials.reuse"
    category = CATEGORY_CREDENTIALS
    summary = ("one secret seen for two or more users, or over two or more protocols or message channels (judged "
               "on the keyed fingerprint); one user's secret on several servers of one protocol is not reuse")

    secret_mask: str = attribute("mask of the reused secret", label="Secret (masked)", default="")
    secret_fingerprint: str = attribute("keyed fingerprint of the reused secret", label="Fingerprint", default="")
    usernames: list[str] = attribute("user names it was used with", label="Users", factory=list)
    services: list[str] = attribute("`protocol server:port` entries it was sent to", label="Services",
                                    factory=list)
    protocols: list[str] = attribute("protocols or message channels it was sent over", label="Protocols",
                                     factory=list)
    clients: list[str] = attribute("client devices that sent it", label="Clients", factory=list)
    used_by: list[str] = attribute("the site's own clients (local addresses) that sent it", label="Used by",
                                   factory=list)
    weak: bool = attribute("the secret is short or common", label="Weak", default=False)
    default: bool = attribute("the secret is a vendor default", label="Default", default=False)


@dataclass(frozen=True, kw_only=True)
class SharedPasswordAttributes(Attributes):
    detector = "credentials.shared-in-message"
    category = CATEGORY_CREDENTIALS
    summary = "a password pasted into mail, chat or an export, per channel and sender"

    channel: str = attribute("`smtp`, `pop3`, `imap`, `irc`, `xmpp`, `msn`, `http-post`, `mailbox`, `slack`, "
                             "`teams`, `chat-log`", label="Channel", default="")
    sender: str = attribute("who wrote the message", label="Sender", default="")
    recipients: list[str] = attribute("who received it", label="Recipients", factory=list)
    score: float = attribute("how sure the text scanner is, 0..1", label="Detection confidence", default=0.0)
    phrase: str = attribute("the keyword that triggered the hit (never the secret)", label="Trigger phrase",
                            default="")
    secret_mask: str = attribute("mask of the pasted secret (the most recent one)", label="Secret (masked)",
                                 default="")
    secret_fingerprint: str = attribute("keyed fingerprint of that secret", label="Fingerprint", default="")
    secrets: int = attribute("how many distinct secrets this sender pasted on this channel", label="Secrets",
                             default=1)
    weak: bool = attribute("the secret is short or common", label="Weak", default=False)


KINDS = (CleartextLoginAttributes, BruteForceAttributes, ReuseAttributes, SharedPasswordAttributes)
