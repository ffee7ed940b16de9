"""Who may check what: a YAML policy, deny by default.

Format (the path comes from the setting `VPNCHECK_POLICY_FILE`)::

    contact: "#network-platform"       # required; named in every refusal
    admins: [U0ADMIN1]                 # optional; may check anything from anywhere (and read the audit trail)
    rules:
      - name: incident channel         # optional; shown in logs and audit
        channels: [C0INCIDENT]         # selectors: any of channels / users / usergroups, at least one
        users: [U0ONCALL]
        usergroups: [S0NETOPS]
        subscriptions:                 # required: subscription ids, or "*" for all
          - 11111111-2222-3333-4444-555555555555
        resource_groups: ["rg-prod-*"] # optional shell globs, case-insensitive; omitted = every group
        alert_channel: C0INCIDENT      # optional: where Azure Monitor alerts on these targets are answered

How a request is decided:

* A rule *applies* when ANY of its selectors matches: the channel the command was typed in, the user, or one
  of the user's Slack user groups. Selectors never combine with AND (a rule cannot demand "this group AND this
  channel"). `"*"` as a selector entry matches everyone (for a sandbox; rarely right in production).
* The request is allowed when some applying rule covers the target's subscription and resource group.
  With no target yet ("may this user use the bot here at all?") one applying rule is enough.
* Everything else is refused, with a message naming `contact`.

An Azure Monitor alert has no user and no channel: it is routed by its target. The first rule (in file order)
that has an `alert_channel` and covers the target's subscription and resource group decides where the check is
posted; with none, the alert is refused and nothing is queued. Selectors play no part for alerts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from bot.models import Scoped

WILDCARD = "*"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

ChannelId = Annotated[str, StringConstraints(pattern=r"^([CGD][A-Z0-9]{2,30}|\*)$")]
ConversationId = Annotated[str, StringConstraints(pattern=r"^[CG][A-Z0-9]{2,30}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^([UW][A-Z0-9]{2,30}|\*)$")]
UserGroupId = Annotated[str, StringConstraints(pattern=r"^(S[A-Z0-9]{2,30}|\*)$")]
SubscriptionPattern = Annotated[str, StringConstraints(pattern=rf"^({_GUID}|\*)$")]
GroupGlob = Annotated[
    str, StringConstraints(min_length=1, max_length=90, pattern=r"^[A-Za-z0-9._()*?\[\]!-]+$")
]


class PolicyError(ValueError):
    """The policy file is missing or malformed; the message says where."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    channels: list[ChannelId] = Field(default_factory=list)
    users: list[UserId] = Field(default_factory=list)
    usergroups: list[UserGroupId] = Field(default_factory=list)
    subscriptions: list[SubscriptionPattern] = Field(min_length=1)
    resource_groups: list[GroupGlob] | None = None
    alert_channel: ConversationId | None = None

    @model_validator(mode="after")
    def _has_selector(self) -> Self:
        if not (self.channels or self.users or self.usergroups):
            raise ValueError("a rule needs at least one of channels, users, usergroups")
        if self.resource_groups is not None and not self.resource_groups:
            raise ValueError("resource_groups is empty: omit it to allow every group")
        return self

    def applies(self, user_id: str, channel_id: str, usergroups: set[str]) -> bool:
        return (
            _listed(channel_id, self.channels)
            or _listed(user_id, self.users)
            or any(_listed(g, self.usergroups) for g in usergroups)
            or (WILDCARD in self.usergroups)
        )

    def covers(self, target: Scoped) -> bool:
        sub = target.subscription_id.lower()
        if not any(s == WILDCARD or s.lower() == sub for s in self.subscriptions):
            return False
        if self.resource_groups is None:
            return True
        rg = target.resource_group.lower()
        return any(fnmatch.fnmatchcase(rg, g.lower()) for g in self.resource_groups)

    def label(self, index: int) -> str:
        return f"rule {index + 1}" + (f" ({self.name})" if self.name else "")


