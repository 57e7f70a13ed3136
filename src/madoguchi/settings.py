"""One env-driven settings module.

Safe defaults make the demo work with no configuration at all (SQLite under ``var/``, Celery eager,
a generated secret key). Production mode (``MADOGUCHI_ENV=production``) refuses to start without a
real ``SECRET_KEY`` and ``MADOGUCHI_FIELD_KEY``.

Environment variables:
    MADOGUCHI_ENV        demo (default) | test | production
    DATABASE_URL         default sqlite:///<data dir>/madoguchi.sqlite3
    REDIS_URL            unset -> Celery tasks run eagerly in-process, cache is local memory
    MADOGUCHI_DATA_DIR   stored files (blobs, quarantine, keys); default ./var
    SECRET_KEY           generated and kept in <data dir>/secret_key for the demo
    MADOGUCHI_FIELD_KEY  Fernet key for 個人番号 at rest; generated for the demo
    ALLOWED_HOSTS        comma separated; default 127.0.0.1,localhost
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
MADOGUCHI_ENV = os.environ.get("MADOGUCHI_ENV", "demo")
if MADOGUCHI_ENV not in {"demo", "test", "production"}:
    raise ImproperlyConfigured(f"MADOGUCHI_ENV must be demo, test or production, not {MADOGUCHI_ENV!r}")
PRODUCTION = MADOGUCHI_ENV == "production"
DEMO_MODE = MADOGUCHI_ENV == "demo" or os.environ.get("MADOGUCHI_DEMO") == "1"

DATA_DIR = Path(os.environ.get("MADOGUCHI_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _demo_secret(name: str, make: Callable[[], str]) -> str:
    """A secret kept in the data dir so it survives restarts of the demo (never used in production)."""
    path = DATA_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _secret(env: str, filename: str, make: Callable[[], str]) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{env} must be set in production mode")
    return _demo_secret(filename, make)


SECRET_KEY = _secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
FIELD_ENCRYPTION_KEY = _secret("MADOGUCHI_FIELD_KEY", "field_key", lambda: Fernet.generate_key().decode())

DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "madoguchi.core",
    "madoguchi.catalog",
    "madoguchi.applications",
    "madoguchi.intake",
    "madoguchi.handoff",
    "madoguchi.staff",
    "madoguchi.identity",
    "madoguchi.payments",
    "madoguchi.portal",
    "madoguchi.counter",
    "madoguchi.reception",
    "madoguchi.nursery",
    "madoguchi.dx",
    "madoguchi.dxplan",
    "madoguchi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "madoguchi.core.middleware.JapaneseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "madoguchi.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "madoguchi.core.context_processors.platform",
                "madoguchi.identity.context.portal_identity",
                "madoguchi.portal.context.portal",
            ],
            "builtins": ["madoguchi.core.templatetags.jp"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'madoguchi.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # covering-index columns (INCLUDE) are a PostgreSQL optimisation; SQLite (demo) simply omits them
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "madoguchi.core.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager in the demo (no REDIS_URL); real broker otherwise. See STYLE.md.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "madoguchi.intake.*": {"queue": "intake"},
    "madoguchi.handoff.*": {"queue": "handoff"},
    "madoguchi.ocr.*": {"queue": "ocr"},
    "madoguchi.nursery.*": {"queue": "matching"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # re-queue stuck hand-off jobs, give up after the retry limit, create jobs missed at 承認/完了
    "handoff-sweep": {"task": "madoguchi.handoff.sweep", "schedule": 300.0, "kwargs": {"stuck_minutes": 30}},
    # a fee checkout the resident abandoned ends as 期限切れ, so a new attempt can start
    "payments-expire": {"task": "madoguchi.payments.expire_stale", "schedule": 600.0, "kwargs": {"minutes": 60}},
    "reception-reminders": {"task": "madoguchi.reception.send_reminders", "schedule": 3600.0},  # 来庁予約の前日メール
    "dx-refresh": {"task": "madoguchi.dx.refresh_all", "schedule": 3600.0},  # DX推進ダッシュボードの集計
}

AUTH_PASSWORD_VALIDATORS = (
    [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 12},
        },
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    ]
    if PRODUCTION
    else []
)
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"

LANGUAGE_CODE = "ja"
# やさしい日本語 (easy Japanese, for residents whose first language is not Japanese and for children) is a
# language of its own: its catalogue is locale/ja_X-easy; a string it lacks falls back to Japanese.
LANGUAGES = [("ja", "日本語"), ("ja-x-easy", "やさしい にほんご"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# Sessions are read from the cache (Redis in production) and written through to the database: one query
# less on every page, and nobody is logged out when the cache restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Attachments: content-addressed store under DATA_DIR/blobs
# Mail to residents (受付・お知らせ; never personal data in the body). Outside production the mails are
# written to DATA_DIR/mail: nothing leaves the machine.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("MADOGUCHI_MAIL_FROM", "no-reply@madoguchi.invalid")
# The portal's public address, for links in mails; the card-reader bridge the portal's pages talk to.
MADOGUCHI_PORTAL_URL = os.environ.get("MADOGUCHI_PORTAL_URL", "http://127.0.0.1:8000")
MADOGUCHI_JPKI_BRIDGE_URL = os.environ.get("MADOGUCHI_JPKI_BRIDGE_URL", "http://127.0.0.1:8765")

# Render a counter session's 帳票 in the background as soon as the resident signed (off under tests,
# where a thread outliving a test would hold the throwaway database open).
MADOGUCHI_COUNTER_PRERENDER = os.environ.get(
    "MADOGUCHI_COUNTER_PRERENDER", "0" if MADOGUCHI_ENV == "test" else "1"
) == "1"

MADOGUCHI_ATTACHMENT_MAX_BYTES = int(os.environ.get("MADOGUCHI_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
MADOGUCHI_ATTACHMENT_TYPES = ["application/pdf", "image/jpeg", "image/png", "image/heic", "image/tiff"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "madoguchi.core.logging.JsonFormatter"},
    },
    "filters": {"redact": {"()": "madoguchi.core.logging.RedactMyNumberFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "madoguchi.audit": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
