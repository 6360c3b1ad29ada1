"""Credentials written in a git URL reach git without being written anywhere else.

git is given the URL without them, and a credential helper set through the environment
(GIT_CONFIG_COUNT, git >= 2.31) hands them over for that one command. So a clone's
.git/config, git's messages and the argv `ps` shows hold no secret; only the environment
of this process and of git does, which only their owner can read.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

# The helper reads the secret from git's environment at the moment git asks for it.
HELPER = ('!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
          '"$DBT_CONSOLE_GIT_USERNAME" "$DBT_CONSOLE_GIT_PASSWORD"; }; f')


def split(url: str) -> tuple[str, dict[str, str]]:
    """(the URL git may see, the environment that gives git its credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not (parts.username or parts.password):
        return url, {}  # ssh's user@ is a login name, not a secret; keys do the rest
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host += f":{parts.port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": HELPER,
        "DBT_CONSOLE_GIT_USERNAME": unquote(parts.username or ""),
        "DBT_CONSOLE_GIT_PASSWORD": unquote(parts.password or ""),
        "GIT_TERMINAL_PROMPT": "0",  # never wait on a prompt nobody will answer
    }
