"""Load and fault test of the two topologies: API throughput and tails, kill -9, invariants.

    python bench/cluster.py [--topology pg|sqlite|both] [--clients 16] [--seconds 30]
                            [--database-url postgres://…/h_bench]
    python bench/cluster.py --short     # a quick check: 4 clients, 12 s, both topologies

pg: `huitouke cluster --web 2 --workers 2` on PostgreSQL (the database is emptied and migrated)
and a redis-server started on a free port. sqlite: `huitouke serve --workers 2` (embedded:
SQLite, 2 gunicorn processes, one worker). Concurrent clients drive the API for a bounded time
(record orders, award and redeem points, redeem coupons, create customers, list customers); half
way through, one gunicorn process and one worker get kill -9 and are restarted (by gunicorn and
the supervisor). An automation is active throughout: every paid order tags the customer, creates
a follow-up task and sends an SMS through a local Aliyun stand-in (tests/messaging/
provider_server.py, a real HTTP server that records every accepted SendSms). After the load the
workers are given time to finish (--drain seconds), then the invariants are checked and the run
exits 1 if any is broken: every answered 201 exists exactly once, no unanswered write is half
done, each account's balance equals its ledger, each coupon is used at most once, each paid
order enrolled once and acted on once (one tag, one task, one message), no message left unsent,
and no SMS accepted twice by the provider (its OutId is the message's idempotency key).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SMS_KEY, SMS_SECRET, SMS_SIGN, SMS_TEMPLATE = "LTAIbench", "bench-secret", "回头客", "SMS_700001"
BENCH_TAG, BENCH_TASK = "已付款回访", "付款后回访"
OPS = {  # weight of each operation in the mix
    "order": 50,
    "award_points": 8,
    "redeem_points": 8,
    "redeem_coupon": 8,
    "create_customer": 8,
    "list_customers": 18,
}


# --- inside the child process (django set up against the topology's database) ----------------
def seed(n_customers: int, n_coupons: int) -> dict[str, Any]:
    from decimal import Decimal

    from django.core.management import call_command

    from huitouke.accounts.models import User
    from huitouke.customers.actions import do_create_customer
    from huitouke.loyalty.coupons import do_issue_coupon
    from huitouke.loyalty.models import CouponKind, CouponTemplate

    call_command("createowner", "boss", password="bench-pass-123", verbosity=0)
    owner = User.objects.get(username="boss")
    org = owner.organisation
    assert org is not None
    from io import StringIO

    out = StringIO()
    call_command("createtoken", "boss", stdout=out)
    customers = [
        do_create_customer(organisation=org, actor=None, name=f"客户{i}", phone=f"139{i:08d}")
        for i in range(n_customers)
    ]
    template = CouponTemplate.objects.create(
        organisation=org,
        name="减5",
        kind=CouponKind.NO_THRESHOLD,
        amount=Decimal("5"),
        valid_days=30,
        per_customer_limit=None,
    )
    coupons = [
        do_issue_coupon(template, customers[i % len(customers)], actor=None)
        for i in range(n_coupons)
    ]
    from huitouke.accounts.models import Store
    from huitouke.automation.actions import do_save_rule, new_rule
    from huitouke.automation.models import Trigger
    from huitouke.messaging.models import Channel, ChannelConfig, MessageTemplate, Provider

    # The approved signature the stand-in knows; a message signs with its store's.
    Store.objects.filter(organisation=org).update(sms_signature=f"【{SMS_SIGN}】")
    ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.SMS,
        provider=Provider.ALIYUN,
        settings={
            "access_key_id": SMS_KEY,
            "access_key_secret": SMS_SECRET,
            "sign_name": SMS_SIGN,
            "endpoint": os.environ["BENCH_SMS_URL"] + "/",
            "timeout": 5,
        },
        unit_cost=Decimal("0.05"),
    )
    sms = MessageTemplate.objects.create(
        organisation=org,
        name="消费提醒",
        channel=Channel.SMS,
        body="{{ salutation }}，感谢光临",
        provider_template_code=SMS_TEMPLATE,
        sms_params=["salutation"],
    )
    do_save_rule(
        new_rule(
            org,
            name="付款后回访",
            trigger=Trigger.ORDER_PAID,
            is_marketing=False,
            is_active=True,
            quiet_start=None,
            quiet_end=None,
            actions=[
                {"type": "add_tag", "tag": BENCH_TAG},
                {"type": "create_task", "kind": "call", "title": BENCH_TASK, "due_hours": 24},
                {"type": "send_message", "channel": "sms", "template": sms.pk},
            ],
        ),
        actor=None,
    )
    return {
        "token": out.getvalue().strip(),
        "customers": [c.pk for c in customers],
        "coupons": [[c.code, c.customer_id] for c in coupons],
    }


def pending() -> dict[str, int]:
    """What the workers still have to do: scheduled enrolments, queued or sending messages."""
    from huitouke.automation.models import Enrolment, EnrolmentStatus
    from huitouke.messaging.models import Message, MessageStatus

    return {
        "enrolments_scheduled": Enrolment.objects.filter(status=EnrolmentStatus.SCHEDULED).count(),
        "messages_unsent": Message.objects.filter(
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
        ).count(),
    }


def drain(seconds: float) -> dict[str, Any]:
    """Wait (at most `seconds`) until the workers have acted on every enrolment and message."""
    started = time.monotonic()
    left = pending()
    while any(left.values()) and time.monotonic() - started < seconds:
        time.sleep(2)
        left = pending()
    return {"waited_s": round(time.monotonic() - started, 1), **left, **activity()}


def check_automation(answers: dict[str, Any]) -> dict[str, int]:
    """The order-paid rule acted once per answered order: one enrolment, tag, task, message, SMS."""
    from django.db.models import Count

    from huitouke.automation.models import Enrolment, EnrolmentStatus
    from huitouke.customers.models import Customer
    from huitouke.followups.models import FollowUpTask
    from huitouke.messaging.models import Message, MessageStatus
    from huitouke.sales.models import Order

    paid = dict(
        Order.objects.filter(external_id__startswith="bench-").values_list("pk", "customer_id")
    )
    enrolments = list(
        Enrolment.objects.filter(event_order_id__in=list(paid)).values_list(
            "pk", "event_order_id", "status", "detail"
        )
    )
    per_order: dict[int, int] = {}
    for _pk, order_id, _status, _detail in enrolments:
        per_order[order_id] = per_order.get(order_id, 0) + 1
    done = [e for e in enrolments if e[2] == EnrolmentStatus.DONE]
    task_ids = [t for e in done for t in (e[3] or {}).get("task_ids", [])]
    tasks = FollowUpTask.objects.filter(title=BENCH_TASK).count()
    messages = dict(
        Message.objects.filter(enrolment_id__in=[e[0] for e in enrolments])
        .values_list("enrolment_id")
        .annotate(n=Count("id"))
    )
    sent = dict(
        Message.objects.filter(status=MessageStatus.SENT, channel="sms").values_list(
            "idempotency_key", "pk"
        )
    )
    accepted: dict[str, int] = answers["sms_accepted"]
    tagged = set(
        Customer.tags.through.objects.filter(tag__name=BENCH_TAG).values_list(
            "customer_id", flat=True
        )
    )
    return {
        "automation_order_not_enrolled": sum(1 for o in paid if per_order.get(o, 0) == 0),
        "automation_enrolled_twice": sum(1 for n in per_order.values() if n > 1),
        "automation_not_done": len(enrolments) - len(done),
        "automation_task_not_once": sum(
            1 for e in done if len((e[3] or {}).get("task_ids", [])) != 1
        )
        + abs(tasks - len(set(task_ids))),
        "automation_message_not_once": sum(1 for e in done if messages.get(e[0], 0) != 1),
        # Care messages to customers with a phone, no quiet hours: every one goes out.
        "automation_message_not_sent": Message.objects.filter(enrolment_id__in=[e[0] for e in done])
        .exclude(status=MessageStatus.SENT)
        .count(),
        "automation_tag_missing": len({paid[e[1]] for e in done} - tagged),
        "outbox_unsent": Message.objects.filter(
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
        ).count(),
        "sms_accepted_twice": sum(1 for n in accepted.values() if n > 1),
        "sms_sent_not_accepted": sum(1 for key in sent if key not in accepted),
        "sms_accepted_not_sent": sum(1 for key in accepted if key not in sent),
    }


def activity() -> dict[str, int]:
    """What the automation did (shown beside the invariants: zero broken of nothing is no proof)."""
    from huitouke.automation.models import Enrolment, EnrolmentStatus
    from huitouke.followups.models import FollowUpTask
    from huitouke.messaging.models import Message, MessageStatus

    return {
        "enrolments_done": Enrolment.objects.filter(status=EnrolmentStatus.DONE).count(),
        "tasks": FollowUpTask.objects.filter(title=BENCH_TASK).count(),
        "sms_sent": Message.objects.filter(status=MessageStatus.SENT, channel="sms").count(),
    }


def check(answers: dict[str, Any]) -> dict[str, int]:
    """Count the broken invariants (all must be 0)."""
    from django.db.models import Count, Sum

    from huitouke.loyalty.models import Coupon, CouponStatus, LoyaltyAccount, PointsEntry
    from huitouke.messaging.models import Message
    from huitouke.sales.models import Order

    by_key = dict(
        Order.objects.filter(external_id__startswith="bench-")
        .values_list("external_id")
        .annotate(n=Count("id"))
    )
    answered = set(answers["orders_201"])
    unanswered = set(answers["orders_unanswered"])
    half_done = 0
    for order in Order.objects.filter(external_id__in=list(unanswered)).prefetch_related("lines"):
        lines = sum(line.quantity * line.unit_price for line in order.lines.all())
        if not order.lines.all() or lines != order.gross_amount:
            half_done += 1
    ledger = dict(PointsEntry.objects.values_list("customer_id").annotate(s=Sum("points")))
    redeemed_twice = sum(1 for code, n in answers["coupon_200"].items() if n > 1)
    used = set(Coupon.objects.filter(status=CouponStatus.REDEEMED).values_list("code", flat=True))
    return {
        "answered_201_missing": sum(1 for k in answered if by_key.get(k, 0) == 0),
        "orders_duplicated": sum(1 for n in by_key.values() if n > 1),
        "unanswered_half_done": half_done,
        "ledger_not_balance": sum(
            1 for a in LoyaltyAccount.objects.all() if a.balance != ledger.get(a.pk, 0)
        ),
        "coupon_redeemed_twice": redeemed_twice,
        "coupon_200_not_used": sum(1 for code in answers["coupon_200"] if code not in used),
        "outbox_duplicate_sends": Message.objects.values("idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        **check_automation(answers),
    }


def child_main(mode: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    django.setup()
    if mode == "seed":
        print(
            json.dumps(seed(int(os.environ["BENCH_CUSTOMERS"]), int(os.environ["BENCH_COUPONS"])))
        )
    elif mode == "drain":
        print(json.dumps(drain(float(os.environ["BENCH_DRAIN"]))))
    else:
        print(json.dumps(check(json.loads(sys.stdin.read()))))


# --- the driver ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def huitouke(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "huitouke", *args], env=env, text=True, check=True, **kw
    )


def in_child(mode: str, env: dict[str, str], stdin: str = "") -> Any:
    done = subprocess.run(
        [sys.executable, __file__, f"--child={mode}"],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def tree(pid: int) -> dict[int, tuple[int, str]]:
    """pid -> (ppid, cmdline) for the processes under pid."""
    procs: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            procs[int(entry)] = (ppid, cmd)
    under, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for p, (pp, cmd) in procs.items():
            if pp == parent:
                under[p] = (pp, cmd)
                todo.append(p)
    return under


class Load:
    def __init__(self, port: int, seeded: dict[str, Any], clients: int, seconds: float) -> None:
        self.port, self.seeded, self.clients, self.seconds = port, seeded, clients, seconds
        self.samples: list[tuple[str, str, float, int]] = []  # op, phase, seconds, status
        self.lock = threading.Lock()
        self.phase = "before"
        self.orders_201: list[str] = []
        self.orders_unanswered: list[str] = []
        self.coupon_200: dict[str, int] = {}
        self.coupons = list(seeded["coupons"])
        random.Random(1).shuffle(self.coupons)

    def request(self, conn: http.client.HTTPConnection, method: str, path: str, body: Any = None):
        headers = {
            "Authorization": f"Bearer {self.seeded['token']}",
            "Content-Type": "application/json",
        }
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data

    def client(self, i: int, stop_at: float) -> None:
        rng = random.Random(i)
        ops, weights = list(OPS), list(OPS.values())
        customers = self.seeded["customers"]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < stop_at:
            op = rng.choices(ops, weights)[0]
            cid = rng.choice(customers)
            key, code = "", ""
            if op == "order":
                key = f"bench-{uuid.uuid4().hex}"
                call = (
                    "POST",
                    "/api/v1/orders",
                    {
                        "customer_id": cid,
                        "external_id": key,
                        "lines": [
                            {
                                "name": "护理",
                                "quantity": 1,
                                "unit_price": f"{rng.randint(20, 500)}.00",
                            }
                        ],
                    },
                )
            elif op == "award_points":
                call = (
                    "POST",
                    f"/api/v1/customers/{cid}/points/award",
                    {"points": 10, "reason": "bench"},
                )
            elif op == "redeem_points":
                call = (
                    "POST",
                    f"/api/v1/customers/{cid}/points/redeem",
                    {"points": 5, "reason": "bench"},
                )
            elif op == "redeem_coupon":
                with self.lock:
                    if not self.coupons:
                        continue
                    # Now and then a code goes twice: the second must be refused.
                    code, owner = self.coupons.pop() if rng.random() > 0.1 else self.coupons[-1]
                call = ("POST", "/api/v1/coupons/redeem", {"code": code, "customer_id": owner})
            elif op == "create_customer":
                call = ("POST", "/api/v1/customers", {"name": f"新客{uuid.uuid4().hex[:6]}"})
            else:
                call = ("GET", f"/api/v1/customers?page={rng.randint(1, 5)}", None)
            phase = self.phase
            t0 = time.perf_counter()
            try:
                status, _ = self.request(conn, *call)
            except (OSError, http.client.HTTPException):
                status = 0  # no answer: the process died under it
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            elapsed = time.perf_counter() - t0
            with self.lock:
                self.samples.append((op, phase, elapsed, status))
                if op == "order":
                    (self.orders_201 if status == 201 else self.orders_unanswered).append(key)
                if op == "redeem_coupon" and status == 200:
                    self.coupon_200[code] = self.coupon_200.get(code, 0) + 1
        conn.close()

    def run(self, fault: Any) -> None:
        stop_at = time.monotonic() + self.seconds
        threads = [
            threading.Thread(target=self.client, args=(i, stop_at)) for i in range(self.clients)
        ]
        for t in threads:
            t.start()
        time.sleep(self.seconds / 2)
        self.phase = "faults"
        fault()
        for t in threads:
            t.join()


def summarise(load: Load) -> list[dict[str, Any]]:
    rows = []
    half = load.seconds / 2
    for phase in ("before", "faults"):
        for op in OPS:
            s = [x for x in load.samples if x[0] == op and x[1] == phase]
            ok = sorted(e for _o, _p, e, st in s if 200 <= st < 300)
            if not s:
                continue
            q = statistics.quantiles(ok, n=100) if len(ok) >= 2 else [ok[0] if ok else 0.0] * 99
            rows.append(
                {
                    "phase": phase,
                    "op": op,
                    "n": len(s),
                    "ok": len(ok),
                    "per_s": round(len(ok) / half, 1),
                    "p50_ms": round(q[49] * 1000, 1),
                    "p95_ms": round(q[94] * 1000, 1),
                    "p99_ms": round(q[98] * 1000, 1),
                    "no_answer": sum(1 for x in s if x[3] == 0),
                    "5xx": sum(1 for x in s if x[3] >= 500),
                }
            )
    return rows


def sms_standin() -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.messaging.provider_server import AliyunFakeServer

    return AliyunFakeServer(
        keys={SMS_KEY: SMS_SECRET}, sign_names={SMS_SIGN}, templates={SMS_TEMPLATE}
    ).start()


def accepted_sms(sms: Any) -> dict[str, int]:
    """OutId (the message's idempotency key) -> how many times the provider accepted it."""
    counts: dict[str, int] = {}
    for request in sms.requests:
        if request.verdict == "OK":
            key = request.query.get("OutId", "")
            counts[key] = counts.get(key, 0) + 1
    return counts


def run_topology(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    sms = sms_standin()
    work = Path(tempfile.mkdtemp(prefix=f"bench-cluster-{kind}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        HUITOUKE_DATA_DIR=str(work / "data"),
        HUITOUKE_BACKUP_DAILY="false",
        LOG_LEVEL="ERROR",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
        BENCH_CUSTOMERS=str(args.customers),
        BENCH_COUPONS=str(args.coupons),
        BENCH_SMS_URL=sms.url,
        BENCH_DRAIN=str(args.drain),
        GUNICORN_ACCESS_LOG="/dev/null",
    )
    redis = None
    keep = True  # until the checks pass
    if kind == "pg":
        env["DATABASE_URL"] = args.database_url
        rport = free_port()
        redis = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(rport),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(work),
            ],
            stdout=subprocess.DEVNULL,
        )
        env["REDIS_URL"] = f"redis://127.0.0.1:{rport}/0"
        if _migrated(env):
            huitouke(["flush", "--noinput"], env, capture_output=True)
    huitouke(["migrate", "--noinput", "-v0"], env)
    seeded = in_child("seed", env)
    port = free_port()
    cmd = (
        ["cluster", "--web", "2", "--workers", "2"] if kind == "pg" else ["serve", "--workers", "2"]
    )
    log = open(work / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "huitouke", *cmd, "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(port)
        if server.poll() is not None or not any(
            "gunicorn" in c for _p, c in tree(server.pid).values()
        ):
            # Something else answers on the port (it was taken between free_port() and the bind).
            raise SystemExit(f"the {kind} server did not start: see {work / 'server.log'}")
        load = Load(port, seeded, args.clients, args.seconds)
        killed: list[str] = []

        def fault() -> None:
            procs = tree(server.pid)
            web = [
                p
                for p, (pp, cmd) in procs.items()
                if "gunicorn" in cmd and procs.get(pp, (0, ""))[1].count("gunicorn")
            ]
            workers = [p for p, (_pp, cmd) in procs.items() if "run_huey" in cmd]
            for victim, what in ((web[:1], "web"), (workers[:1], "worker")):
                for p in victim:
                    os.kill(p, signal.SIGKILL)
                    killed.append(f"{what} {p}")

        load.run(fault)
        drained = in_child("drain", env)
        after = tree(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        orphans = [
            p
            for p in after
            if Path(f"/proc/{p}").exists()
            and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        ]
        answers = {
            "orders_201": load.orders_201,
            "orders_unanswered": load.orders_unanswered,
            "coupon_200": load.coupon_200,
            "sms_accepted": accepted_sms(sms),
        }
        broken = in_child("check", env, json.dumps(answers))
        broken["orphans_after_sigterm"] = len(orphans)
        keep = any(broken.values())
        return {
            "topology": kind,
            "killed": killed,
            "rows": summarise(load),
            "drained": drained,
            "broken": broken,
        }
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
        if redis is not None:
            redis.terminate()
            redis.wait()
        sms.stop()
        if keep:
            print(f"kept for a look: {work} (server.log)")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _migrated(env: dict[str, str]) -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "huitouke", "showmigrations", "ops"],
        env=env,
        text=True,
        capture_output=True,
    )
    return out.returncode == 0 and "[X]" in out.stdout


def _wait(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer /healthz")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", choices=["seed", "drain", "check"])
    parser.add_argument("--topology", choices=["pg", "sqlite", "both"], default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--coupons", type=int, default=2000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_bench"),
        help="PostgreSQL database for the pg topology: EMPTIED first.",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=150,
        help="seconds to wait after the load for the workers to act on every enrolment and "
        "message (the outbox is swept once a minute)",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="a quick check of the invariants: 4 clients, 12 s, 100 customers, 300 coupons",
    )
    args = parser.parse_args()
    if args.short:
        args.clients, args.seconds, args.customers, args.coupons = 4, 12, 100, 300
    if args.child:
        child_main(args.child)
        return
    results = []
    for kind in ["pg", "sqlite"] if args.topology == "both" else [args.topology]:
        result = run_topology(kind, args)
        results.append(result)
        print(
            f"\n== {kind}: {args.clients} clients, {args.seconds:.0f} s, killed {', '.join(result['killed'])}"
        )
        print(
            f"{'phase':7} {'operation':16} {'n':>6} {'ok/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'no ans':>6} {'5xx':>4}"
        )
        for r in result["rows"]:
            print(
                f"{r['phase']:7} {r['op']:16} {r['n']:6} {r['per_s']:7} {r['p50_ms']:8} {r['p95_ms']:8} {r['p99_ms']:8} {r['no_answer']:6} {r['5xx']:4}"
            )
        print("after the load:", json.dumps(result["drained"]))
        print("invariants broken:", json.dumps(result["broken"]))
    print(json.dumps({"cores": os.cpu_count(), "results": results}))
    if any(any(r["broken"].values()) for r in results):
        raise SystemExit("invariants broken")


if __name__ == "__main__":
    main()
