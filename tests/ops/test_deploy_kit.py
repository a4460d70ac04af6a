"""The deployment kit in the repository is consistent with the code it deploys."""

from __future__ import annotations

import configparser
import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_a_migration_web_and_worker():
    services = _compose()["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    for name in ("migrate", "web", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["HUITOUKE_ENV"] == "production" and env["SECRET_KEY_FILE"].startswith(
            "/run/secrets/"
        )
    assert services["migrate"]["command"] == ["huitouke", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    # Migrations are a release step: web and worker wait for it and never migrate themselves.
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert "migrate" not in " ".join(services[name]["command"])
    assert "python:huitouke.ops.gunicorn_conf" in services["web"]["command"]
    assert services["worker"]["stop_signal"] == "SIGINT"
    assert services["db"]["healthcheck"] and services["redis"]["healthcheck"]
    # The published port is on loopback only: nginx in front terminates TLS.
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]


def test_compose_postgres_matches_the_image_pg_dump():
    # pg_dump refuses a server newer than itself: the image's client (Debian bookworm) is 15.
    assert _compose()["services"]["db"]["image"] == "postgres:15"
    assert "bookworm" in (ROOT / "Dockerfile").read_text()


def test_compose_secrets_and_volumes_are_declared():
    compose = _compose()
    assert set(compose["secrets"]) == {"secret_key", "field_keys"}
    named = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])}
    assert {n for n in named if not n.startswith(".")} <= set(compose["volumes"])


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / "systemd" / name).read_text())
    return parser


def test_systemd_units_stop_gracefully_and_never_migrate():
    web, worker = _unit("huitouke-web.service"), _unit("huitouke-worker.service")
    assert "gunicorn -c python:huitouke.ops.gunicorn_conf" in web["Service"]["ExecStart"]
    assert (
        web["Service"]["KillSignal"] == "SIGTERM"
        and web["Service"]["RestartPreventExitStatus"] == "3"
    )
    assert worker["Service"]["ExecStart"].endswith("huitouke worker")
    assert worker["Service"]["KillSignal"] == "SIGINT"
    for unit in (web, worker):
        assert unit["Service"]["EnvironmentFile"] == "/etc/huitouke/huitouke.env"
        assert "migrate" not in unit["Service"]["ExecStart"]
    timer = _unit("huitouke-backup.timer")
    assert "03:30" in timer["Timer"]["OnCalendar"]
    assert _unit("huitouke-backup.service")["Service"]["ExecStart"].endswith(
        "huitouke backup --rotate"
    )


def test_env_example_names_only_settings_the_code_reads():
    names = re.findall(r"^([A-Z_]+)=", (ROOT / "deploy" / "huitouke.env.example").read_text(), re.M)
    code = (ROOT / "src" / "huitouke" / "settings.py").read_text() + (
        ROOT / "src" / "huitouke" / "ops" / "gunicorn_conf.py"
    ).read_text()
    for name in names:
        base = name.removesuffix("_FILE")
        assert f'"{name}"' in code or f'"{base}"' in code, name


def test_gunicorn_settings_allow_long_exports_and_recycle_workers():
    conf = importlib.import_module("huitouke.ops.gunicorn_conf")
    assert conf.timeout >= 120 and conf.graceful_timeout <= 30
    assert conf.max_requests > 0 and conf.max_requests_jitter > 0
    assert conf.forwarded_allow_ips == "127.0.0.1,::1"
    assert "huitouke.ops.gunicorn_conf" in (ROOT / "gunicorn.conf.py").read_text()


def test_nginx_example_terminates_tls_and_keeps_probes_internal():
    conf = (ROOT / "deploy" / "nginx" / "huitouke.conf").read_text()
    proxy = (ROOT / "deploy" / "nginx" / "huitouke_proxy.conf").read_text()
    assert "listen 443 ssl" in conf and "ssl_certificate " in conf and "return 301 https://" in conf
    assert re.search(r"location ~ \^/\(readyz\|metrics\)\$ \{[^}]*deny all;", conf)
    assert "X-Forwarded-Proto $scheme" in proxy and "X-Request-ID $request_id" in proxy
