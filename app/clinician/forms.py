"""Forms of the clinician workspace (the filters are plain GET parameters, see filters.parse_filters)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..models import NOTE_MAX
from ..translated_text import WithParameters
from .zones import is_zone


class NoteForm(FlaskForm):
    """A note appended to a result's notes (adding one, or with a review); its text is not in the audit log."""

    note = TextAreaField(_l("Note"), validators=[
        Length(max=NOTE_MAX, message=_l("Keep the note to %(max)s characters or fewer.")),
    ], render_kw={"rows": 3, "maxlength": NOTE_MAX})


class NotificationsForm(FlaskForm):
    """"Email me when a result needs review", on one's own account page."""

    notify = BooleanField(_l("Email me when a result needs review"))


class UnreviewForm(FlaskForm):
    """Put a result back among the unreviewed (only the CSRF token)."""


class AddByCodeForm(FlaskForm):
    """Add a result to one of my clinics by its whole code: the person handed it over."""

    code = StringField(_l("Result code"), validators=[
        DataRequired(message=_l("Type the result code the person gave you.")),
        Length(max=20, message=_l("A result code has 12 letters and digits, such as 7KQ2-M9XD-4TPA.")),
    ], filters=[lambda value: value.strip() if isinstance(value, str) else value])
    clinic = SelectField(_l("Clinic"), validate_choice=True,
                         validators=[DataRequired(message=_l("Choose the clinic to add it to."))])


class ClinicForm(FlaskForm):
    """A clinic's name and time zone (admins)."""

    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Give the clinic a name.")),
        Length(max=120, message=_l("Keep the name to %(max)s characters or fewer.")),
    ], filters=[lambda value: value.strip() if isinstance(value, str) else value])
    timezone = StringField(_l("Time zone"), default="UTC", validators=[
        DataRequired(message=_l("Give a time zone such as Europe/Madrid or America/Chicago.")),
    ], filters=[lambda value: value.strip() if isinstance(value, str) else value])

    def validate_timezone(self, field) -> None:
        if not is_zone(field.data):
            raise ValidationError(WithParameters(_l("“%(zone)s” is not a time zone name; use one such as "
                                                    "Europe/Madrid or America/Chicago."), zone=field.data))


class PostOnlyForm(FlaskForm):
    """Only the CSRF token, for a button that changes something (e.g. rotating a clinic's link)."""


class QuestionnairesForm(FlaskForm):
    """Which questionnaires a clinic's link offers and in what order: a place (1st, 2nd …) or "not
    offered" for each; the fields, one per instrument, are added by questionnaires_form()."""

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        places = [field.data for field in self.place_fields() if field.data]
        if not places:
            self.form_errors.append(_l("Offer at least one questionnaire."))
            return False
        if len(set(places)) != len(places):
            self.form_errors.append(_l("Give each offered questionnaire its own place."))
            return False
        return True

    def place_fields(self) -> list:
        return [field for field in self if field.name.startswith("place_")]

    def chosen(self) -> list[str]:
        """The offered instrument ids, in the chosen order."""
        places = sorted((int(field.data), field.name.removeprefix("place_"))
                        for field in self.place_fields() if field.data)
        return [name for _place, name in places]


def questionnaires_form(instruments, offered: list[str]) -> QuestionnairesForm:
    """The form for these instruments, showing the places of those offered now."""
    places = [SelectChoice("", _l("Not offered"))] + [
        SelectChoice(str(number), WithParameters(_l("Place %(number)s"), number=number))
        for number in range(1, len(instruments) + 1)]

    class Form(QuestionnairesForm):
        pass

    for instrument in instruments:
        setattr(Form, f"place_{instrument.id}", SelectField(instrument.name, choices=places, default=""))
    data = {f"place_{name}": str(number) for number, name in enumerate(offered, 1)}
    return Form(data=data)
