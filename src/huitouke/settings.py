"""Django settings, read from environment variables with embedded defaults that just work.

Embedded (default): SQLite in WAL mode and Huey on SQLite under HUITOUKE_DATA_DIR (./var).
Cluster: DATABASE_URL=postgres://..., REDIS_URL=redis://... .
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_secret(name: str) -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for Docker/K8s secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.environ.get(name, "")


DATA_DIR = Path(env("HUITOUKE_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # An embedded install gets a random key generated once into the data dir, so sessions survive
    # restarts without anyone having to configure anything.
    if key := env_secret("SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _field_keys() -> list[str]:
    # Keys for secrets stored in the database (channel passwords, API secrets), newest first:
    # HUITOUKE_FIELD_KEYS="new,old" rotates (see docs/security.md). Embedded installs get one
    # generated into the data dir, like the secret key.
    if keys := env_secret("HUITOUKE_FIELD_KEYS"):
        return [k.strip() for k in keys.split(",") if k.strip()]
    key_file = DATA_DIR / "field_key"
    if not key_file.exists():
        key_file.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


FIELD_ENCRYPTION_KEYS = _field_keys()
DEBUG = env_bool("DEBUG", False)
# Django's test client's "testserver" only outside production.
_DEFAULT_HOSTS = "127.0.0.1,localhost" + (
    "" if env("HUITOUKE_ENV") == "production" else ",testserver"
)
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", _DEFAULT_HOSTS).split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "template_partials",
    "axes",
    "huey.contrib.djhuey",
    "huitouke.accounts",
    "huitouke.audit",
    "huitouke.customers",
    "huitouke.sales",
    "huitouke.loyalty",
    "huitouke.analytics",
    "huitouke.segments",
    "huitouke.messaging",
    "huitouke.automation",
    "huitouke.followups",
    "huitouke.imports",
    "huitouke.members",
    "huitouke.ops",
    "huitouke.integrations",
    "huitouke.wecom",
    "huitouke.web",
]

MIDDLEWARE = [
    "huitouke.ops.logs.RequestIdMiddleware",
    "huitouke.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "huitouke.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "huitouke.accounts.language.UserLanguageMiddleware",
    "huitouke.integrations.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "huitouke.members.middleware.MemberIsolationMiddleware",
]

ROOT_URLCONF = "huitouke.urls"
WSGI_APPLICATION = "huitouke.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huitouke.web.context.navigation",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "huitouke.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=env_int("CONN_MAX_AGE", 0)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers never both read-then-write the same
    # rows (select_for_update is a no-op on SQLite); WAL lets readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# From this many customers on, the analytics refresh reads the embedded SQLite database with the
# Arrow reader in a child process (analytics/sqlite_arrow.py): it pays for its ~0.3 s start.
ANALYTICS_CHILD_READER_MIN_CUSTOMERS = env_int("ANALYTICS_CHILD_READER_MIN_CUSTOMERS", 20_000)
# From this many customers on (0: every shop), the refresh writes its customer and due rows on
# PostgreSQL by COPY and one upsert instead of executemany (analytics/jobs.py `_bulk_writes`).
ANALYTICS_COPY_MIN_CUSTOMERS = env_int("ANALYTICS_COPY_MIN_CUSTOMERS", 0)

# --- cache and background jobs ------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "huitouke",
        "url": REDIS_URL,
        "immediate": False,
        "results": False,  # nothing reads task results; stored, they would only pile up
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "huitouke",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": env_bool("HUEY_IMMEDIATE", False),
        "results": False,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }

# --- backups and health (huitouke.ops) ----------------------------------------------------------
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
BACKUP_DIR = Path(env("HUITOUKE_BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
BACKUP_DAILY = env_bool("HUITOUKE_BACKUP_DAILY", EMBEDDED)  # a chain backs up its PostgreSQL itself
BACKUP_HOUR_UTC = env_int("HUITOUKE_BACKUP_HOUR_UTC", 19)  # 03:30 in China
BACKUP_KEEP_DAILY = env_int("HUITOUKE_BACKUP_KEEP_DAILY", 7)
BACKUP_KEEP_WEEKLY = env_int("HUITOUKE_BACKUP_KEEP_WEEKLY", 4)
BACKUP_KEEP_MONTHLY = env_int("HUITOUKE_BACKUP_KEEP_MONTHLY", 12)
# Finished exports stay downloadable this many days; the daily clean-up removes older files.
EXPORT_KEEP_DAYS = env_int("HUITOUKE_EXPORT_KEEP_DAYS", 7)
BACKUP_WARN_AFTER_DAYS = env_int("HUITOUKE_BACKUP_WARN_AFTER_DAYS", 2)
HEARTBEAT_MAX_AGE = env_int("HUITOUKE_HEARTBEAT_MAX_AGE", 180)  # seconds before /readyz fails
# Who may read /readyz and /metrics (networks, comma-separated).
_PROBE_DEFAULT = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
PROBE_IPS = [n.strip() for n in env("HUITOUKE_PROBE_IPS", _PROBE_DEFAULT).split(",") if n.strip()]
for _net in PROBE_IPS:
    try:
        ipaddress.ip_network(_net)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"HUITOUKE_PROBE_IPS: {_net!r} is not a network") from _exc
# How long a retry waits for the first request with the same Idempotency-Key before a 409.
IDEMPOTENCY_WAIT_SECONDS = env_int("IDEMPOTENCY_WAIT_SECONDS", 10)
# Change feeds hold back rows changed this recently (a slow transaction may still commit them).
FEED_SETTLE_SECONDS = env_int("FEED_SETTLE_SECONDS", 2)
# A webhook endpoint failing this many deliveries in a row is switched off (owners are told).
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 20)
# Webhook receivers must be public addresses (no loopback, private, link-local: the server's own
# network is not for the organisations' URLs to reach). Allow some networks (an on-premises till,
# e.g. "192.168.1.0/24"), or all of them with HUITOUKE_WEBHOOK_ALLOW_PRIVATE (the tests' receiver).
WEBHOOK_ALLOW_PRIVATE = env_bool("HUITOUKE_WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_ALLOWED_NETWORKS = [
    n.strip() for n in env("HUITOUKE_WEBHOOK_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
for _net in WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_net)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"HUITOUKE_WEBHOOK_ALLOWED_NETWORKS: {_net!r} is not a network"
        ) from _exc

# --- auth -----------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "email", "phone")},
    },
    {"NAME": "huitouke.accounts.passwords.NotContainingUsernameValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours: a locked-out login opens again after 15 minutes
# Per (username, IP) and per IP across usernames: spraying one password over many accounts
# from one address locks that address too.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# Behind the documented TLS proxy: its addresses (prefixes, comma-separated). Only requests from
# them have their X-Forwarded-For believed (audit.actions.client_ip, used by axes as well).
TRUSTED_PROXIES = [p.strip() for p in env("TRUSTED_PROXIES").split(",") if p.strip()]
AXES_CLIENT_IP_CALLABLE = "huitouke.audit.actions.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- member centre (members app): SMS sign-in codes and sessions -----------------------------------
MEMBER_SESSION_DAYS = env_int("MEMBER_SESSION_DAYS", 30)
MEMBER_CODE_TTL_SECONDS = env_int("MEMBER_CODE_TTL_SECONDS", 300)
MEMBER_CODE_MAX_ATTEMPTS = env_int("MEMBER_CODE_MAX_ATTEMPTS", 5)
MEMBER_CODES_PER_PHONE_MINUTE = env_int("MEMBER_CODES_PER_PHONE_MINUTE", 1)
MEMBER_CODES_PER_PHONE_DAY = env_int("MEMBER_CODES_PER_PHONE_DAY", 10)
MEMBER_CODES_PER_IP_HOUR = env_int("MEMBER_CODES_PER_IP_HOUR", 20)
# The member code at the till (QR + number) is refused this many seconds after it was shown.
MEMBER_PASS_MAX_AGE_SECONDS = env_int("MEMBER_PASS_MAX_AGE_SECONDS", 120)

# --- i18n -------------------------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static files -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end libraries (htmx, ECharts) are installed from npm into node_modules at setup time and
# served from there; nothing vendored into the repository.
NODE_MODULES = Path(env("HUITOUKE_NODE_MODULES", str(BASE_DIR.parent.parent / "node_modules")))
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/weui", NODE_MODULES / "weui" / "dist" / "style"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env("HUITOUKE_ENV") == "production"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- security (production: HUITOUKE_ENV=production) ----------------------------------------------------
PRODUCTION = env("HUITOUKE_ENV") == "production"
SESSION_COOKIE_HTTPONLY = True
# Load balancers and Prometheus probe over plain HTTP (the redirect applies only in production).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when HUITOUKE_ENV=production")
    if not env_secret("SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")

# Mail the application itself sends (password reset links); shops' own mail goes through their
# channel settings. No EMAIL_HOST: mail is printed to the log (embedded installs).
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "huitouke@localhost")

X_FRAME_OPTIONS = "DENY"
# Scripts only from our static files (see web/middleware.py); charts draw on canvas, images are
# ours or data: URLs (ECharts' saved images).
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
PERMISSIONS_POLICY = env(
    "PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
)
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOG_FORMAT = env("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "huitouke.ops.logs.RequestIdFilter"}},
    "formatters": {
        # One JSON object a line for a log collector, with the request id (python-json-logger).
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

# Shown in the UI as the product name.
PRODUCT_NAME = _("Huitouke")
