"""The JSON API under /api/v1/: one NinjaAPI, each app contributing its router."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Huitouke API", version="1", urls_namespace="api")
