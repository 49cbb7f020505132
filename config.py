"""Configuration classes; the only module that reads the environment."""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


class ConfigurationError(RuntimeError):
    """A setting the app cannot start without; wsgi.py shows its message alone, in one line."""


class Config:
    """Settings shared by every environment; each may be overridden as FLASK_<NAME>."""

    SECRET_KEY: str | None = None  # from the environment, see environment_settings()
    SQLALCHEMY_DATABASE_URI = "sqlite:///ptsd-screening.sqlite"  # a file in instance/
    # hide_parameters: a database error must never copy answers or result codes into a log.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # SQLite only (app/database.py): WAL lets readers and one writer overlap; FULL makes every
    # acknowledged (committed) screening survive a crash or power loss, not just a killed process.
    SQLITE_JOURNAL_MODE = "WAL"
    SQLITE_SYNCHRONOUS = "FULL"
    SQLITE_BUSY_TIMEOUT_MS = 5000
    # A screening form is a few hundred bytes; anything near this is not a real submission.
    MAX_CONTENT_LENGTH = 32 * 1024
    # Cut-offs: None keeps the questionnaire's own default_cutoff (its module cites the source); a
    # number (FLASK_PCL5_CUTOFF=31) overrides it. CUTOFF_SETTINGS below says which setting is whose.
    PCL5_CUTOFF: int | None = None
    PCPTSD5_CUTOFF: int | None = None
    PHQ9_CUTOFF: int | None = None
    RETENTION_DAYS = 365
    # Audit log entries are kept this long, then deleted by the purge (and that deletion audited). Six
    # years: HIPAA's retention period for required documentation (45 CFR 164.316(b)(2)(i)).
    AUDIT_RETENTION_DAYS = 6 * 365 + 2  # six years, leap days included
    # Who runs this instance, shown on /about. The defaults say honestly that it has not been set,
    # rather than inventing an organisation: a deployment sets all three.
    SITE_OPERATOR_NAME: str | None = None
    SITE_OPERATOR_URL: str | None = None
    SITE_CONTACT: str | None = None  # an email address or a web page for questions and requests
    # Each server process also deletes expired results in the background this often (0: only the
    # `purge` command does; see app/retention.py and deploy/ptsd-screening-purge.timer).
    RETENTION_PURGE_EVERY_MINUTES = 60
    # A clinician's session ends after this many minutes without a request (checked on the server).
    CLINICIAN_IDLE_MINUTES = 30
    # …and after this many hours from sign-in whatever the activity (an absolute lifetime).
    CLINICIAN_SESSION_HOURS = 12
    # Send a clinician without two-factor to its set-up before any result, statistic or export.
    REQUIRE_2FA = False
    # Invitation and password-reset links stop working after this many hours.
    ACCOUNT_LINK_HOURS = 72
    # E-mail for invitations (plain SMTP, STARTTLS when MAIL_USE_TLS); off unless MAIL_SERVER and
    # MAIL_FROM are set. The link is shown to the admin either way.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = True
    MAIL_FROM: str | None = None
    MAIL_TIMEOUT_SECONDS = 10
    # "Email me when a result needs review": at most one email per clinician per interval; results that
    # arrive within it wait for the next. Pending alerts are checked after requests at most this often
    # (and by `flask alerts send`, e.g. from a timer each minute); 0 turns the in-app check off.
    ALERT_INTERVAL_MINUTES = 15
    ALERT_CHECK_EVERY_SECONDS = 30
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ("en", "es")
    WTF_CSRF_TIME_LIMIT = None  # a distressed person may take a long time; the token ends with the session
    # Pages that are the same for every reader are rendered once per language (app/page_cache.py).
    PAGE_CACHE = True
    # Flask-WTF's HTTPS check wants a same-site Referer, but Referrer-Policy: no-referrer (app/security.py)
    # makes browsers send none, even to this site, so it would refuse every signed-in form in production.
    # The session-bound token, SameSite=Lax cookies and the Sec-Fetch-Site check do that job instead.
    WTF_CSRF_SSL_STRICT = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # Flask-Login's remember-me cookie, when a sign-in sets one: same protections as the session.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Static files may be cached by browsers; every other response is sent with no-store.
    SEND_FILE_MAX_AGE_DEFAULT = 3600
    # Security headers (app/security.py). HSTS only where the site is served over HTTPS.
    HSTS_ENABLED = False
    HSTS_MAX_AGE = 63072000  # two years
    # Redirect plain HTTP to HTTPS in the app: only where no proxy does it, or the proxy is trusted
    # (TRUSTED_PROXIES) to say X-Forwarded-Proto — otherwise every request would look like HTTP.
    HTTPS_REDIRECT = False
    # The site's public address, e.g. https://screening.example.org (no trailing slash): clinic links,
    # FHIR URLs and the same-origin check are built from it, never from the request's Host header.
    PUBLIC_BASE_URL: str | None = None
    # Host names this site answers to, e.g. ["screening.example.org"] (FLASK_TRUSTED_HOSTS as a JSON
    # list or comma-separated); any other Host header gets a 400 before a view runs. None: any host.
    TRUSTED_HOSTS: list[str] | None = None
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    TRUSTED_PROXIES = 0
    # Rate limits (Flask-Limiter reads the RATELIMIT_* names itself). Client addresses only key
    # the counters, as a keyed hash, for the length of a window: see app/ratelimits.py.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # redis://host:6379/0 to share limits between instances
    RATELIMIT_KEY_PREFIX = "ptsd"
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on a 429
    # If Redis is down, count in memory per instance rather than refuse people's answers.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Generous for one person, even behind a clinic's shared address; tight for a script.
    RATELIMIT_SUBMISSIONS = "20 per minute;300 per hour"
    RATELIMIT_CODE_LOOKUPS = "30 per minute;300 per hour"
    # Sign-in (password and two-factor steps): per account *from one client*, so nobody can lock a
    # clinician out from elsewhere, and per client across accounts, so no client can guess at scale.
    RATELIMIT_SIGN_IN_ACCOUNT = "5 per minute;20 per hour"
    RATELIMIT_SIGN_IN_CLIENT = "20 per minute;100 per hour"
    # Wrong two-factor codes for one account from anywhere: the 11th within 15 minutes is refused until
    # the oldest leaves the window (the code step only; audited once). A 6-digit code then takes years.
    RATELIMIT_TWO_FACTOR_ACCOUNT = "10 per 15 minutes"
    # Processes serving the app (gunicorn's workers; gunicorn.conf.py sets it in each). While Redis is
    # unreachable each process counts alone and allows this share of every limit, rounded up.
    RATELIMIT_PROCESSES = 1
    # Password hashes (argon2id, 64 MiB, about a core each) computed at once by one process, and how
    # long a sign-in waits for its turn before a quick 503: a flood of sign-ins cannot take the CPU
    # that people's pages need.
    PASSWORD_HASHING_CONCURRENCY = 1
    PASSWORD_HASHING_WAIT_SECONDS = 0.1


