"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd on an event loop of its own, on
a free port the kernel picks): plain, STARTTLS with a self-signed certificate, and AUTH.
It keeps every message it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class SmtpServer:
    login: tuple[str, str] | None = None  # (user, password) that AUTH accepts
    cert: tuple[Path, Path] | None = None  # (certificate, key): STARTTLS, required
    received: list[Received] = field(default_factory=list)
    auth_failures: int = 0

    def start(self) -> SmtpServer:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        tls = None
        if self.cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(*map(str, self.cert))

        def protocol():
            # AUTH without TLS is what aiosmtpd warns of, rightly: here it is 127.0.0.1.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return SMTP(self, hostname="localhost", tls_context=tls, require_starttls=bool(tls),
                        authenticator=self._authenticate if self.login else None,
                        auth_required=bool(self.login), auth_require_tls=bool(tls))

        self._server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(protocol, "127.0.0.1", 0), self.loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return  # stopped already (a test stops it to be down)

        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and (auth_data.login.decode(), auth_data.password.decode()) == self.login)
        self.auth_failures += not ok
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by itself: the client trusts it
    as its own CA through SSL_CERT_FILE, as a company's private CA is trusted."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def parts(message) -> tuple[str, str]:
    """The plain-text and HTML bodies of a multipart/alternative message."""
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())
