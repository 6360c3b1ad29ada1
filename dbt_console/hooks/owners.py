"""Model notifications, as dbt Cloud sends them: each owner named in the project's
`groups:` (owner: {email: ...}) gets one digest per run about the nodes of their group
that failed or warned. An email hook with `owners: true` sends them; `owner_domains`
keeps a typo in a YAML file from mailing an outsider. Pure: from the run's manifest."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from dbt_console.hooks.common import trim
from dbt_console.hooks.mail import address_problems
from dbt_console.model import FAILED_NODE, WARNED_NODE, Run


@dataclass
class Digest:
    email: str
    groups: set[str] = field(default_factory=set)
    nodes: list[tuple[str, str, str | None]] = field(default_factory=list)  # uid, status, msg


def problems(hook: dict[str, Any]) -> list[str]:
    found = []
    if not isinstance(hook.get("owners", False), bool):
        found.append("owners must be true or false")
    domains = hook.get("owner_domains")
    if domains is not None and (not isinstance(domains, list) or not domains or not all(
            isinstance(d, str) and "." in d and "@" not in d for d in domains)):
        found.append("owner_domains must be a list of domains such as [acme.com]")
    return found


def _groups_of(manifest: dict[str, Any], uid: str) -> set[str]:
    """A node's group; a test's, the groups of what it tests when it has none itself."""
    node = manifest.get("nodes", {}).get(uid) or {}
    group = node.get("group") or (node.get("config") or {}).get("group")
    if group:
        return {group}
    if node.get("resource_type") == "test":
        return {g for parent in (node.get("depends_on") or {}).get("nodes", [])
                for g in _groups_of(manifest, parent) if parent != uid}
    return set()


def digests(manifest: dict[str, Any], results: list[tuple[str, str, str | None]]
            ) -> dict[str, Digest]:
    """Per owner's address, the failed or warned nodes of their groups (none: no entry)."""
    owners = {g.get("name"): ((g.get("owner") or {}).get("email"))
              for g in manifest.get("groups", {}).values()}
    out: dict[str, Digest] = {}
    for uid, status, message in results:
        if status not in FAILED_NODE and status not in WARNED_NODE:
            continue
        for group in sorted(_groups_of(manifest, uid)):
            email = owners.get(group)
            if isinstance(email, str) and not address_problems("owner", email):
                digest = out.setdefault(email.lower(), Digest(email))
                digest.groups.add(group)
                digest.nodes.append((uid, status, message))
    return out


def allowed(email: str, domains: list[str] | None) -> bool:
    return domains is None or email.rpartition("@")[2].lower() in {d.lower() for d in domains}


def body(run: Run, digest: Digest) -> dict[str, Any]:
    """One owner's email: their nodes only, and how to see the whole run."""
    failed = sum(s in FAILED_NODE for _, s, _ in digest.nodes)
    warned = len(digest.nodes) - failed
    what = ", ".join(filter(None, [f"{failed} failed" if failed else "",
                                    f"{warned} warned" if warned else ""]))
    groups = ", ".join(sorted(digest.groups))
    subject = f"[dbt-console] {run.job_name}: {what} in your group {groups} (run {run.id})"
    lines = [f"  {s} {uid}: {trim(m) or ''}" for uid, s, m in digest.nodes]
    text = (f"{subject}\n\nYou own the dbt group(s) {groups}. In run {run.id} of "
            f"{run.job_name}:\n" + "\n".join(lines)
            + f"\n\nOpen the run: dbt-console logs {run.id}\n")
    items = "".join(f"<li><b>{html.escape(s)}</b> <code>{html.escape(uid)}</code>: "
                    f"{html.escape(trim(m) or '')}</li>" for uid, s, m in digest.nodes)
    return {"to": [digest.email], "cc": [], "subject": subject, "text": text,
            "html": f"<html><body><h2>{html.escape(subject)}</h2><p>You own the dbt "
                    f"group(s) {html.escape(groups)}.</p><ul>{items}</ul><p>Open the run: "
                    f"<code>dbt-console logs {run.id}</code></p></body></html>"}
