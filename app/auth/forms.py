"""The sign-in form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .passwords import MAX_LENGTH


class SignInForm(FlaskForm):
    """Email and password; both only checked for presence and size, the account check is the view's."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter your email address.")),
        Length(max=254, message=_l("That is longer than any email address.")),
    ], render_kw={"autocomplete": "username", "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=MAX_LENGTH, message=_l("That is longer than any password here.")),
    ], render_kw={"autocomplete": "current-password"})