def _listed(value: str, entries: list[str]) -> bool:
    return bool(value) and (WILDCARD in entries or value in entries)


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact: str = Field(min_length=1, max_length=200)
    admins: list[UserId] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # plain text for the user and the audit trail
    rule: str | None = None  # which rule allowed it
    channel: str | None = None  # for an alert: the channel the rule assigns


@dataclass(frozen=True)
class Policy:
    contact: str
    admins: frozenset[str]
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "policy") -> Policy:
        """The policy in `text`; a PolicyError naming the line of every duplicate key or unknown field."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            duplicates = list(_duplicate_keys(root))
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
        if duplicates:  # YAML keeps the last one silently: a rule could lose its restriction unseen
            raise PolicyError(f"{source}: duplicate keys:\n" + "\n".join(duplicates))
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: expected a mapping with 'contact' and 'rules'")
        try:
            parsed = _PolicyFile.model_validate(data)
        except ValidationError as exc:
            raise PolicyError(f"{source}: invalid policy:\n{_describe(exc, root)}") from exc
        return cls(contact=parsed.contact, admins=frozenset(parsed.admins), rules=tuple(parsed.rules))

    @property
    def usergroups(self) -> frozenset[str]:
        """The user groups the rules name: the only ones worth asking Slack about."""
        return frozenset(g for r in self.rules for g in r.usergroups if g != WILDCARD)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def names_user(self, user_id: str) -> bool:
        """Whether the policy names this user itself (admins or a rule's `users`), not by channel, group or *.

        Members of other organisations in shared channels are served only then (bot/slack/tenancy.py)."""
        return self.is_admin(user_id) or any(user_id in r.users for r in self.rules)

    def decide(
        self, user_id: str, channel_id: str, usergroups: Iterable[str], target: Scoped | None
    ) -> Decision:
        if self.is_admin(user_id):
            return Decision(True, "admin", "admins")
        groups = set(usergroups)
        applying = [(i, r) for i, r in enumerate(self.rules) if r.applies(user_id, channel_id, groups)]
        if not applying:
            return Decision(False, f"You can't use vpncheck here. Ask {self.contact} for access.")
        if target is None:
            i, rule = applying[0]
            return Decision(True, f"allowed by {rule.label(i)}", rule.label(i))
        for i, rule in applying:
            if rule.covers(target):
                return Decision(True, f"allowed by {rule.label(i)}", rule.label(i))
        return Decision(
            False,
            f"You can't check {target.name} (subscription {target.subscription_id}, resource group "
            f"{target.resource_group}) from here. Ask {self.contact} for access.",
        )

    def alert_route(self, target: Scoped) -> Decision:
        """Where an alert on `target` is answered: the first rule with an alert channel that covers it."""
        for i, rule in enumerate(self.rules):
            if rule.alert_channel and rule.covers(target):
                return Decision(True, f"alerts routed by {rule.label(i)}", rule.label(i), rule.alert_channel)
        return Decision(
            False,
            f"no rule with an alert_channel covers {target.name} (subscription {target.subscription_id}, "
            f"resource group {target.resource_group}); ask {self.contact} to route its alerts",
        )


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> Iterable[str]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            line = key.start_mark.line + 1
            where = f"{path}.{name}".lstrip(".")
            if name in seen:
                yield f"  line {line}: {where} is already set on line {seen[name]}"
            else:
                seen[name] = line
            yield from _duplicate_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, f"{path}[{index}]")


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line (1-based) of the key or item a pydantic error location points at, as deep as it exists."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((kv for kv in node.value if getattr(kv[0], "value", None) == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _describe(exc: ValidationError, root: yaml.Node | None = None) -> str:
    lines = []
    for err in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        message = err["msg"]
        if err["type"] == "string_pattern_mismatch":
            message = f"{err['input']!r} is not a valid id here"
        if err["type"] == "extra_forbidden":
            message = "unknown field (a typo? it would otherwise be ignored)"
        line = _line_of(root, tuple(err["loc"]))
        at = f"line {line}: " if line is not None else ""
        lines.append(f"  {at}{where or '(top level)'}: {message}")
    return "\n".join(lines)
