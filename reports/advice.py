"""A short name and a plain "what to do" per kind of rule, in the report's language.

Rule files carry the detailed remediation (in the language their author wrote
them); the executive summary needs one sentence a manager acts on, translated
with the rest of the report. Rules are grouped by id prefix, longest first, so
a site rule that reuses a pack prefix still gets sensible advice; a rule no
prefix fits gets its finding kind's advice (``reports/kinds``).
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.i18n import N_, _


@dataclass(frozen=True)
class Advice:
    label: str
    what_to_do: str

    def translated(self) -> Advice:
        return Advice(_(self.label), _(self.what_to_do))


SHARE_DECISION = N_("Decide whether to approve this service. If not, block it (see the block-list export) and give "
                     "staff an approved way to share files.")
ENCRYPT = N_("Switch this service to its encrypted version (HTTPS, SFTP, IMAPS, SSH) and change the passwords that "
              "crossed the network.")
SEND_SAFELY = N_("Send files through the approved, encrypted share instead of unencrypted mail or FTP.")
FIX_WIFI = N_("Have the Wi-Fi checked at the times shown (coverage, interference, access-point load, scheduled "
               "jobs): staff work around a network that fails them.")

FIX_PASSPHRASE = N_("Find the device by its MAC address: give it the current passphrase, or, if nobody owns it, "
                    "treat it as someone guessing the passphrase and change it.")
FIX_RESTARTS = N_("Find out why the access point restarts (its log, power supply, firmware, a watchdog or scheduled "
                  "job): every restart drops every device on it.")

# (rule id prefix, short name, what to do): longest matching prefix wins.
RULE_ADVICE: tuple[tuple[str, str, str], ...] = (
    ("cred-default-password", N_("Default or well-known password"),
     N_("Change this password today to a long, unique one kept in a password manager, then switch the device to "
        "its encrypted login.")),
    ("cred-weak-password", N_("Weak password"),
     N_("Replace the weak password with a long, unique one and turn on the encrypted login.")),
    ("cred-rejected-login", N_("Repeated failed logins"),
     N_("Find out who is trying these logins: block the source or lock the account, and move the service to an "
        "encrypted login.")),
    ("cred-password-reuse", N_("One password for several accounts"),
     N_("Give every account its own password: today one leaked password opens all of them.")),
    ("cred-shared-in-message", N_("Password shared in a message"),
     N_("Change the password that was pasted into a message and share passwords only through the password "
        "manager.")),
    ("cred-possibly-shared-in-message", N_("Password possibly shared in a message"),
     N_("Check the message; if it holds a password, change it and share passwords only through the password "
        "manager.")),
    ("cred-anonymous-login", N_("Anonymous login allowed"),
     N_("Turn off anonymous login or limit what it can reach.")),
    ("cred-hash-material", N_("Password hashes on the network"), ENCRYPT),
    ("cred-cleartext-mail", N_("Mail password in clear text"), ENCRYPT),
    ("cred-cleartext-database", N_("Database password in clear text"), ENCRYPT),
    ("cred-cleartext-management", N_("Device management password in clear text"), ENCRYPT),
    ("cred-", N_("Password in clear text"), ENCRYPT),
    ("fs-upload-", N_("Large upload to an unapproved service"), SHARE_DECISION),
    ("fs-remote-access", N_("Remote-access tool"),
     N_("Find out who installed this remote-access tool and why; remove it or replace it with the approved remote "
        "support tool.")),
    ("fs-p2p", N_("Peer-to-peer file sharing"),
     N_("Remove the peer-to-peer software: it shares files with strangers.")),
    ("fs-vpn-proxy", N_("Private VPN or proxy"),
     N_("Find out why traffic is routed around the network; remove the private VPN or proxy and fix the need it "
        "served.")),
    ("fs-dns-only", N_("Unapproved service looked up"), SHARE_DECISION),
    ("fs-high-risk-service", N_("High-risk file-sharing service"), SHARE_DECISION),
    ("fs-genai", N_("Generative AI service"),
     N_("Agree which AI tools staff may use and for which data; block the others.")),
    ("fs-personal-messaging", N_("Personal messaging or webmail"), SHARE_DECISION),
    ("fs-unsanctioned-service", N_("Unapproved cloud service"), SHARE_DECISION),
    ("fs-cleartext-", N_("File sent without encryption"), SEND_SAFELY),
    ("fs-smtp-attachment", N_("Attachment sent without encryption"), SEND_SAFELY),
    ("fs-mail-attachment", N_("Files sent as mail attachments"), SEND_SAFELY),
    ("fs-attachment", N_("Files sent as mail attachments"), SEND_SAFELY),
    ("fs-", N_("File sharing outside IT"), SHARE_DECISION),
    ("wifi-deauth-summary", N_("Disconnect frames counted"),
     N_("Nothing to do on its own: the counts explain the drops and attacks beside them.")),
    ("wifi-deauth", N_("Devices forced off the Wi-Fi"),
     N_("Someone may be knocking devices off the Wi-Fi: turn on protected management frames (802.11w) and locate "
        "the sender.")),
    ("wifi-psk-mismatch", N_("Wrong Wi-Fi passphrase"), FIX_PASSPHRASE),
    ("wifi-ap-restart", N_("Access point restarting"), FIX_RESTARTS),
    ("wifi-", N_("Recurring Wi-Fi drops"), FIX_WIFI),
)

_BY_LENGTH = sorted(RULE_ADVICE, key=lambda entry: -len(entry[0]))


def advice_for(rule: str, kind_advice: Advice) -> Advice:
    """Translated short name and action for a rule id (falling back to the advice of its finding's kind)."""
    for prefix, label, action in _BY_LENGTH:
        if rule.startswith(prefix):
            return Advice(label, action).translated()
    return kind_advice.translated()