class DevelopmentConfig(Config):
    """Local development on the embedded SQLite database."""

    DEBUG = False  # the debugger would show tracebacks; enable with FLASK_DEBUG=1 when wanted
    PAGE_CACHE = False  # an edited template shows on the next request


class TestingConfig(Config):
    """The test suite: its own database, never the developer's."""

    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # or TEST_DATABASE_URL, see environment_settings()
    RATELIMIT_ENABLED = False  # tests/test_ratelimit.py switches them on with small limits
    RETENTION_PURGE_EVERY_MINUTES = 0  # tests/test_retention.py switches it on
    ALERT_CHECK_EVERY_SECONDS = 0  # tests/test_clinician_alerts.py switches it on


class ProductionConfig(Config):
    """Production: a real secret key is mandatory and cookies are Secure."""

    SESSION_COOKIE_SECURE = True
    # __Host-: browsers accept it only with Secure, Path=/ and no Domain, so no other (sub)domain
    # can set or shadow the clinician's session cookie.
    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = True
    REQUIRE_2FA = True


# The one mapping from a questionnaire (its id) to the setting that may override its cut-off.
CUTOFF_SETTINGS = {"pcl5": "PCL5_CUTOFF", "pcptsd5": "PCPTSD5_CUTOFF", "phq9": "PHQ9_CUTOFF"}

CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

# Values that must never be accepted as a production SECRET_KEY.
WEAK_SECRET_KEYS = {"", "dev", "changeme", "change-me", "secret", "testing-secret-key-not-for-production"}


def environment_settings(config_name: str) -> dict:
    """DATABASE_URL and SECRET_KEY (TEST_DATABASE_URL for the tests), read when an app is created."""
    settings = {}
    url_variable = "TEST_DATABASE_URL" if config_name == "testing" else "DATABASE_URL"
    if os.environ.get(url_variable):
        settings["SQLALCHEMY_DATABASE_URI"] = os.environ[url_variable]
    if os.environ.get("SECRET_KEY") and config_name != "testing":
        settings["SECRET_KEY"] = os.environ["SECRET_KEY"]
    return settings


def settings_from_environment(config_name: str) -> dict:
    """The settings an app built now would have (class, DATABASE_URL/SECRET_KEY, FLASK_<NAME>), without
    building one: gunicorn.conf.py checks the production set-up with them before any worker starts."""
    from flask import Config as FlaskConfig

    settings = FlaskConfig(str(BASE_DIR))
    settings.from_object(CONFIGS[config_name])
    settings.update(environment_settings(config_name))
    settings.from_prefixed_env()
    return dict(settings)


def per_process_rate_limits_problem(settings: dict, processes: int) -> str | None:
    """Why limits would not mean what they say: production counting in each process's own memory while
    several processes serve (each would allow the whole limit). None when the set-up is sound."""
    if not settings.get("RATELIMIT_ENABLED", True) or processes <= 1:
        return None
    storage = str(settings.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory:"):
        return None
    return (f"refusing to start {processes} workers with rate limits counted in each worker's memory "
            f"(each would allow the full limit): set FLASK_RATELIMIT_STORAGE_URI=redis://HOST:6379/0, "
            f"or run one worker (--workers 1)")


def config_name_from_env() -> str:
    """The environment named by APP_ENV; production unless told otherwise, so a bare gunicorn is safe."""
    return os.environ.get("APP_ENV", "production")


def development_secret_key(instance_path: str) -> str:
    """A random key kept in instance/ so development sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
