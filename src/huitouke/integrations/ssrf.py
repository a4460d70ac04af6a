"""Webhook URLs may only reach public addresses: checked when saved and again at connect time.

An organisation's endpoint URL is fetched by the server, so without this check a URL could make
Huitouke POST into its own network (127.0.0.1, 10.x, 169.254.169.254 metadata, ...). The name is
resolved when the endpoint is saved (a clear form error), and the address actually connected to
is checked on every delivery (a name that later resolves elsewhere, DNS rebinding, is caught
there). Redirects are not followed. settings.WEBHOOK_ALLOW_PRIVATE and WEBHOOK_ALLOWED_NETWORKS
open the door for an on-premises receiver (and for the tests' local one).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class BlockedAddress(OSError):
    """The receiver's address is not public and not allowed by the settings."""


def _allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return True
    if any(ip in ipaddress.ip_network(n) for n in settings.WEBHOOK_ALLOWED_NETWORKS):
        return True
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> None:
    """A ValidationError unless the URL is http(s) and every address of its host is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": _("Enter an http:// or https:// address.")})
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return  # every address is allowed: nothing to look up
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(
            {"url": _("The receiver's name “%(host)s” was not found.") % {"host": parts.hostname}}
        ) from exc
    if not infos or not all(_allowed(str(info[4][0])) for info in infos):
        raise ValidationError(
            {
                "url": _(
                    "The receiver must be on the internet: “%(host)s” is a local or private "
                    "address."
                )
                % {"host": parts.hostname}
            }
        )


def _check_peer(sock: socket.socket) -> None:
    address = str(sock.getpeername()[0])
    if not _allowed(address):
        sock.close()
        raise BlockedAddress(f"blocked address {address}: not public")


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self.sock)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        # The plain TCP connection is checked before any TLS byte is sent.
        self.sock = socket.create_connection((self.host, self.port), self.timeout)
        _check_peer(self.sock)
        # No proxy (the opener has none), so no tunnel: TLS straight to the host.
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self.host
        )


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer (a failure), not a place to go


def opener() -> urllib.request.OpenerDirector:
    """An opener that connects only to allowed addresses, without proxies or redirects."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _HTTPHandler, _HTTPSHandler, _NoRedirects
    )
