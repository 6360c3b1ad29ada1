"""Email: a message to `to` (and `cc`) through an SMTP server, the hook's own `smtp:` or
settings.toml's [smtp]. The body holds the message (subject, plain text, HTML) and its
recipients; the server and its credentials are read when it is sent (send.py), so a
password is never stored: it is always ${VAR}, from the engine's environment."""

from __future__ import annotations

import html
from email.headerregistry import Address
from typing import Any

from dbt_console.hooks.common import trim
from dbt_console.hooks.kind import Alert, HookKind, Notice
from dbt_console.model import ENV_REF_RE, Hook

SMTP_FIELDS = {"host", "port", "starttls", "ssl", "username", "password", "from"}
FAILED_SHOWN = 20
OUTCOME = {"succeeded": "succeeded", "warned": "succeeded with warnings",
           "errored": "failed", "cancelled": "was cancelled", "started": "started"}
ALERT_WORDS = {"late": "is late", "slow": "is running slow", "missed": "missed a scheduled run"}


def addresses(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def address_problems(key: str, value: Any) -> list[str]:
    """`to`, `cc` or `from`: one address or a list of them, each user@domain."""
    if not addresses(value) or not all(isinstance(a, str) for a in addresses(value)):
        return [f"{key} must be an email address or a list of them"]
    problems = []
    for text in addresses(value):
        try:
            address = Address(addr_spec=text)
        except (ValueError, IndexError):
            address = None
        if address is None or not address.username or "." not in address.domain:
            problems.append(f"{key}: {text[:80]!r} is not an email address (user@domain)")
    return problems


def smtp_problems(spec: Any, where: str = "smtp") -> list[str]:
    """An SMTP server's settings: a hook's smtp: or settings.toml's [smtp]."""
    if not isinstance(spec, dict):
        return [f"{where} must be a mapping: {{host, port, starttls, ssl, username, "
                "password}"]
    problems = [f"{where}: unknown field {key!r} (known: {', '.join(sorted(SMTP_FIELDS))})"
                for key in sorted(set(spec) - SMTP_FIELDS)]
    if not isinstance(spec.get("host"), str) or not spec.get("host", "").strip():
        problems.append(f"{where}.host must name the SMTP server")
    port = spec.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(f"{where}.port must be a port number from 1 to 65535, got {port!r}")
    for key in ("starttls", "ssl"):
        if not isinstance(spec.get(key, False), bool):
            problems.append(f"{where}.{key} must be true or false")
    if spec.get("starttls") and spec.get("ssl"):
        problems.append(f"{where}: starttls and ssl exclude each other (ssl: TLS from the "
                        "first byte, port 465; starttls: upgraded, port 587)")
    password = spec.get("password")
    if password is not None and not (isinstance(password, str) and ENV_REF_RE.match(password)):
        problems.append(f"{where}.password must be ${{VAR}}, read from the engine's "
                        "environment: a password is never written in a file")
    if password is not None and not spec.get("username"):
        problems.append(f"{where}: a password needs a username")
    if "from" in spec:
        problems += address_problems(f"{where}.from", spec["from"])
    return problems


def problems(hook: dict[str, Any]) -> list[str]:
    """What check_hook cannot know of an email hook."""
    found = address_problems("to", hook["to"]) if "to" in hook else []
    if "cc" in hook:
        found += address_problems("cc", hook["cc"])
    if "from" in hook:
        found += address_problems("from", hook["from"])
    if "smtp" in hook:
        found += smtp_problems(hook["smtp"])
    return found


def _failed_lines(failed) -> list[tuple[str, str, str]]:
    return [(status, uid, trim(message) or "") for uid, status, message in
            failed[:FAILED_SHOWN]]


def body(hook: Hook, index: int, notice: Notice) -> dict[str, Any]:
    run = notice.run
    subject = f"[dbt-console] {run.job_name} {OUTCOME[notice.event]} (run {run.id})"
    facts = [("Job", run.job_name), ("Status", run.status.value),
             ("Duration", "-" if run.duration is None else f"{run.duration:.0f} s"),
             ("Trigger", f"{run.trigger} by {run.actor}"),
             ("Nodes", ", ".join(f"{n} {s}" for s, n in sorted(notice.counts.items()))
              or "none"),
             ("Git", f"{run.git_sha[:12]} on {run.git_branch or 'the job branch'}"
              if run.git_sha else "-")]
    failed = _failed_lines(notice.failed)
    more = len(notice.failed) - len(failed)
    open_it = f"dbt-console logs {run.id}"
    text = [subject, *([notice.note] if notice.note else []), ""]
    text += [f"{k}: {v}" for k, v in facts]
    if run.error:
        text += ["", f"Why: {trim(run.error)}"]
    if failed:
        text += ["", "Failed nodes:"] + [f"  {s} {u}: {m}" for s, u, m in failed]
        text += [f"  and {more} more"] if more > 0 else []
    if notice.log_tail:
        text += ["", "The log's last lines:"] + [f"  {line}" for line in notice.log_tail]
    text += ["", f"Open the run: {open_it}"]
    return {"run_id": run.id, "to": addresses(hook.options["to"]),
            "cc": addresses(hook.options.get("cc")),
            "subject": subject, "text": "\n".join(text) + "\n",
            "html": _html(subject, notice, facts, failed, more, open_it)}


def _html(subject, notice: Notice, facts, failed, more, open_it) -> str:
    e, error, tail = html.escape, notice.run.error, notice.log_tail
    rows = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    parts = [f"<h2>{e(subject)}</h2>", f"<p><b>{e(notice.note)}</b></p>" if notice.note
             else "", f"<table>{rows}</table>"]
    if error:
        parts.append(f"<p><b>Why:</b> {e(trim(error))}</p>")
    if failed:
        items = "".join(f"<li><b>{e(s)}</b> <code>{e(u)}</code>: {e(m)}</li>"
                        for s, u, m in failed)
        parts.append(f"<h3>Failed nodes</h3><ul>{items}</ul>"
                     + (f"<p>and {more} more</p>" if more > 0 else ""))
    if tail:
        parts.append("<h3>The log's last lines</h3><pre>" + e("\n".join(tail)) + "</pre>")
    parts.append(f"<p>Open the run: <code>{e(open_it)}</code></p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def alert_body(hook: Hook, index: int, alert: Alert) -> dict[str, Any]:
    subject = f"[dbt-console] {alert.job_name} {ALERT_WORDS[alert.event]}"
    hint = f"dbt-console logs {alert.run_id}" if alert.run_id else "dbt-console status"
    text = f"{subject}\n\n{alert.detail}\n\n{hint}\n"
    return {"to": addresses(hook.options["to"]), "cc": addresses(hook.options.get("cc")),
            "subject": subject, "text": text,
            "html": f"<html><body><h2>{html.escape(subject)}</h2><p>"
                    f"{html.escape(alert.detail)}</p><p><code>{html.escape(hint)}</code>"
                    "</p></body></html>"}


def _all_problems(hook: dict[str, Any]) -> list[str]:
    from dbt_console.hooks import owners  # (owners.py reads this module's addresses)

    return problems(hook) + owners.problems(hook)


KIND = HookKind("email", frozenset({"to"}),
                frozenset({"cc", "from", "smtp", "events", "name", "owners", "owner_domains"}),
                (), body, alert_body, transport="smtp", problems=_all_problems)
