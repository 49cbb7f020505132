"""Application factory: configuration, extensions, blueprints, error handlers, commands."""
from __future__ import annotations

from flask import Flask, request

from config import (
    CONFIGS,
    WEAK_SECRET_KEYS,
    ConfigurationError,
    config_name_from_env,
    development_secret_key,
    environment_settings,
)

from . import fast_i18n, template_urls
from .assets import init_assets
from .clinician.alerts import init_alerts
from .database import configure_sqlite
from .errors import register_error_handlers
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .log_throttle import quiet_pool_outages
from .ratelimits import apply_rate_limits
from .retention import init_retention
from .security import init_security
from .sessions import StaffOnlySessionInterface
from .template_whitespace import StripIndentation


def select_locale() -> str:
    """The reader's language: an explicit choice first, then the browser's Accept-Language."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get("lang")
    if chosen is not None and chosen in languages:
        return chosen
    found = fast_i18n.preferred_language(request.headers.get("Accept-Language", ""), tuple(languages))
    return found or current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the app for an environment (APP_ENV, default production) with optional overrides."""
    config_name = config_name or config_name_from_env()
    app = Flask(__name__, instance_relative_config=True)
    app.jinja_environment = fast_i18n.LocalisedEnvironment  # before app.jinja_env is first built
    app.config.from_object(CONFIGS[config_name])
    app.config.update(environment_settings(config_name))
    app.config.from_prefixed_env()
    if overrides:
        app.config.update(overrides)
    app.config["APP_ENV"] = config_name  # lets commands such as seed-demo refuse production
    check_secret_key(app, config_name)
    app.session_interface = StaffOnlySessionInterface()
    # Block tags leave no blank lines or indentation behind: pages are up to a third smaller.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.add_extension(StripIndentation)

    quiet_pool_outages()  # a database outage: one line per failure a minute, not a traceback per request
    init_security(app)
    init_assets(app)
    register_extensions(app)
    register_blueprints(app)
    apply_rate_limits(app)
    register_error_handlers(app)
    register_commands(app)
    init_retention(app)
    init_alerts(app)
    return app


def check_secret_key(app: Flask, config_name: str) -> None:
    """Refuse to run production on a missing or well-known key; give development a stable random one."""
    key = app.config.get("SECRET_KEY")
    if config_name == "production":
        if not key or key in WEAK_SECRET_KEYS or len(key) < 32:
            raise ConfigurationError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python3 -c 'import secrets; print(secrets.token_hex(32))'); "
                "for development on your own computer, set APP_ENV=development or run `make run` once."
            )
    elif not key:
        app.config["SECRET_KEY"] = development_secret_key(app.instance_path)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension objects to this app."""
    db.init_app(app)
    configure_sqlite(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    fast_i18n.install(app)  # after Flask-Babel's own Jinja set-up, which it replaces
    template_urls.install(app)
    login_manager.init_app(app)
    lazy_current_user(app)
    limiter.init_app(app)

    @app.context_processor
    def locale_in_templates():
        from flask_babel import format_date, get_locale

        return {"current_locale": lambda: str(get_locale() or "en"), "format_date": format_date}


def lazy_current_user(app: Flask) -> None:
    """Templates get Flask-Login's `current_user` proxy instead of the user its context processor loads
    on every render: a person's page, which never names a user, no longer loads one (Flask-Login's
    _load_user hashes the address and user agent and parses the cookies first); a workspace page loads
    it at its first use, the same user."""
    from flask_login import current_user
    from flask_login.utils import _user_context_processor

    processors = app.template_context_processors[None]
    processors[:] = [(lambda: {"current_user": current_user}) if processor is _user_context_processor else processor
                     for processor in processors]


def register_blueprints(app: Flask) -> None:
    """Every feature's blueprint."""
    from .api_spec import bp as api_spec_bp
    from .auth.views import bp as auth_bp
    from .clinician import accounts, clinics, outcomes, views  # noqa: F401 - each adds its routes to the blueprint
    from .clinician.blueprint import bp as clinician_bp
    from .clinics.views import bp as clinic_link_bp
    from .education.views import bp as education_bp
    from .health import bp as health_bp
    from .language import bp as language_bp
    from .screening.api import bp as api_bp
    from .screening.views import bp as screening_bp

    app.register_blueprint(screening_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(education_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(clinician_bp)
    app.register_blueprint(clinic_link_bp)
    app.register_blueprint(api_spec_bp)
    app.register_blueprint(language_bp)
    app.register_blueprint(health_bp)


def register_commands(app: Flask) -> None:
    """Command-line tools: `clinician …`, `purge`, `seed-demo`; `backup`, `restore`, `assets write`."""
    from .commands import register

    register(app)
