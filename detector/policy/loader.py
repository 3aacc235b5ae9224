"""Read rule packs, site policy files and the compliance catalog; validate all of it.

Every problem becomes a RuleError with ``file:line:col``; loading goes on to
the end so one run lists every mistake, then raises RuleLoadError if any.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional, Sequence

from detector.findings.finding import SEVERITIES
from detector.findings.registry import closed_values, field_names
from detector.policy.examples import ExampleParser
from detector.policy.matcher import Condition, MatchCompiler, Never, Vocabulary, unknown_value
from detector.policy.model import (
    ACTION_ALERT,
    ACTION_ALLOW,
    DEFAULT_RULE_ID,
    LAYER_PACK,
    LAYER_SITE,
    Control,
    Mark,
    Rule,
    RuleError,
)
from detector.policy.ruleset import RuleSet
from detector.policy.settings import Settings
from detector.policy.texts import LANGUAGES as TEXT_LANGUAGES
from detector.policy.texts import SOURCE_LANGUAGE, TRANSLATABLE_KEYS, register
from detector.policy.yamlsrc import YList, YMap, parse_bytes, read_bytes

COMPLIANCE_FILE = "compliance.yaml"
# catalogs live beside the packs but are not packs
CATALOG_FILES = ("services.yaml", COMPLIANCE_FILE, "suricata_signatures.yaml")
RULES_FILE_KEYS = ("rules", "settings", "site", "version", "description")
SITE_KEYS = ("networks", "pseudonymize")
MAX_SITE_NETWORKS = 1024
CATALOG_KEYS = ("version", "description", "frameworks")
FRAMEWORK_KEYS = ("name", "url", "controls")
RULE_KEYS = (
    "id", "title", "description", "match", "action", "severity", "tags", "compliance", "remediation",
    "title_override", "reason", "expires", "owner", "enabled", "examples",
)
ALERT_ONLY_KEYS = ("severity", "compliance", "remediation", "title_override")
ALLOW_ONLY_KEYS = ("reason", "expires")
ACTIONS = (ACTION_ALERT, ACTION_ALLOW)
SUPPORTED_VERSIONS = (1,)
MAX_LIST_SETTING = 1000

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_FRAMEWORK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def rule_vocabularies() -> dict[str, Vocabulary]:
    """Closed value sets a rule may name: detectors, categories and declared choices, and catalog services."""
    from detector.findings.filesharing import CHANNEL_SERVICES
    from detector.policy.catalog import load_catalog

    vocabularies = {name: Vocabulary(values) for name, values in closed_values().items()}
    try:
        catalog = load_catalog()
    except Exception:  # the catalog's own errors are reported where it is loaded
        return vocabularies
    names = {service.name for service in catalog.services} | set(CHANNEL_SERVICES.values())
    vocabularies["service"] = Vocabulary(tuple(sorted(names)), ": not in the service catalog")
    return vocabularies


def _unknown_key(key: str, allowed: Sequence[str], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
    return f"unknown key {key!r} in {where}{hint}"


def _as_date(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


class Loader:
    """Accumulates files, rules, settings and errors across one load."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []
        self.files: list[Path] = []
        self.hash = hashlib.sha256()
        self.controls: dict[str, Control] = {}
        self.catalog_loaded = False
        self.settings_values: dict[str, Any] = {}
        self.site_networks: list[str] = []  # every rules file's site: networks:, in load order
        self.site_pseudonymize = False  # any rules file's site: pseudonymize: true
        self.rules: dict[str, list[Rule]] = {LAYER_PACK: [], LAYER_SITE: []}
        self.ids: dict[str, dict[str, Mark]] = {LAYER_PACK: {}, LAYER_SITE: {}}
        self.file_order: dict[str, int] = {}
        self.matches = MatchCompiler(self.errors, field_names(), rule_vocabularies())
        self.examples = ExampleParser(self.errors)

    def fail(self, mark: Mark, message: str) -> None:
        self.errors.append(mark.error(message))

    def sorted_errors(self) -> list[RuleError]:
        """Errors grouped by file in load order, then by position."""
        last = len(self.file_order)
        return sorted(self.errors, key=lambda e: (self.file_order.get(e.file, last), e.file, e.line, e.col))

    # ---------------------------------------------------------------- files

    def _read(self, path: Path) -> Any:
        """Parsed document of ``path`` (None if empty or broken); hashes the bytes."""
        self.file_order.setdefault(str(path), len(self.file_order))
        data = read_bytes(path, self.errors)
        if data is None:
            return None
        self.files.append(path)
        self.hash.update(data)
        return parse_bytes(data, str(path), self.errors)

    def _top(self, doc: Any, path: Path, allowed: Sequence[str], what: str) -> Optional[YMap]:
        if doc is None:
            return None
        if not isinstance(doc, YMap):
            self.fail(getattr(doc, "mark", Mark(str(path), 1, 1)), f"a {what} must be a YAML mapping")
            return None
        for key in doc:
            if key not in allowed:
                self.fail(doc.key_mark(key), _unknown_key(key, allowed, f"a {what}"))
        version = doc.get("version", SUPPORTED_VERSIONS[0])
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            self.fail(doc.value_mark("version"), f"unsupported version {doc['version']!r} (expected 1)")
        if "description" in doc and not isinstance(doc["description"], str):
            self.fail(doc.value_mark("description"), "description must be text")
        return doc

    # ---------------------------------------------------------------- compliance catalog

    def load_catalog(self, path: Path) -> None:
        """Read the controls rules may cite; without it, compliance ids are not checked."""
        errors_before = len(self.errors)
        doc = self._top(self._read(path), path, CATALOG_KEYS, "compliance catalog")
        if doc is None:
            if len(self.errors) == errors_before:
                self.fail(Mark(str(path), 1, 1), "the compliance catalog is empty")
            return
        frameworks = doc.get("frameworks")
        if not isinstance(frameworks, YMap):
            self.fail(doc.value_mark("frameworks") if "frameworks" in doc else doc.mark,
                      "the compliance catalog needs a frameworks: mapping")
            return
        for name, body in frameworks.items():
            self._framework(name, body, frameworks)
        self.catalog_loaded = True

    def _framework(self, name: str, body: Any, frameworks: YMap) -> None:
        if not _FRAMEWORK_ID.match(name):
            self.fail(frameworks.key_mark(name), f"bad framework id {name!r}")
            return
        if not isinstance(body, YMap):
            self.fail(frameworks.value_mark(name), f"framework {name} must be a mapping with name and controls")
            return
        for key in body:
            if key not in FRAMEWORK_KEYS:
                self.fail(body.key_mark(key), _unknown_key(key, FRAMEWORK_KEYS, f"framework {name}"))
        title = body.get("name")
        if not isinstance(title, str) or not title:
            self.fail(body.value_mark("name") if "name" in body else body.mark, f"framework {name} needs a name")
        controls = body.get("controls")
        if not isinstance(controls, YMap) or not controls:
            self.fail(body.value_mark("controls") if "controls" in body else body.mark,
                      f"framework {name} needs a controls: mapping of id to title")
            return
        for ref, control_title in controls.items():
            if isinstance(control_title, YMap):
                control_title = self._translations(control_title, controls.value_mark(ref), f"control {name}:{ref}")
            if not isinstance(control_title, str) or not control_title.strip():
                self.fail(controls.value_mark(ref), f"control {name}:{ref} needs a title")
                continue
            control_id = f"{name}:{ref}"
            self.controls[control_id] = Control(control_id, name, ref, control_title.strip(),
                                                title if isinstance(title, str) else "")

    # ---------------------------------------------------------------- rules files

    def load_rules_file(self, path: Path, layer: str) -> None:
        doc = self._top(self._read(path), path, RULES_FILE_KEYS, "rules file")
        if doc is None:
            return
        if "settings" in doc:
            self._settings(doc["settings"], doc.value_mark("settings"))
        if "site" in doc:
            self._site(doc["site"], doc.value_mark("site"))
        rules = doc.get("rules")
        if rules is None:
            return
        if not isinstance(rules, YList):
            self.fail(doc.value_mark("rules"), "rules must be a list of rules")
            return
        for index, node in enumerate(rules):
            rule = self.rule(node, rules.item_mark(index), layer)
            if rule is not None:
                self.rules[layer].append(rule)

    def _mapping(self, node: Any, mark: Mark, message: str) -> Optional[YMap]:
        """``node`` when it is a mapping; None when absent, or (``message`` recorded) when it is anything else."""
        if node is not None and not isinstance(node, YMap):
            self.fail(mark, message)
            return None
        return node

    def _settings(self, node: Any, mark: Mark) -> None:
        node = self._mapping(node, mark, "settings must be a mapping")
        if node is None:
            return
        defaults = Settings()
        known = sorted(Settings.known_keys())
        for key, value in node.items():
            if key not in known:
                self.fail(node.key_mark(key), _unknown_key(key, known, "settings"))
                continue
            problem = _setting_problem(getattr(defaults, key), value)
            if problem:
                self.fail(node.value_mark(key), f"settings.{key}: {problem}")
                continue
            self.settings_values[key] = list(value) if isinstance(value, list) else value

    def _site(self, node: Any, mark: Mark) -> None:
        """``site: {networks: [CIDR, ...]}``: the audited site's own networks (Zeek's ``Site::local_nets``)."""
        node = self._mapping(node, mark, "site must be a mapping (site: {networks: [10.0.0.0/8, 2001:db8::/48]})")
        if node is None:
            return
        for key in node:
            if key not in SITE_KEYS:
                self.fail(node.key_mark(key), _unknown_key(key, SITE_KEYS, "site"))
        if "pseudonymize" in node:
            if isinstance(node["pseudonymize"], bool):
                self.site_pseudonymize = self.site_pseudonymize or node["pseudonymize"]
            else:
                self.fail(node.value_mark("pseudonymize"), "site.pseudonymize must be true or false")
        if "networks" not in node:
            return
        networks = node["networks"]
        if not isinstance(networks, YList):
            self.fail(node.value_mark("networks"), "site.networks must be a list of networks (10.0.0.0/8, ...)")
            return
        for index, item in enumerate(networks):
            problem = _network_problem(item)
            if problem:
                self.fail(networks.item_mark(index), f"site.networks: {problem}")
            elif len(self.site_networks) >= MAX_SITE_NETWORKS:
                self.fail(networks.item_mark(index), f"site.networks: at most {MAX_SITE_NETWORKS} networks")
                return
            else:
                self.site_networks.append(str(item).strip())

    # ---------------------------------------------------------------- one rule

    def rule(self, node: Any, mark: Mark, layer: str) -> Optional[Rule]:
        """A validated Rule, or None when it has errors (which are recorded)."""
        if not isinstance(node, YMap):
            self.fail(mark, "each rule must be a mapping with at least id, title and match")
            return None
        errors_before = len(self.errors)
        for key in node:
            if key not in RULE_KEYS:
                self.fail(node.key_mark(key), _unknown_key(key, RULE_KEYS, "a rule"))
        rule_id = self._rule_id(node, layer)
        enabled = self._flag(node, "enabled", default=True)
        action = node.get("action", ACTION_ALERT)
        if action not in ACTIONS:
            self.fail(node.value_mark("action"), f"bad action {action!r} (expected alert or allow)")
        stub = not enabled and "match" not in node
        title = self._text(node, "title", required=not stub)
        match = Never() if stub else self._match(node)
        self._action_keys(node, action)
        severity = self._severity(node, required=action == ACTION_ALERT and not stub)
        reason = self._text(node, "reason", required=action == ACTION_ALLOW and not stub)
        examples = self.examples.parse(node["examples"], node.value_mark("examples"), rule_id or "?") \
            if "examples" in node else []
        rule = Rule(
            id=rule_id or "", title=title, match=match or Never(), source=node.mark, layer=layer,
            action=action if action in ACTIONS else ACTION_ALERT, severity=severity,
            description=self._text(node, "description"), tags=self._texts(node, "tags"),
            compliance=self._compliance(node), remediation=self._text(node, "remediation"),
            title_override=self._text(node, "title_override"), reason=reason,
            expires=self._expires(node), owner=self._text(node, "owner"), enabled=enabled, examples=examples,
        )
        return rule if len(self.errors) == errors_before else None

    def _match(self, node: YMap) -> Optional[Condition]:
        if "match" not in node:
            self._missing(node, "match")
            return None
        return self.matches.block(node["match"], node.value_mark("match"))

    def _missing(self, node: YMap, key: str) -> None:
        self.fail(node.mark, f"rule is missing required key {key!r}")

    def _rule_id(self, node: YMap, layer: str) -> Optional[str]:
        if "id" not in node:
            self._missing(node, "id")
            return None
        rule_id, mark = node["id"], node.value_mark("id")
        if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
            self.fail(mark, f"bad rule id {rule_id!r} (letters, digits, '.', '_', ':', '-'; at most 128)")
            return None
        if rule_id == DEFAULT_RULE_ID:
            self.fail(mark, f"rule id {DEFAULT_RULE_ID!r} is reserved for unmatched findings")
            return None
        first = self.ids[layer].get(rule_id)
        if first is not None:
            self.fail(mark, f"duplicate rule id {rule_id!r} (first defined at {first})")
            return None
        self.ids[layer][rule_id] = node.mark
        return rule_id

    def _text(self, node: YMap, key: str, required: bool = False) -> str:
        if key not in node:
            if required:
                self._missing(node, key)
            return ""
        value = node[key]
        if isinstance(value, YMap) and key in TRANSLATABLE_KEYS:
            return self._translations(value, node.value_mark(key), key)
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(node.value_mark(key), f"{key} must be {'non-empty ' if required else ''}text")
            return ""
        return value.strip()

    def _translations(self, value: YMap, mark: Mark, key: str) -> str:
        """``{en: ..., de: ..., fr: ...}``: the English text (the one findings store), the others registered."""
        texts: dict[str, str] = {}
        for language, text in value.items():
            if language not in TEXT_LANGUAGES:
                self.fail(value.key_mark(language), f"{key}: unknown language {language!r} "
                                                    f"(expected {', '.join(TEXT_LANGUAGES)})")
            elif not isinstance(text, str) or not text.strip():
                self.fail(value.value_mark(language), f"{key}.{language} must be non-empty text")
            else:
                texts[language] = text.strip()
        if SOURCE_LANGUAGE not in value:
            self.fail(mark, f"{key} needs its English text under '{SOURCE_LANGUAGE}' (shown where no translation "
                            "is given)")
            return ""
        register(texts)
        return texts.get(SOURCE_LANGUAGE, "")

    def _texts(self, node: YMap, key: str) -> list[str]:
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, YList):
            self.fail(node.value_mark(key), f"{key} must be a list of texts")
            return []
        result = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                result.append(item.strip())
            else:
                self.fail(value.item_mark(index), f"{key} entries must be non-empty text")
        return result

    def _flag(self, node: YMap, key: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.fail(node.value_mark(key), f"{key} must be true or false")
            return default
        return value

    def _action_keys(self, node: YMap, action: Any) -> None:
        forbidden = ALERT_ONLY_KEYS if action == ACTION_ALLOW else ALLOW_ONLY_KEYS
        for key in forbidden:
            if key in node:
                other = ACTION_ALERT if action == ACTION_ALLOW else ACTION_ALLOW
                self.fail(node.key_mark(key), f"{key!r} is only valid with action: {other}")

    def _severity(self, node: YMap, required: bool) -> str:
        if "severity" not in node:
            if required:
                self._missing(node, "severity")
            return ""
        value = node["severity"]
        if value not in SEVERITIES:
            self.fail(node.value_mark("severity"), unknown_value("severity", value, SEVERITIES))
            return ""
        return value

    def _compliance(self, node: YMap) -> list[str]:
        ids = self._texts(node, "compliance")
        if not self.catalog_loaded or "compliance" not in node:
            return ids
        items = node["compliance"]
        for index, item in enumerate(items if isinstance(items, YList) else []):
            if isinstance(item, str) and item.strip() and item.strip() not in self.controls:
                close = difflib.get_close_matches(item.strip(), list(self.controls), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(items.item_mark(index), f"unknown compliance control {item!r} "
                                                  f"(not in {COMPLIANCE_FILE}){hint}")
        return ids

    def _expires(self, node: YMap) -> Optional[date]:
        if "expires" not in node:
            return None
        value = _as_date(node["expires"])
        if value is None:
            self.fail(node.value_mark("expires"), f"bad date {node['expires']!r} (expected YYYY-MM-DD)")
        return value

    # ---------------------------------------------------------------- result

    def build(self, today: date) -> RuleSet:
        """Site rules replace pack rules with the same id in place; other site rules go first."""
        packs = list(self.rules[LAYER_PACK])
        position = {rule.id: index for index, rule in enumerate(packs)}
        site_only = []
        for rule in self.rules[LAYER_SITE]:
            if rule.id in position:
                packs[position[rule.id]] = rule
            else:
                site_only.append(rule)
        ordered = site_only + packs
        return RuleSet(
            rules=[rule for rule in ordered if rule.enabled],
            settings=Settings().updated({**self.settings_values, "site_networks": tuple(self.site_networks),
                                          "site_pseudonymize": self.site_pseudonymize}),
            sha256=self.hash.hexdigest(),
            files=list(self.files),
            digest=self.hash.copy(),
            compliance=dict(self.controls),
            today=today,
            disabled=[rule for rule in ordered if not rule.enabled],
        )


def _network_problem(value: Any) -> str:
    """Why ``value`` is not a network: a CIDR prefix (host bits allowed, as Zeek accepts) or one address."""
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a network (expected a CIDR prefix such as 10.1.0.0/16 or 2001:db8::/48)"
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return f"{value.strip()!r} is not a network (expected a CIDR prefix such as 10.1.0.0/16 or 2001:db8::/48)"
    return ""


def _setting_problem(default: Any, value: Any) -> str:
    """Why ``value`` cannot replace ``default`` ("" when it can)."""
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "expected true or false"
    if isinstance(default, (int, float)):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, int) and not isinstance(value, int):
            number = False
        if not number:
            return f"expected a {'whole ' if isinstance(default, int) else ''}number"
        return "" if value >= 0 else "must not be negative"
    if isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, str) and item for item in value)
        if not ok:
            return "expected a list of texts"
        return "" if len(value) <= MAX_LIST_SETTING else f"at most {MAX_LIST_SETTING} entries"
    if isinstance(default, str):
        return "" if isinstance(value, str) else "expected text"
    return "cannot be set from a rules file"

