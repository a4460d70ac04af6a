"""Fixtures of the integrations tests: the API tests' clients and fast password hashing."""

from tests.api.conftest import api_as, fast_password_hashing  # noqa: F401
