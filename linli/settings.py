"""Linli settings, read from environment variables.

Defaults make a fresh checkout run the embedded demo (SQLite under ./var).
With LINLI_MODE=production every secret must be given, or start-up fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LINLI_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


MODE = env_str("LINLI_MODE", "demo")
if MODE not in ("demo", "test", "production"):
    raise ImproperlyConfigured("LINLI_MODE must be demo, test or production")
DEMO = MODE == "demo"
PRODUCTION = MODE == "production"


def secret(name: str, demo_default: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set when LINLI_MODE=production")
    return demo_default


SECRET_KEY = secret("LINLI_SECRET_KEY", "linli-demo-secret-key-not-for-production-use-0123456789")
# 32 bytes, base64 (urlsafe or standard). Encrypts ID and phone numbers at rest.
FIELD_ENCRYPTION_KEY = secret("LINLI_FIELD_KEY", "bGlubGktZGVtby1maWVsZC1rZXktMzItYnl0ZXMhISE=")

DEBUG = env_bool("LINLI_DEBUG", False)
ALLOWED_HOSTS = [h for h in env_str("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("LINLI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",  # first: `runserver` (the demo) serves ASGI, so the dispatch console's WebSocket works
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves swagger-ui from its own static files, no CDN
    "linli.core",
    "linli.accounts",
    "linli.places",
    "linli.people",
    "linli.web",
    "linli.cases",
    "linli.notifications",
    "linli.iot",
    "linli.dispatch",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "linli.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "linli.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "linli" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linli.web.context.linli",
                "linli.notifications.context.inbox",
            ],
        },
    }
]


def database_from_url(url: str) -> dict:
    """Parse DATABASE_URL: sqlite:///path or postgres://user:pass@host:port/name."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        path = unquote(url[len("sqlite:///") :])
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path or str(VAR_DIR / "linli.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            },
        }
    if parsed.scheme in ("postgres", "postgresql"):
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        # Web requests are short OLTP queries: parallel workers and JIT cost more than they save on
        # a page of 25 rows (measured in docs/benchmarks.md). 4 MB of work_mem turns the bitmap of a word
        # search over 90 days lossy and the recheck then runs the bigram function on every case of the
        # period (2.6 s instead of 62 ms for a district). LINLI_PG_OPTIONS overrides.
        options.setdefault(
            "options", env_str("LINLI_PG_OPTIONS", "-c max_parallel_workers_per_gather=0 -c jit=off -c work_mem=16MB")
        )
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": unquote(parsed.hostname or ""),
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("LINLI_DB_CONN_MAX_AGE", 60),
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")


DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'linli.sqlite3'}")
if PRODUCTION and DATABASE_URL.startswith("sqlite") and not env_bool("LINLI_ALLOW_SQLITE", False):
    raise ImproperlyConfigured("Production mode runs on PostgreSQL: set DATABASE_URL (or LINLI_ALLOW_SQLITE=true)")
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "linli.accounts.passwords.CharacterClassValidator"},
]

# Lock an account after this many failed logins within LOGIN_LOCKOUT_MINUTES.
LOGIN_MAX_FAILURES = env_int("LINLI_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LINLI_LOGIN_LOCKOUT_MINUTES", 15)

