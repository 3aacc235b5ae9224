"""Write Zeek logs (ASCII TSV and JSON) and Suricata EVE lines by hand, to the official field lists.

Field lists are Zeek 6/7's ``Info`` records for each log path. A row is a dict;
a field it leaves out is unset ("-" in TSV, absent in JSON).
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

ID = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
FIELDS = {
    "conn": ID + ["proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
                  "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
                  "resp_ip_bytes", "tunnel_parents"],
    "dns": ID + ["proto", "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
                 "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected"],
    "ssl": ID + ["version", "cipher", "curve", "server_name", "resumed", "last_alert", "next_protocol",
                 "established", "ssl_history", "cert_chain_fps", "client_cert_chain_fps", "sni_matches_cert"],
    "quic": ID + ["version", "client_initial_dcid", "client_scid", "server_scid", "server_name", "client_protocol",
                  "history"],
    "http": ID + ["trans_depth", "method", "host", "uri", "referrer", "version", "user_agent", "origin",
                  "request_body_len", "response_body_len", "status_code", "status_msg", "info_code", "info_msg",
                  "tags", "username", "password", "proxied", "orig_fuids", "orig_filenames", "orig_mime_types",
                  "resp_fuids", "resp_filenames", "resp_mime_types"],
    "ftp": ID + ["user", "password", "command", "arg", "mime_type", "file_size", "reply_code", "reply_msg",
                 "data_channel.passive", "data_channel.orig_h", "data_channel.resp_h", "data_channel.resp_p",
                 "fuid"],
    "smtp": ID + ["trans_depth", "helo", "mailfrom", "rcptto", "date", "from", "to", "cc", "reply_to", "msg_id",
                  "in_reply_to", "subject", "x_originating_ip", "first_received", "second_received",
                  "last_reply", "path", "user_agent", "tls", "fuids", "is_webmail"],
    "files": ["ts", "fuid", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "source", "depth",
              "analyzers", "mime_type", "filename", "duration", "local_orig", "is_orig", "seen_bytes",
              "total_bytes", "missing_bytes", "overflow_bytes", "timedout", "parent_fuid", "md5", "sha1", "sha256",
              "extracted", "extracted_cutoff", "extracted_size"],
    "dhcp": ["ts", "uids", "client_addr", "server_addr", "mac", "host_name", "client_fqdn", "domain",
             "requested_addr", "assigned_addr", "lease_time", "client_message", "server_message", "msg_types",
             "duration"],
    "ntlm": ID + ["username", "hostname", "domainname", "server_nb_computer_name", "server_dns_computer_name",
                  "server_tree_name", "success"],
    "kerberos": ID + ["request_type", "client", "service", "success", "error_msg", "from", "till", "cipher",
                      "forwardable", "renewable", "client_cert_subject", "client_cert_fuid", "server_cert_subject",
                      "server_cert_fuid"],
    "x509": ["ts", "fingerprint", "certificate.version", "certificate.serial", "certificate.subject",
             "certificate.issuer", "certificate.not_valid_before", "certificate.not_valid_after",
             "certificate.key_alg", "certificate.sig_alg", "certificate.key_type", "certificate.key_length",
             "certificate.exponent", "certificate.curve", "san.dns", "san.uri", "san.email", "san.ip",
             "basic_constraints.ca", "basic_constraints.path_len", "host_cert", "client_cert"],
    "notice": ID + ["fuid", "file_mime_type", "file_desc", "proto", "note", "msg", "sub", "src", "dst", "p", "n",
                    "peer_descr", "actions", "email_dest", "suppress_for"],
    "software": ["ts", "host", "host_p", "software_type", "name", "version.major", "version.minor",
                 "version.minor2", "version.minor3", "version.addl", "unparsed_version"],
}
TYPES = {"ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr",
         "id.resp_p": "port", "duration": "interval", "orig_bytes": "count", "resp_bytes": "count",
         "answers": "vector[string]", "TTLs": "vector[interval]", "rcptto": "set[string]", "to": "set[string]",
         "msg_types": "vector[string]", "uids": "set[string]", "tags": "set[enum]", "fuids": "vector[string]",
         "host": "string", "qtype": "count", "request_body_len": "count", "status_code": "count",
         "file_size": "count", "reply_code": "count", "total_bytes": "count", "seen_bytes": "count",
         "is_orig": "bool", "success": "bool", "tunnel_parents": "set[string]", "analyzers": "set[string]",
         "cert_chain_fps": "vector[string]", "client_cert_chain_fps": "vector[string]", "san.dns": "vector[string]",
         "basic_constraints.ca": "bool", "actions": "set[enum]", "n": "count"}


def _escape(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte == 0x5C or byte == 0x09 or byte < 0x20 or byte >= 0x7F:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _tsv_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (list, tuple, set)):
        return ",".join(_escape(str(v)) for v in value) if value else "(empty)"
    if isinstance(value, float):
        return f"{value:.6f}"
    return _escape(str(value)) if str(value) else "(empty)"


def zeek_tsv(path: str, rows: Iterable[dict], opened: str = "2026-11-29-15-00-00") -> str:
    fields = FIELDS[path]
    lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
             f"#path\t{path}", f"#open\t{opened}", "#fields\t" + "\t".join(fields),
             "#types\t" + "\t".join(TYPES.get(f, "string") for f in fields)]
    for row in rows:
        unknown = set(row) - set(fields)
        assert not unknown, f"not a {path}.log field: {unknown}"
        lines.append("\t".join(_tsv_value(row.get(f)) for f in fields))
    lines.append("#close\t2026-11-29-16-00-00")
    return "\n".join(lines) + "\n"


def zeek_json(path: str, rows: Iterable[dict], with_path: bool = False) -> str:
    out = []
    for row in rows:
        unknown = set(row) - set(FIELDS[path])
        assert not unknown, f"not a {path}.log field: {unknown}"
        record = {"_path": path} if with_path else {}
        record.update({k: (list(v) if isinstance(v, (tuple, set)) else v) for k, v in row.items() if v is not None})
        out.append(json.dumps(record))
    return "\n".join(out) + "\n"


def eve_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def eve(event_type: str, ts: float, src: str, sport: int, dst: str, dport: int, proto: str = "TCP",
        flow_id: int = 1, **sections: Any) -> str:
    record = {"timestamp": eve_time(ts), "flow_id": flow_id, "in_iface": "eth0", "event_type": event_type,
              "src_ip": src, "src_port": sport, "dest_ip": dst, "dest_port": dport, "proto": proto}
    record.update(sections)
    return json.dumps(record)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path
