"""Flask-WTF forms built from the instrument definitions."""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from ..translated_text import WithParameters
from .instruments import Instrument
from .instruments.itq import WHEN_OPTIONS
from .service import PreviousCodeError, resolve_previous

YES, NO = "yes", "no"


class ChoiceAnswer:
    """One answer is required and must be one of the field's choices, with a message naming the item."""

    def __init__(self, missing: str | WithParameters, invalid: str | WithParameters, only_if_exposed: bool = False):
        self.missing = missing
        self.invalid = invalid
        self.only_if_exposed = only_if_exposed

    def __call__(self, form, field):
        if self.only_if_exposed and form.exposure.data != YES:
            # The published PC-PTSD-5 stops after a No at the gate: later answers are not asked.
            field.data = None
            raise StopValidation()
        if not field.raw_data or field.raw_data[0] in ("", None):
            raise StopValidation(self.missing)
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(self.invalid)


def _answer_field(instrument: Instrument, number: int | None, label: str, choices) -> RadioField:
    subject = WithParameters(_l("Question %(number)s"), number=number) if number else _l("The first question")
    return RadioField(
        label,
        choices=choices,
        validate_choice=False,  # ChoiceAnswer gives a message that names the question
        validators=[
            ChoiceAnswer(
                missing=WithParameters(_l("%(subject)s: please choose an answer."), subject=subject),
                invalid=WithParameters(_l("%(subject)s: please choose one of the listed answers."), subject=subject),
                only_if_exposed=instrument.yes_no and number is not None,
            )
        ],
    )


def _previous_field() -> StringField:
    return StringField(
        _l("Compare with an earlier code (optional)"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class OptionalChoice:
    """An answer that may be left out, but when given must be one of the field's choices."""

    def __init__(self, invalid: str):
        self.invalid = invalid

    def __call__(self, form, field):
        if not field.raw_data or field.raw_data[0] in ("", None):
            field.data = None
            raise StopValidation()
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(self.invalid)


def _when_field() -> RadioField:
    """The ITQ's "When did the experience occur?", asked as an optional choice of its published ranges."""
    return RadioField(
        "When did the experience occur?",
        choices=[SelectChoice(option.value, option.label) for option in WHEN_OPTIONS],
        validate_choice=False,
        validators=[OptionalChoice(_l("When did it happen: please choose one of the listed answers, or none."))],
    )


def _store_field() -> RadioField:
    return RadioField(
        _l("Keep this result?"),
        choices=[
            SelectChoice(NO, _l("No, do not keep my answers (nothing is saved)")),
            SelectChoice(YES, _l("Yes, keep my result anonymously and give me a code")),
        ],
        # No answer is chosen in advance; left unanswered, nothing is kept and the result page offers
        # to keep it.
        validate_choice=False,
        validators=[OptionalChoice(_l("Keep this result?: please choose Yes or No."))],
    )


def clinic_store_choices(clinic) -> list[SelectChoice]:
    """The store choice through a clinic's link: keeping the result shares it with that clinic."""
    return [
        SelectChoice(NO, _l("No, do not keep my answers (nothing is saved or shared)")),
        SelectChoice(YES, WithParameters(_l("Keep this result and share it with %(clinic)s"), clinic=clinic.name)),
    ]


class PersonForm(FlaskForm):
    """A form on a person's page: no CSRF token, because the person gets no session (and so no cookie)
    to bind one to. Such posts are protected by refusing cross-site requests before any view runs
    (app/security.py); the signed-in workspace's forms keep Flask-WTF's session-bound tokens."""

    class Meta:
        csrf = False


class ScreeningForm(PersonForm):
    """Behaviour shared by every screening; form_class() adds the fields in the page's order."""

    instrument: Instrument  # set on each generated subclass by form_class()
    previous_row = None  # the earlier result, once `previous` has validated

    def validate_previous(self, field) -> None:
        """An earlier code must name a stored result of the same questionnaire; empty means no comparison."""
        self.previous_row = None
        if not field.data:
            return
        try:
            self.previous_row = resolve_previous(self.instrument, field.data)
        except PreviousCodeError as error:
            raise ValidationError(error.message) from None


@cache
def form_class(instrument: Instrument) -> type[ScreeningForm]:
    """A form class: the PC-PTSD-5 gate or the ITQ's `when`, one radio group per item (q1…qN), `store`
    and `previous`.

    Fields are created here, in the order the page shows them, because WTForms orders fields (and so
    the error summary) by creation.
    """
    choices = [SelectChoice(option.value, option.label) for option in instrument.options]
    fields = {}
    if instrument.gate:
        fields["exposure"] = _answer_field(instrument, None, instrument.gate, choices)
    if instrument.when_options:
        fields["when"] = _when_field()
    for item in instrument.items:
        fields[item.field] = _answer_field(instrument, item.number, item.text, choices)
    fields["store"] = _store_field()  # the decision comes first; comparing is optional and folded away
    fields["previous"] = _previous_field()
    return type(f"{instrument.name}Form", (ScreeningForm,), {"instrument": instrument, **fields})


class DeleteForm(PersonForm):
    """No fields: a deletion is a deliberate POST from this site's own confirmation page (a cross-site
    POST is refused before the view runs)."""


class ResultCodeForm(PersonForm):
    """"Already have a result code?": the code in any form people type it (app/screening/codes.py)."""

    code = StringField(_l("Your result code"),
                       filters=[lambda value: value.strip() if isinstance(value, str) else value])


def item_sections(instrument: Instrument) -> list[tuple[str | None, list]]:
    """The form's sections in the instrument's own item order; a section titled None has no heading.

    The PC-PTSD-5 is published as one list of five questions, so it stays one untitled section
    (its grouping belongs on the result); the PCL-5 shows runs of items that share a cluster.
    """
    if instrument.yes_no or len({item.section or item.cluster for item in instrument.items}) == 1:
        return [(None, list(instrument.items))]  # one part needs no heading
    sections: list[tuple[str | None, list]] = []
    for item in instrument.items:
        key = item.section or item.cluster
        if not sections or sections[-1][0] != key:
            sections.append((key, []))
        sections[-1][1].append(item)
    return sections
