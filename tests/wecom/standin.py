"""A local stand-in for WeCom's server API (qyapi.weixin.qq.com/cgi-bin) for tests and bench.

A real ThreadingHTTPServer on 127.0.0.1 that checks corpid/corpsecret and access tokens,
pages with opaque cursors and answers the documented JSON shapes and error codes. Tests
can expire every token (42001 on the next call), inject busy (-1) and rate-limit (45009)
answers, and script how each customer answers a transfer (accept, refuse, wait).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.standin_http import StandInServer


@dataclass
class Contact:
    external_userid: str
    name: str
    unionid: str = ""
    gender: int = 0
    # userid → follow_info (remark, description, createtime, tag_id, remark_mobiles)
    follows: dict[str, dict[str, Any]] = field(default_factory=dict)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode()[1:])


class WeComStandIn(StandInServer):
    def __init__(self, corp_id: str = "wwstandin0001", secret: str = "contact-secret") -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.lock = threading.Lock()
        self.members: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, Contact] = {}
        self.tag_groups: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.script: deque[int] = deque()  # errcodes to answer next, in order (-1, 45009 …)
        self.paths: list[str] = []
        self.token_fetches = 0
        self.expire_after: int | None = None  # expire all tokens after this many API calls
        self.transfer_answers: dict[str, str] = {}  # external_userid → accept/refuse/wait
        self.transfers: dict[tuple[str, str, str], str] = {}  # (kind, handover, ext) → takeover
        self.marked: list[dict[str, Any]] = []
        self.msg_templates: dict[str, dict[str, Any]] = {}
        self.send_status: dict[str, int] = {}
        self.version = 0  # bumped on every change to contacts (invalidates the page cache)
        self._rows_cache: tuple[Any, list[dict[str, Any]]] = (
            None,
            [],
        )  # external_userid → get_groupmsg_send_result status
        super().__init__()

    # --- lifecycle (tests.standin_http.StandInServer) and set-up -----------------------------

    @property
    def url(self) -> str:
        return f"{self.base_url}/cgi-bin"

    def add_member(self, userid: str, name: str, mobile: str = "") -> None:
        self.members[userid] = {"userid": userid, "name": name, "mobile": mobile}

    def add_contact(
        self,
        external_userid: str,
        name: str,
        follows: dict[str, dict[str, Any]],
        *,
        unionid: str = "",
    ) -> Contact:
        contact = Contact(external_userid, name, unionid=unionid)
        for userid, info in follows.items():
            contact.follows[userid] = {
                "userid": userid,
                "remark": info.get("remark", ""),
                "description": info.get("description", ""),
                "createtime": int(info.get("createtime", 1700000000)),
                "tag_id": list(info.get("tag_id", [])),
                "remark_mobiles": list(info.get("remark_mobiles", [])),
                "add_way": 1,
                "oper_userid": userid,
            }
        self.contacts[external_userid] = contact
        self.version += 1
        return contact

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def fail_next(self, *errcodes: int) -> None:
        with self.lock:
            self.script.extend(errcodes)

    # --- HTTP --------------------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        path = split.path.removeprefix("/cgi-bin/")
        with self.lock:
            self.paths.append(path)
            answer = self._answer(path, query, body)
        self.reply_json(handler, 200, answer)

    def _answer(self, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        if self.script:
            code = self.script.popleft()
            return {"errcode": code, "errmsg": "injected"}
        if path == "gettoken":
            if query.get("corpid") != self.corp_id or query.get("corpsecret") != self.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            self.token_fetches += 1
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if query.get("access_token") not in self.tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if self.expire_after is not None:
            self.expire_after -= 1
            if self.expire_after <= 0:
                self.expire_after = None
                self.tokens.clear()
                return {"errcode": 42001, "errmsg": "access_token expired"}
        if body is None:
            return {"errcode": 47001, "errmsg": "data format error"}
        handler = getattr(self, "_" + path.replace("/", "_"), None)
        if handler is None:
            return {"errcode": 404, "errmsg": f"no such api {path}"}
        return dict(handler(query, body))

    # --- the API -----------------------------------------------------------------------------

    def _externalcontact_get_follow_user_list(self, query: Any, body: Any) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "ok", "follow_user": list(self.members)}

    def _user_get(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        member = self.members.get(query.get("userid", ""))
        if member is None:
            return {"errcode": 60111, "errmsg": "userid not found"}
        return {"errcode": 0, "errmsg": "ok", **member}

    def _external(self, contact: Contact) -> dict[str, Any]:
        data = {
            "external_userid": contact.external_userid,
            "name": contact.name,
            "type": 1,
            "gender": contact.gender,
            "avatar": "",
        }
        if contact.unionid:
            data["unionid"] = contact.unionid
        return data

    def _externalcontact_batch_get_by_user(self, query: Any, body: dict[str, Any]) -> Any:
        userids = body.get("userid_list") or []
        limit = int(body.get("limit") or 50)
        if not userids or len(userids) > 100 or not 1 <= limit <= 100:
            return {"errcode": 40058, "errmsg": "invalid userid_list or limit"}
        rows = self._rows(tuple(userids))
        start = _offset(str(body.get("cursor") or ""))
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "external_contact_list": page,
            "next_cursor": _cursor(start + limit) if more else "",
        }

    def _rows(self, userids: tuple[str, ...]) -> list[dict[str, Any]]:
        # Built once per userid_list and version, so paging 100,000 contacts stays linear.
        key = (userids, self.version)
        if self._rows_cache[0] != key:
            wanted = set(userids)
            by_user: dict[str, list[dict[str, Any]]] = {u: [] for u in userids}
            for c in self.contacts.values():
                for u in wanted.intersection(c.follows):
                    by_user[u].append(
                        {"external_contact": self._external(c), "follow_info": c.follows[u]}
                    )
            self._rows_cache = (key, [row for u in userids for row in by_user[u]])
        return self._rows_cache[1]

    def _externalcontact_get(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        contact = self.contacts.get(query.get("external_userid", ""))
        if contact is None:
            return {"errcode": 84061, "errmsg": "not external contact"}
        names = {t["id"]: (g["group_name"], t["name"]) for g in self.tag_groups for t in g["tag"]}
        follows = []
        for info in contact.follows.values():
            tags = [
                {"group_name": names[t][0], "tag_name": names[t][1], "tag_id": t, "type": 1}
                for t in info["tag_id"]
                if t in names
            ]
            follows.append({k: v for k, v in info.items() if k != "tag_id"} | {"tags": tags})
        return {
            "errcode": 0,
            "errmsg": "ok",
            "external_contact": self._external(contact),
            "follow_user": follows,
        }

    def _externalcontact_get_corp_tag_list(self, query: Any, body: Any) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "ok", "tag_group": self.tag_groups}

    def _externalcontact_mark_tag(self, query: Any, body: dict[str, Any]) -> dict[str, Any]:
        contact = self.contacts.get(str(body.get("external_userid")))
        if contact is None or body.get("userid") not in contact.follows:
            return {"errcode": 84061, "errmsg": "not external contact"}
        info = contact.follows[body["userid"]]
        tags = [t for t in info["tag_id"] if t not in (body.get("remove_tag") or [])]
        info["tag_id"] = tags + [t for t in body.get("add_tag") or [] if t not in tags]
        self.version += 1
        self.marked.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    def _transfer(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        handover, takeover = body.get("handover_userid"), body.get("takeover_userid")
        ids = body.get("external_userid") or []
        if takeover not in self.members or not 1 <= len(ids) <= 100:
            return {"errcode": 40003, "errmsg": "invalid userid"}
        customers = []
        for ext in ids:
            contact = self.contacts.get(ext)
            if contact is None or handover not in contact.follows:
                customers.append({"external_userid": ext, "errcode": 40096})
                continue
            self.transfers[(kind, str(handover), ext)] = str(takeover)
            customers.append({"external_userid": ext, "errcode": 0})
        return {"errcode": 0, "errmsg": "ok", "customer": customers}

    def _externalcontact_transfer_customer(self, query: Any, body: Any) -> dict[str, Any]:
        return self._transfer("on_job", body)

    def _externalcontact_resigned_transfer_customer(self, query: Any, body: Any) -> Any:
        return self._transfer("resigned", body)

    def _result(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        handover, takeover = str(body.get("handover_userid")), str(body.get("takeover_userid"))
        customers = []
        for (k, h, ext), t in self.transfers.items():
            if k != kind or h != handover or t != takeover:
                continue
            answer = self.transfer_answers.get(ext, "accept")
            status = {"accept": 1, "wait": 2, "refuse": 3}[answer]
            if status == 1:
                contact = self.contacts[ext]
                if handover in contact.follows:
                    info = contact.follows.pop(handover)
                    contact.follows[takeover] = {**info, "userid": takeover}
                    self.version += 1
            customers.append(
                {"external_userid": ext, "status": status, "takeover_time": 1700000500}
            )
        return {"errcode": 0, "errmsg": "ok", "customer": customers, "next_cursor": ""}

    def _externalcontact_transfer_result(self, query: Any, body: Any) -> dict[str, Any]:
        return self._result("on_job", body)

    def _externalcontact_resigned_transfer_result(self, query: Any, body: Any) -> Any:
        return self._result("resigned", body)

    def _externalcontact_add_msg_template(self, query: Any, body: dict[str, Any]) -> Any:
        sender = body.get("sender")
        ids = body.get("external_userid") or []
        if body.get("chat_type") != "single" or not (body.get("text") or {}).get("content"):
            return {"errcode": 41048, "errmsg": "invalid content"}
        fail = [e for e in ids if e not in self.contacts or sender not in self.contacts[e].follows]
        msgid = "msg" + secrets.token_hex(6)
        self.msg_templates[msgid] = {"sender": sender, "ids": [e for e in ids if e not in fail]}
        return {"errcode": 0, "errmsg": "ok", "fail_list": fail, "msgid": msgid}

    def _externalcontact_get_groupmsg_task(self, query: Any, body: dict[str, Any]) -> Any:
        task = self.msg_templates.get(str(body.get("msgid")))
        if task is None:
            return {"errcode": 41063, "errmsg": "msgid not found"}
        return {
            "errcode": 0,
            "errmsg": "ok",
            "task_list": [{"userid": task["sender"], "status": 2, "send_time": 1700000600}],
        }

    def _externalcontact_get_groupmsg_send_result(self, query: Any, body: dict[str, Any]) -> Any:
        task = self.msg_templates.get(str(body.get("msgid")))
        if task is None:
            return {"errcode": 41063, "errmsg": "msgid not found"}
        rows = [
            {
                "external_userid": e,
                "userid": task["sender"],
                "status": self.send_status.get(e, 1),
                "send_time": 1700000600,
            }
            for e in task["ids"]
        ]
        return {"errcode": 0, "errmsg": "ok", "send_list": rows}
