"""The sign-in, two-factor and password forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .passwords import MAX_LENGTH, MIN_LENGTH


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


class ForgotPasswordForm(FlaskForm):
    """The email of an account that needs a new password."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter your email address.")),
        Length(max=254, message=_l("That is longer than any email address.")),
    ], render_kw={"autocomplete": "username", "spellcheck": "false"})


class CodeForm(FlaskForm):
    """A six-digit code from the authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the code.")),
        Length(max=32, message=_l("That is longer than any code here.")),
    ], render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false",
                  "autocapitalize": "none"})


def _new_password_fields():
    return (
        PasswordField(_l("New password"), validators=[
            DataRequired(_l("Enter a new password.")),
            Length(min=MIN_LENGTH, max=MAX_LENGTH,
                   message=_l("Use %(min)s to %(max)s characters.")),  # Length fills in min and max
        ], render_kw={"autocomplete": "new-password"}),
        PasswordField(_l("New password again"), validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ], render_kw={"autocomplete": "new-password"}),
    )


class SetPasswordForm(FlaskForm):
    """Choosing a password from an invitation or a reset link."""

    password, password_confirm = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    """Changing one's own password: the current one first."""

    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")),
        Length(max=MAX_LENGTH, message=_l("That is longer than any password here.")),
    ], render_kw={"autocomplete": "current-password"})
    password, password_confirm = _new_password_fields()
