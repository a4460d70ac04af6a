"""A urllib client for WeCom's server API (qyapi.weixin.qq.com/cgi-bin), written like the SMS
transports: no SDK, one typed error, every call logged without its secrets.

The access token is cached (in memory and, through a TokenStore, encrypted on the connection)
until shortly before `expires_in`; an answer saying it is invalid or expired (40014, 42001,
42009) fetches a new one and repeats the call once. System busy (-1) and rate limits (45009,
45033) are retried with exponential back-off.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger("huitouke.wecom")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin"
TOKEN_ERRORS = frozenset({40014, 42001, 42009})
RETRY_ERRORS = frozenset({-1, 45009, 45033})
# Refresh a little before WeCom's expiry so a token never dies between check and use.
EXPIRY_MARGIN_SECONDS = 300


class WeComError(Exception):
    """WeCom answered an error code (or could not be reached: errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str, *, path: str) -> None:
        super().__init__(f"{path}: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class TokenStore(Protocol):
    def load(self) -> tuple[str, float]:
        """The cached token and its expiry (epoch seconds); ("", 0) when none."""
        ...

    def save(self, token: str, expires_at: float) -> None: ...


class MemoryTokenStore:
    def __init__(self) -> None:
        self.token, self.expires_at = "", 0.0

    def load(self) -> tuple[str, float]:
        return self.token, self.expires_at

    def save(self, token: str, expires_at: float) -> None:
        self.token, self.expires_at = token, expires_at


def base_url() -> str:
    return str(getattr(settings, "WECOM_API_BASE", "") or DEFAULT_BASE_URL).rstrip("/")


class WeComClient:
    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        url: str | None = None,
        store: TokenStore | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.corp_id = corp_id
        self._secret = secret
        self.url = (url or base_url()).rstrip("/")
        self.store = store or MemoryTokenStore()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.calls = 0
        self._token, self._expires_at = self.store.load()

    # --- transport -------------------------------------------------------------------------

    def _http(
        self, method: str, path: str, params: dict[str, str], body: Any
    ) -> dict[str, Any] | None:
        """One HTTP exchange; None when the network or the answer failed (retried as -1)."""
        query = urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"{self.url}/{path}?{query}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            with error:
                error.read()
            return None
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            return None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    def _exchange(
        self, method: str, path: str, params: dict[str, str], body: Any
    ) -> dict[str, Any]:
        """Call with retries on busy / rate limit / network; raises WeComError on other codes."""
        attempt = 0
        while True:
            started = time.monotonic()
            answer = self._http(method, path, params, body)
            errcode = -1 if answer is None else int(answer.get("errcode", 0) or 0)
            # The log names the path and the outcome only: never the query (access_token,
            # corpsecret) nor the body (customers' data).
            logger.info(
                "wecom %s %s errcode=%s attempt=%s ms=%d",
                method,
                path,
                errcode,
                attempt + 1,
                (time.monotonic() - started) * 1000,
            )
            if errcode in RETRY_ERRORS and attempt < self.retries:
                self.sleep(self.backoff * 2**attempt)
                attempt += 1
                continue
            if answer is None:
                raise WeComError(None, "no answer", path=path)
            if errcode != 0:
                raise WeComError(errcode, str(answer.get("errmsg", "")), path=path)
            return answer

    def access_token(self, *, force: bool = False) -> str:
        if not force and self._token and self.clock() < self._expires_at:
            return self._token
        answer = self._exchange(
            "GET", "gettoken", {"corpid": self.corp_id, "corpsecret": self._secret}, None
        )
        token = str(answer.get("access_token", ""))
        expires_in = int(answer.get("expires_in", 7200) or 7200)
        self._token = token
        self._expires_at = self.clock() + max(expires_in - EXPIRY_MARGIN_SECONDS, 60)
        self.store.save(token, self._expires_at)
        return token

    def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """One API call with the access token; an expired token is refreshed once."""
        for refreshed in (False, True):
            query = {**(params or {}), "access_token": self.access_token(force=refreshed)}
            try:
                return self._exchange(method, path, query, body)
            except WeComError as error:
                if error.errcode in TOKEN_ERRORS and not refreshed:
                    continue
                raise
        raise AssertionError("unreachable")

    # --- the endpoints Huitouke uses -------------------------------------------------------

    def follow_users(self) -> list[str]:
        return list(self.call("GET", "externalcontact/get_follow_user_list").get("follow_user", []))

    def user(self, userid: str) -> dict[str, Any]:
        return self.call("GET", "user/get", params={"userid": userid})

    def contacts_by_user(
        self, userids: list[str], *, limit: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of external_contact_list for up to 100 follow users, following next_cursor."""
        cursor = ""
        while True:
            answer = self.call(
                "POST",
                "externalcontact/batch/get_by_user",
                body={"userid_list": userids, "cursor": cursor, "limit": limit},
            )
            yield list(answer.get("external_contact_list", []))
            cursor = str(answer.get("next_cursor", "") or "")
            if not cursor:
                return

    def contact(self, external_userid: str) -> dict[str, Any]:
        """externalcontact/get, with every page of follow_user merged."""
        cursor, follows = "", []
        while True:
            params = {"external_userid": external_userid}
            if cursor:
                params["cursor"] = cursor
            answer = self.call("GET", "externalcontact/get", params=params)
            follows.extend(answer.get("follow_user", []))
            cursor = str(answer.get("next_cursor", "") or "")
            if not cursor:
                answer["follow_user"] = follows
                return answer

    def corp_tags(self) -> list[dict[str, Any]]:
        answer = self.call("POST", "externalcontact/get_corp_tag_list", body={})
        return list(answer.get("tag_group", []))

    def mark_tag(
        self, userid: str, external_userid: str, *, add: list[str], remove: list[str]
    ) -> None:
        self.call(
            "POST",
            "externalcontact/mark_tag",
            body={
                "userid": userid,
                "external_userid": external_userid,
                "add_tag": add,
                "remove_tag": remove,
            },
        )

    def transfer(
        self, handover: str, takeover: str, external_userids: list[str], *, resigned: bool
    ) -> dict[str, int]:
        """Start 在职 or 离职 inheritance; per external_userid the errcode WeCom gave it."""
        path = (
            "externalcontact/resigned/transfer_customer"
            if resigned
            else "externalcontact/transfer_customer"
        )
        answer = self.call(
            "POST",
            path,
            body={
                "handover_userid": handover,
                "takeover_userid": takeover,
                "external_userid": external_userids,
            },
        )
        return {
            str(c.get("external_userid")): int(c.get("errcode", 0) or 0)
            for c in answer.get("customer", [])
        }

    def transfer_result(self, handover: str, takeover: str, *, resigned: bool) -> dict[str, int]:
        """external_userid → status (1 moved, 2 waiting, 3 refused, 4 over the limit, 5 none)."""
        path = (
            "externalcontact/resigned/transfer_result"
            if resigned
            else "externalcontact/transfer_result"
        )
        cursor, result = "", {}
        while True:
            answer = self.call(
                "POST",
                path,
                body={"handover_userid": handover, "takeover_userid": takeover, "cursor": cursor},
            )
            for c in answer.get("customer", []):
                result[str(c.get("external_userid"))] = int(c.get("status", 0) or 0)
            cursor = str(answer.get("next_cursor", "") or "")
            if not cursor:
                return result

    def add_msg_template(self, sender: str, external_userids: list[str], text: str) -> str:
        return self.create_msg_task(sender, external_userids, text)[0]

    def create_msg_task(
        self, sender: str, external_userids: list[str], text: str
    ) -> tuple[str, list[str]]:
        """A 群发 task (chat_type single) for `sender` to confirm: its msgid and fail_list (the
        external_userids WeCom would not take: not her contacts, or over their receive limit)."""
        answer = self.call(
            "POST",
            "externalcontact/add_msg_template",
            body={
                "chat_type": "single",
                "external_userid": external_userids,
                "sender": sender,
                "text": {"content": text},
            },
        )
        return str(answer.get("msgid", "")), [str(e) for e in answer.get("fail_list") or []]

    def groupmsg_send_result(self, msgid: str, userid: str) -> list[dict[str, Any]]:
        cursor, rows = "", []
        while True:
            answer = self.call(
                "POST",
                "externalcontact/get_groupmsg_send_result",
                body={"msgid": msgid, "userid": userid, "limit": 1000, "cursor": cursor},
            )
            rows.extend(answer.get("send_list", []))
            cursor = str(answer.get("next_cursor", "") or "")
            if not cursor:
                return rows
