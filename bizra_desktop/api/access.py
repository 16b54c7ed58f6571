"""Who may use the local API: callers on this machine by default, and holders of the key if set.

When the server is bound to a loopback address it refuses requests that name another host: a
web page that rebinds its DNS name to 127.0.0.1 would otherwise reach it. POST bodies must be
declared JSON, which a web page cannot send to another origin without the CORS preflight this
server never grants.
"""

from __future__ import annotations

import hmac
import ipaddress
from http import HTTPStatus
from urllib.parse import urlsplit

from starlette.requests import Request

from bizra_desktop.api.errors import ApiError
from bizra_desktop.core.settings import valid_api_key


class AccessPolicy:
    def __init__(self, api_key: str) -> None:
        if not valid_api_key(api_key):
            raise ValueError("the API key must be printable ASCII without spaces")
        self.api_key = api_key  # empty: no key asked for
        self.loopback_only = True  # set by the server from the address it binds to

    def check(self, request: Request) -> None:
        """ApiError unless the request may be served: its host, its key, its body type."""
        if self.loopback_only and not _names_loopback(request.headers.get("host")):
            raise ApiError(
                HTTPStatus.FORBIDDEN,
                "this server answers requests to localhost or 127.0.0.1 only",
                code="host_not_allowed",
            )
        if self.api_key and not _has_key(request.headers.get("authorization", ""), self.api_key):
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "Incorrect API key provided: send it as 'Authorization: Bearer KEY'.",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and media_type != "application/json":
            raise ApiError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be sent as application/json"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: whoever named it meant it to be reached by that name


def _names_loopback(host_header: str | None) -> bool:
    if host_header is None:
        return True  # HTTP/1.0 without Host: no browser sends that
    try:
        name = urlsplit(f"//{host_header}").hostname
    except ValueError:  # a malformed port or bracket
        return False
    return name is not None and is_loopback(name)


def _has_key(authorization: str, api_key: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    # compare_digest: the time taken does not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode("latin-1"), api_key.encode("ascii")
    )
