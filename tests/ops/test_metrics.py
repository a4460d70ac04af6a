"""/metrics: Prometheus text with requests, queue depth, outbox states; only for probe addresses."""

from __future__ import annotations

from huitouke.ops.tasks import heartbeat


def test_metrics_count_requests_and_read_the_state(client, db):
    heartbeat.call_local()
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert 'huitouke_http_requests_total{method="GET",route="healthz",status="200"}' in body
    assert "huitouke_http_request_duration_seconds_bucket" in body
    assert "huitouke_queue_depth " in body
    assert "# TYPE huitouke_outbox_messages gauge" in body
    assert "huitouke_worker_heartbeat_age_seconds " in body
    assert "huitouke_jobs_total" in body


def test_metrics_are_not_for_strangers(client, db, settings):
    settings.PROBE_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 403
