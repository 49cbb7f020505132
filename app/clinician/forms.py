"""Forms of the clinician workspace (the filters are plain GET parameters, see queries.parse_filters)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from ..models import REVIEW_NOTE_MAX


class ReviewForm(FlaskForm):
    """Mark a result reviewed, with an optional short note (kept on the result, not in the audit log)."""

    note = TextAreaField(_l("Note (optional)"), validators=[
        Length(max=REVIEW_NOTE_MAX, message=_l("Keep the note to %(max)s characters or fewer.", max=REVIEW_NOTE_MAX)),
    ], render_kw={"rows": 3, "maxlength": REVIEW_NOTE_MAX})


class UnreviewForm(FlaskForm):
    """Put a result back among the unreviewed (only the CSRF token)."""
