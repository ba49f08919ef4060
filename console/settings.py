"""Settings, all from the environment (see .env.example), with embedded defaults:
SQLite and a filesystem Celery broker under var/, nothing to install or run by hand."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from console.localkeys import read_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SLUICE_VAR_DIR", BASE_DIR / "var"))
DATA_DIR = Path(os.environ.get("SLUICE_DATA_DIR", BASE_DIR / "data"))
# The Local files connector reads the same variables (it is Django-free).
os.environ.setdefault("SLUICE_DATA_DIR", str(DATA_DIR))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
_local_keys = read_keys()
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_keys.get("SECRET_KEY", "")
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or _local_keys.get("FIELD_ENCRYPTION_KEY", "")
if not (SECRET_KEY and FIELD_ENCRYPTION_KEY):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY and FIELD_ENCRYPTION_KEY are not set. Run ./sluice once to generate them into "
            "var/keys.env, or set both in the environment (see .env.example)."
        )
    SECRET_KEY = SECRET_KEY or "debug-only-insecure-key"
# Several keys, comma-separated, while rotating: the first encrypts, every one decrypts
# (connections/crypto.py; `manage.py rotate_encryption_key`).
FIELD_ENCRYPTION_KEY = [k.strip() for k in FIELD_ENCRYPTION_KEY.split(",") if k.strip()]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "encrypted_model_fields",
    "console",
    "accounts",
    "connections",
    "flows",
    "demo_saas",
    "api",
    "audit",
    "signin",
    "drf_spectacular_sidecar",  # Swagger UI's files, for the API reference page
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "audit.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Every page's permission check, by URL name (accounts/access.py).
    "accounts.middleware.AccessMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "accounts.context.permissions",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sluice.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", 60)),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the workers write at once: WAL lets readers go on while one writes,
    # IMMEDIATE takes the write lock up front instead of failing half way with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, DEBUG) whitenoise serves from the finders instead.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Behind HTTPS (production), `check --deploy` is clean with SLUICE_HTTPS=true.
if env_bool("SLUICE_HTTPS"):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sessions end after SLUICE_SESSION_IDLE_SECONDS without a request (default 8 h); requests push
# the end back (sliding, console/security.py). Every response carries the Content-Security-Policy.
from console.security import CONTENT_SECURITY_POLICY, idle_seconds  # noqa: E402

SESSION_COOKIE_AGE = idle_seconds(os.environ.get("SLUICE_SESSION_IDLE_SECONDS"))
SLUICE_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY
MIDDLEWARE = [*MIDDLEWARE, "console.security.SlidingSessionMiddleware",
              "console.security.ContentSecurityPolicyMiddleware",
              "console.security.EncryptionKeyErrorMiddleware"]

# Celery. The embedded default broker is kombu's filesystem transport under var/broker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "broker" / "queue"
    _control = VAR_DIR / "broker" / "control"
    for _folder in (_queue, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(_control),
        # The worker looks for new messages this often (kombu's default is 1 s, which a run
        # started from the page waited for); listing a small folder 10 times a second is cheap.
        "polling_interval": 0.1,
    }
else:
    # Redis gives a message taken but not acknowledged (acks_late) to another worker after this
    # long. It decides nothing about a run (the execution's lease does, docs/triggers.md); it is
    # kept above the longest back-off (SLUICE_RETRY_CAP_SECONDS), so a retry's delayed message a
    # worker holds is not handed out twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = int(os.environ.get("SLUICE_RUN_TIME_LIMIT", 6 * 3600))
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 60, 30)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the dispatcher looks for due scheduled flows; the lag from slot to execution is at
# most about this.
SLUICE_DISPATCH_EVERY_SECONDS = float(os.environ.get("SLUICE_DISPATCH_EVERY_SECONDS", 1))
# The control tasks (dispatch, reconcile) have their own queue, so a worker whose run slots are all
# busy does not delay them: `up` starts a small worker for it; scale it like any worker.
SLUICE_CONTROL_QUEUE = "sluice-control"
CELERY_TASK_ROUTES = {
    "flows.tasks.dispatch_schedules": {"queue": SLUICE_CONTROL_QUEUE},
    "flows.tasks.mark_lost_executions": {"queue": SLUICE_CONTROL_QUEUE},
    "flows.tasks.report_event_flows": {"queue": SLUICE_CONTROL_QUEUE},
}
CELERY_BEAT_SCHEDULE = {
    "dispatch-schedules": {
        "task": "flows.tasks.dispatch_schedules",
        "schedule": timedelta(seconds=SLUICE_DISPATCH_EVERY_SECONDS),
        # A tick nobody picked up in time is dropped: the next one does the same work.
        "options": {"expires": max(SLUICE_DISPATCH_EVERY_SECONDS * 5, 5)},
    },
    "mark-lost-executions": {
        "task": "flows.tasks.mark_lost_executions",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 60},
    },
    "report-event-flows": {
        "task": "flows.tasks.report_event_flows",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    "prune-audit-log": {
        "task": "audit.tasks.prune_audit_log",
        "schedule": timedelta(days=1),
        "options": {"expires": 3600},
    },
}
CELERY_TASK_ROUTES["audit.tasks.prune_audit_log"] = {"queue": SLUICE_CONTROL_QUEUE}

# A running execution writes a heartbeat this often; one whose heartbeat is older than
# SLUICE_LOST_AFTER_SECONDS is "worker lost": the reconciler tries it again or marks it Error.
SLUICE_HEARTBEAT_SECONDS = float(os.environ.get("SLUICE_HEARTBEAT_SECONDS", 15))
# Salesforce event flows (flows/salesforce_events.py): a run starts once the oldest waiting event
# has waited this long, or this many are waiting.
SLUICE_EVENT_BATCH_SECONDS = float(os.environ.get("SLUICE_EVENT_BATCH_SECONDS", 2))
SLUICE_EVENT_BATCH_MAX = int(os.environ.get("SLUICE_EVENT_BATCH_MAX", 500))
SLUICE_LOST_AFTER_SECONDS = int(os.environ.get("SLUICE_LOST_AFTER_SECONDS", 120))
# How many attempts a run whose worker was lost gets in all (the first included) before it is
# marked Error; each new attempt starts after a back-off (SLUICE_RETRY_BASE/CAP_SECONDS).
SLUICE_RUN_ATTEMPTS = max(int(os.environ.get("SLUICE_RUN_ATTEMPTS", 3)), 1)
# Email for notification channels. Without EMAIL_HOST mail goes to the worker's log (console
# backend), so an embedded install never tries to reach an SMTP server that is not there.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
_MAIL = "smtp" if EMAIL_HOST else "console"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", f"django.core.mail.backends.{_MAIL}.EmailBackend")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "sluice@localhost")

# Transient connector failures (timeouts, 429, 5xx) are retried within the run, each flow up to
# its transient_retries, waiting base * 2^n seconds (with jitter, capped; never less than Retry-After).
SLUICE_RETRY_BASE_SECONDS = float(os.environ.get("SLUICE_RETRY_BASE_SECONDS", 5))
SLUICE_RETRY_CAP_SECONDS = float(os.environ.get("SLUICE_RETRY_CAP_SECONDS", 300))
SLUICE_MAX_CONNECTIONS = int(os.environ.get("SLUICE_MAX_CONNECTIONS", 100))
# Run-safety quotas (flows/quotas.py), AppFlow's user-guide figures by default; 0 turns one off.
# AppFlow has no per-flow concurrency or records-per-run quota: those default to off (0); its
# per-run cap is 100 GB of data.
SLUICE_MAX_FLOWS = int(os.environ.get("SLUICE_MAX_FLOWS", 1_000))
SLUICE_MAX_CONCURRENT_RUNS = int(os.environ.get("SLUICE_MAX_CONCURRENT_RUNS", 1_000))
SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW = int(os.environ.get("SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW", 0))
SLUICE_MAX_RUNS_PER_MONTH = int(os.environ.get("SLUICE_MAX_RUNS_PER_MONTH", 10_000_000))
SLUICE_MAX_RECORDS_PER_RUN = int(os.environ.get("SLUICE_MAX_RECORDS_PER_RUN", 0))
SLUICE_MAX_BYTES_PER_RUN = int(os.environ.get("SLUICE_MAX_BYTES_PER_RUN", 100 * 1024**3))
# How long a connection's objects and fields, as its service described them, are reused before
# they are asked for again (AppFlow: an hour). "Refresh metadata" on the connection page, the
# wizard's "Refresh fields" and `sluice reset-connector-metadata-cache` clear it sooner.
SLUICE_METADATA_MAX_AGE_SECONDS = int(os.environ.get("SLUICE_METADATA_MAX_AGE_SECONDS", 3600))
# Hosts, addresses or networks outbound connections may reach although they are not public
# (on-premise applications). connections/net.py is Django-free and reads the variable itself.
# The address people use to reach this deployment, e.g. https://sluice.example.com. OAuth redirect
# URIs are built from it (register them with each provider); without it, from the request.
SLUICE_BASE_URL = os.environ.get("SLUICE_BASE_URL", "").rstrip("/")
# The bundled Demo CRM (demo_saas/, under /demo-saas/): on by default in the embedded run (no
# DATABASE_URL), off unless enabled in production.
SLUICE_EMBEDDED = "DATABASE_URL" not in os.environ
SLUICE_DEMO_SAAS = env_bool("SLUICE_DEMO_SAAS", SLUICE_EMBEDDED)
# The Demo CRM runs in this very process, on this machine: let the SSRF guard reach it at the bind
# address (`up --bind` sets SLUICE_BIND before it starts the processes; SLUICE_NET_ALLOW_FROM_BIND
# marks a value derived here, which `up` may derive again for its children).
_derived_allow = "SLUICE_NET_ALLOW" not in os.environ or os.environ.get("SLUICE_NET_ALLOW_FROM_BIND")
if SLUICE_DEMO_SAAS and _derived_allow:
    _bind = os.environ.get("SLUICE_BIND", "127.0.0.1:8000")
    os.environ["SLUICE_NET_ALLOW"] = _bind if ":" in _bind else "127.0.0.1:8000"
    os.environ["SLUICE_NET_ALLOW_FROM_BIND"] = "1"
SLUICE_NET_ALLOW = env_list("SLUICE_NET_ALLOW", "")

# The audit log (docs/audit.md): rows older than this many days are deleted once a day.
SLUICE_AUDIT_RETENTION_DAYS = int(os.environ.get("SLUICE_AUDIT_RETENTION_DAYS", 365))
if SLUICE_AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("SLUICE_AUDIT_RETENTION_DAYS: must be a whole number of days, at least 1.")
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed for the client address
# the audit log records; empty: REMOTE_ADDR only (docs/audit.md).
SLUICE_TRUSTED_PROXIES = env_list("SLUICE_TRUSTED_PROXIES", "")
try:
    import ipaddress as _ip

    for _proxy in SLUICE_TRUSTED_PROXIES:
        _ip.ip_network(_proxy, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"SLUICE_TRUSTED_PROXIES: {_exc}. Give addresses or networks, "
                               "comma-separated (10.0.0.5,10.1.0.0/16).") from None

# Single sign-on with any OpenID Connect provider (docs/sso.md); off unless the issuer is set.
SLUICE_OIDC_ISSUER = os.environ.get("SLUICE_OIDC_ISSUER", "").rstrip("/")
SLUICE_OIDC_CLIENT_ID = os.environ.get("SLUICE_OIDC_CLIENT_ID", "")
SLUICE_OIDC_CLIENT_SECRET = os.environ.get("SLUICE_OIDC_CLIENT_SECRET", "")
SLUICE_OIDC_PROVIDER_NAME = os.environ.get("SLUICE_OIDC_PROVIDER_NAME", "single sign-on")
SLUICE_OIDC_SCOPES = os.environ.get("SLUICE_OIDC_SCOPES", "openid email profile")
SLUICE_OIDC_ALLOWED_DOMAINS = [d.lower() for d in env_list("SLUICE_OIDC_ALLOWED_DOMAINS", "")]
# claim -> team/role mapping, JSON (signin/mapping.py): applied by the people and teams code.
SLUICE_OIDC_TEAM_MAPPING = os.environ.get("SLUICE_OIDC_TEAM_MAPPING", "")
from signin.mapping import MappingInvalid, parse_rules  # noqa: E402  (pure, no Django)

try:
    parse_rules(SLUICE_OIDC_TEAM_MAPPING)
except MappingInvalid as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
if SLUICE_OIDC_ISSUER and not (SLUICE_OIDC_CLIENT_ID and SLUICE_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("SLUICE_OIDC_ISSUER is set: set SLUICE_OIDC_CLIENT_ID and "
                               "SLUICE_OIDC_CLIENT_SECRET too (from the provider's client registration).")
# Login lockout (signin/lockout.py): after this many failed logins for one username (or from one
# address) within the window, further attempts are refused for a back-off that doubles each time.
SLUICE_LOGIN_MAX_FAILURES = int(os.environ.get("SLUICE_LOGIN_MAX_FAILURES", 5))
SLUICE_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("SLUICE_LOGIN_LOCKOUT_SECONDS", 60))
SLUICE_LOGIN_LOCKOUT_MAX_SECONDS = int(os.environ.get("SLUICE_LOGIN_LOCKOUT_MAX_SECONDS", 3600))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The filesystem broker has no host; kombu warns about that on every publish.
        "kombu.connection": {"level": "ERROR"},
    },
}
