"""Person-facing pages: home, the two screenings, and a stored result."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import csrf
from . import codes
from .forms import YES, form_class
from .instruments import INSTRUMENTS, PCPTSD5, PRODUCT_CLUSTERS, Instrument
from .scoring import ScreeningResult
from .service import add_screening, find_screening, result_of, score

bp = Blueprint("screening", __name__)

CLUSTER_NAMES = {
    "reexperiencing": _l("Re-experiencing"),
    "avoidance": _l("Avoidance and numbing"),
    "arousal": _l("Arousal and reactivity"),
}


@bp.app_context_processor
def cluster_names():
    """Cluster names for every template, translated at render time."""
    return {"CLUSTER_NAMES": CLUSTER_NAMES, "PRODUCT_CLUSTERS": PRODUCT_CLUSTERS}


def item_sections(instrument: Instrument) -> list[tuple[str, list]]:
    """Runs of consecutive items that share a cluster, keeping the instrument's own item order."""
    sections: list[tuple[str, list]] = []
    for item in instrument.items:
        if not sections or sections[-1][0] != item.cluster:
            sections.append((item.cluster, []))
        sections[-1][1].append(item)
    return sections


@bp.get("/")
def home():
    """What this is, who it is for, how long it takes, and where to start."""
    return render_template("screening/home.html", instruments=INSTRUMENTS,
                           retention_days=current_app.config["RETENTION_DAYS"])


def _answers_from(instrument: Instrument, form) -> tuple[list, bool | None]:
    if instrument is PCPTSD5:
        exposure = form.exposure.data == YES
        answers = [form[item.field].data == YES for item in instrument.items] if exposure else []
        return answers, exposure
    return [int(form[item.field].data) for item in instrument.items], None


@bp.route("/screen/<instrument_id>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one re-renders with the answers kept
def screen(instrument_id: str):
    """The questionnaire; a valid submission shows the result, stored only with consent."""
    instrument = INSTRUMENTS.get(instrument_id) or abort(404)
    form = form_class(instrument)()
    if form.validate_on_submit():
        answers, exposure = _answers_from(instrument, form)
        result = score(instrument, answers, exposure)
        if form.store.data == YES:
            row = add_screening(result)
            return redirect(url_for(".result", code=codes.display(row.code)), 303)
        return render_result(result, code=None)
    status = 400 if form.is_submitted() else 200
    return render_template("screening/form.html", form=form, instrument=instrument,
                           sections=item_sections(instrument)), status


def render_result(result: ScreeningResult, code: str | None, taken_at=None):
    """The result page, for a fresh or a stored screening."""
    return render_template("screening/result.html", result=result, instrument=result.instrument,
                           code=codes.display(code) if code else None, taken_at=taken_at)


@bp.get("/results/<code>")
def result(code: str):
    """A stored result by its code; unknown, malformed and deleted codes get the same 404."""
    row = find_screening(code) or abort(404)
    return render_result(result_of(row), code=row.code, taken_at=row.taken_at)
