"""Unbound Flask extension objects, initialised in create_app()."""
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .client_keys import client_key

# Stable constraint names so Alembic revisions are reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # Flask-SQLAlchemy builds db.Model from Base at run time (adding the table-name default and the
    # app binding), which a type checker cannot follow: to it, the models are typed Base subclasses.
    Model = Base
else:
    Model = db.Model


def rows_changed(statement: sa.Update | sa.Delete) -> int:
    """Run an UPDATE or DELETE in the session; the number of rows it changed."""
    result = db.session.execute(statement)
    assert isinstance(result, sa.CursorResult)  # DML runs on a cursor; the session's stubs say Result
    return result.rowcount
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()


login_manager = LoginManager()


# Storage, on/off and limits come from the RATELIMIT_* settings; see app/ratelimits.py.
limiter = Limiter(key_func=client_key)
