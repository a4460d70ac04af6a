"""gunicorn settings for Huitouke (`gunicorn -c python:huitouke.ops.gunicorn_conf huitouke.wsgi`).

Every value can be overridden from the environment, as the systemd units and docker-compose do.
"""

from __future__ import annotations

import os
import sys
from typing import Any

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Synchronous exports of a large shop take more than gunicorn's 30 s default.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so a slow leak never grows; jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Trust X-Forwarded-* only from the reverse proxy (nginx on the same host by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # heartbeat files off a slow disk


def on_starting(server: Any) -> None:
    """Refuse to serve a database whose migrations are not all applied (a release step)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()
    from huitouke.ops.launch import migration_problem

    if problem := migration_problem():
        sys.stderr.write(problem + "\n")
        sys.exit(3)
