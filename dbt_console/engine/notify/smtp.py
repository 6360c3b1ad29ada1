"""An email hook's message, sent over SMTP with the standard library: the hook's own
smtp: or settings.toml's [smtp], TLS from the first byte (ssl) or upgraded (starttls),
verified against the system's certificates (SSL_CERT_FILE adds a private CA)."""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from dbt_console.model import Hook

NO_SERVER = ("no SMTP server: give the hook smtp: {host: ...}, or settings.toml an [smtp] "
             "section")


def server_of(hook: Hook, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The hook's own server, whole, or else the install's: never a mix of the two (the
    install's password sent to the hook's host)."""
    return dict(hook.options.get("smtp") or defaults or {})


def message(hook: Hook, server: Mapping[str, Any], parts: dict[str, Any],
            api_url: str | None = None) -> EmailMessage:
    """`parts`: the delivery's body; `api_url`: the API's root when the engine sending it
    serves one (serve --api): the run's link in it is added, as the run is known there
    only while it serves."""
    if api_url and parts.get("run_id"):
        link = f"{api_url}runs/{parts['run_id']}/"
        parts["text"] += f"In the API: {link}\n"
        parts["html"] = parts["html"].replace(
            "</body>", f"<p>In the API: <a href='{link}'>{link}</a></p></body>")
    sender = (hook.options.get("from") or server.get("from")
              or f"dbt-console@{socket.getfqdn()}")
    msg = EmailMessage()
    msg["Subject"] = parts["subject"]
    msg["From"] = sender
    msg["To"] = ", ".join(parts["to"])
    if parts.get("cc"):
        msg["Cc"] = ", ".join(parts["cc"])
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(parts["text"])
    msg.add_alternative(parts["html"], subtype="html")
    return msg


def send(hook: Hook, body: str, defaults: Mapping[str, Any], resolve: Callable[[str], str],
         timeout: float, api_url: str | None = None) -> tuple[bool, int | None, str]:
    """(delivered, the server's last code, what happened): the caller's Attempt."""
    server = server_of(hook, defaults)
    if not server.get("host"):
        return False, None, NO_SERVER
    use_ssl, starttls = bool(server.get("ssl")), server.get("starttls", not server.get("ssl"))
    host, port = server["host"], int(server.get("port") or (465 if use_ssl else
                                                             587 if starttls else 25))
    parts = json.loads(body)
    msg = message(hook, server, parts, api_url)
    recipients = parts["to"] + parts.get("cc", [])
    context = ssl.create_default_context()
    where = f"SMTP {host}:{port}"
    try:
        with (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if use_ssl
              else smtplib.SMTP(host, port, timeout=timeout)) as smtp:
            if starttls:
                smtp.starttls(context=context)
            if server.get("username"):
                smtp.login(server["username"], resolve(server.get("password") or ""))
            refused = smtp.send_message(msg, to_addrs=recipients)
    except smtplib.SMTPNotSupportedError:
        return False, None, (f"{where} does not offer STARTTLS: set starttls: false only "
                             "for a relay on this host or a trusted network")
    except smtplib.SMTPResponseException as exc:
        return False, exc.smtp_code, f"{where}: {exc.smtp_code} {_said(exc.smtp_error)}"
    except smtplib.SMTPRecipientsRefused as exc:
        return False, None, f"{where} refused every recipient: {', '.join(exc.recipients)}"
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return False, None, f"{where}: {type(exc).__name__}: {_said(str(exc))}"
    if refused:
        return True, 250, f"sent; refused: {', '.join(refused)}"
    return True, 250, f"sent to {len(recipients)} recipient(s)"


def _said(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())[:300]
