"""One delivery attempt: resolve the hook's secrets, sign, send, report what happened.
Secrets are read at send time (${VAR} from the environment) and never written back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dbt_console.engine.notify import smtp
from dbt_console.hooks import KINDS
from dbt_console.hooks.mail import addresses
from dbt_console.model import ENV_REF_RE, Hook

TIMEOUT_SECONDS = 10.0
RESPONSE_CHARS = 2000


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    status_code: int | None
    error: str | None
    response: str | None


class MissingSecret(Exception):
    pass


def resolve(value: str) -> str:
    ref = ENV_REF_RE.match(value)
    if not ref:
        return value
    if ref[1] not in os.environ:
        raise MissingSecret(f"${{{ref[1]}}} is not set in the engine's environment")
    return os.environ[ref[1]]


def masked_target(hook: Hook) -> str:
    """Where a hook sends, safe to show: scheme and host, never the path or a key; an
    email's recipients."""
    kind = KINDS[hook.type]
    if kind.transport == "smtp":
        return "mailto:" + ",".join(addresses(hook.options.get("to")))
    if kind.runs_program:
        return "command " + os.path.basename(str((hook.options.get("argv") or ["?"])[0]))
    url = hook.options.get("url") or kind.default_url or ""
    if ENV_REF_RE.match(url):
        return url  # a reference, not the secret
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "…"


def attempt(hook: Hook, body: str, smtp_defaults: Mapping[str, Any] | None = None,
            api_url: str | None = None) -> Attempt:
    """One try; `smtp_defaults`: settings.toml's [smtp], for email hooks without their own;
    `api_url`: the API's root when this engine serves one (an email links the run)."""
    target = masked_target(hook)
    try:
        kind = KINDS[hook.type]
        if kind.runs_program:
            return _command(hook, body)
        if kind.transport == "smtp":
            sent, code, said = smtp.send(hook, body, smtp_defaults or {}, resolve,
                                         TIMEOUT_SECONDS, api_url)
            return Attempt(sent, code, None if sent else said, said if sent else None)
        url = resolve(hook.options.get("url") or kind.default_url)
        body, extra = kind.prepare(hook, body, resolve)
        headers = {"Content-Type": "application/json", **extra}
        import httpx

        response = httpx.post(url, content=body.encode(), headers=headers,
                              timeout=TIMEOUT_SECONDS)
    except MissingSecret as exc:
        return Attempt(False, None, f"{hook.type} {target}: {exc}", None)
    except Exception as exc:  # network errors: name the kind, never the URL's secret
        return Attempt(False, None, f"POST {target} failed: {type(exc).__name__}", None)
    text = response.text[:RESPONSE_CHARS]
    if 200 <= response.status_code < 300:
        return Attempt(True, response.status_code, None, text)
    return Attempt(False, response.status_code,
                   f"POST {target} → {response.status_code}", text)


def _command(hook: Hook, body: str) -> Attempt:
    argv = [resolve(a) for a in hook.options["argv"]]
    try:
        done = subprocess.run(argv, input=body, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS * 3)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Attempt(False, None, f"{masked_target(hook)} failed: {type(exc).__name__}", None)
    output = (done.stdout + done.stderr)[:RESPONSE_CHARS]
    if done.returncode == 0:
        return Attempt(True, 0, None, output)
    return Attempt(False, done.returncode,
                   f"{masked_target(hook)} exited with code {done.returncode}", output)
