"""Forms of the admins' accounts page: invite, change role, change clinics, and the one-button actions."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from ..models import ROLE_ADMIN, ROLE_CLINICIAN

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Each language named in itself, as the site's language switch does.
LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("es", "Español")]
ROLE_CHOICES = [SelectChoice(ROLE_CLINICIAN, _l("Clinician")), SelectChoice(ROLE_ADMIN, _l("Admin"))]


def known_clinics(form, field) -> None:
    """Every chosen clinic exists (the choices are the clinics' slugs, set by the view)."""
    slugs = {choice.value for choice in field.choices}
    if any(value not in slugs for value in field.data or []):
        raise ValidationError(_l("Choose clinics from the list."))


class ClinicsField(SelectMultipleField):
    """Clinic slugs from repeated `clinic` fields, checked by known_clinics with a translated message."""

    def pre_validate(self, form) -> None:
        pass


class InviteForm(FlaskForm):
    """A new account: its email, role and clinics."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter the email address of the person you invite.")),
        Length(max=254, message=_l("That is longer than any email address.")),
        Regexp(EMAIL, message=_l("Enter an email address like name@example.org.")),
    ], render_kw={"autocomplete": "off", "spellcheck": "false"})
    role = RadioField(_l("Role"), choices=ROLE_CHOICES, default=ROLE_CLINICIAN,
                      validators=[DataRequired(_l("Choose a role."))])
    clinic = ClinicsField(_l("Clinics"), choices=[], validators=[known_clinics])
    # The invitation, and later e-mails until they sign in, are written in this language.
    language = RadioField(_l("Language of the invitation e-mail"), choices=LANGUAGE_CHOICES, default="en",
                          validators=[DataRequired(_l("Choose a language."))])


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = RadioField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Choose a role."))])


class ClinicsForm(FlaskForm):
    """Change an account's clinics (none is allowed: the account then sees only what admins hand it)."""

    clinic = ClinicsField(_l("Clinics"), choices=[], validators=[known_clinics])


class ActionForm(FlaskForm):
    """A one-button action (deactivate, reactivate, reset link, reset two-factor): only the CSRF token."""
