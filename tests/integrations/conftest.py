"""Fixtures of the integrations tests: the API tests' clients."""

from tests.api.conftest import api_as  # noqa: F401