SESSION_COOKIE_AGE = env_int("LINLI_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION and env_bool("LINLI_HTTPS", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    # nginx terminates TLS and sets X-Forwarded-Proto (deploy/nginx-linli.conf).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "linli" / "locale"]
TIME_ZONE = env_str("LINLI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "linli" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("LINLI_MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = not PRODUCTION

# Uploads: spreadsheets and GeoJSON are small; refuse anything larger.
MAX_UPLOAD_BYTES = env_int("LINLI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

# Map: no online tiles by default (government intranets). Set a tile URL template to add a base map.
MAP_TILE_URL = env_str("LINLI_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("LINLI_MAP_TILE_ATTRIBUTION", "")

API_PAGE_SIZE = env_int("LINLI_API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = 500
API_TOKEN_DAYS = env_int("LINLI_API_TOKEN_DAYS", 30)

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background and periodic jobs (deadline sweep, classifier training, notifications) run on Huey:
# in tests immediately in-process; in the demo from a SQLite queue under ./var, consumed by a thread of
# the demo process; in production from Redis (REDIS_URL) or else PostgreSQL, consumed by
# `manage.py run_huey` workers (see docs/deployment.md).
if MODE == "test":
    HUEY = {"huey_class": "huey.MemoryHuey", "name": "linli", "immediate": True}
elif REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "linli", "url": REDIS_URL, "immediate": False}
elif PRODUCTION:
    HUEY = {
        "huey_class": "huey.PostgresHuey",
        "name": "linli",
        "dsn": env_str("DATABASE_URL", ""),
        "immediate": False,
        # the tables are created by a migration, as the database owner (the app role cannot create them)
        "create_tables": False,
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "linli",
        "filename": str(VAR_DIR / "jobs.sqlite3"),
        "immediate": False,
    }
HUEY["consumer"] = {"workers": env_int("LINLI_JOB_WORKERS", 2), "worker_type": "thread"}

# Work orders
LINLI_WORK_HOURS = env_str("LINLI_WORK_HOURS", "08:30-12:00,13:30-17:30")
LINLI_MAX_PHOTO_BYTES = env_int("LINLI_MAX_PHOTO_BYTES", 8 * 1024 * 1024)
LINLI_SWEEP_MINUTES = env_int("LINLI_SWEEP_MINUTES", 5)
# Outside notification channels, by dotted path; the logging channel only writes to the log (development).
LINLI_NOTIFY_CHANNELS = [
    c for c in env_str("LINLI_NOTIFY_CHANNELS", "linli.notifications.channels.LoggingChannel").split(",") if c
]
OPEN311_JURISDICTION = env_str("LINLI_OPEN311_JURISDICTION", "linli.local")

# Devices (linli/iot): MQTT broker of the device contract (docs/devices.md); without one, devices use the
# HTTP device API only. mqtt://user:password@host:1883 (mqtts:// for TLS).
MQTT_URL = env_str("MQTT_URL", "")
LINLI_MQTT_CLIENT_ID = env_str("LINLI_MQTT_CLIENT_ID", "linli-ingest")
LINLI_INGEST_BATCH = env_int("LINLI_INGEST_BATCH", 500)

# The dispatch center (linli/dispatch): live console over WebSocket (Django Channels); an alarm nobody
# acknowledges within this many seconds goes to the shift lead, and again every interval until someone acts.
ASGI_APPLICATION = "linli.asgi.application"
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# work_mem and the time limit of the API's word searches on PostgreSQL (linli/cases/words.py search_limits)
LINLI_WORD_SEARCH_WORK_MEM = env_str("LINLI_WORD_SEARCH_WORK_MEM", "256MB")
LINLI_WORD_SEARCH_SECONDS = env_int("LINLI_WORD_SEARCH_SECONDS", 15)
LINLI_ALARM_ESCALATE_SECONDS = env_int("LINLI_ALARM_ESCALATE_SECONDS", 60)
LINLI_ALARM_REMIND_SECONDS = env_int("LINLI_ALARM_REMIND_SECONDS", 300)
# how long msg_ids are remembered for deduplication (a device that resends later is taken as new)
LINLI_DEDUPE_DAYS = env_int("LINLI_DEDUPE_DAYS", 7)
# requests per minute one device (or gateway) code may make to the HTTP device API; 0 turns the limit off
LINLI_DEVICE_API_PER_MINUTE = env_int("LINLI_DEVICE_API_PER_MINUTE", 120)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

DEMO_PASSWORD = "linli-demo"
VERSION_LABEL = _("Linli community platform")

AUTHENTICATION_BACKENDS = ["linli.accounts.backends.LockoutBackend"]

if MODE == "test":
    # Fast hashing for the test suite only; real modes keep Django's PBKDF2 default.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
