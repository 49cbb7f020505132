"""The workspace's filters (GET parameters) and the reader's scope, as WHERE clauses over screenings."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db
from ..models import Clinic, Clinician, Screening
from ..retention import expiry_cutoff
from ..screening import case_references, codes
from ..screening.instruments import INSTRUMENTS
from .filter_parsing import EARLIEST, LATEST, DateOutOfRange, parse_clinic_slug, parse_date

YES, NO = "yes", "no"
ME = "me"
# Typed reference fragments: the code alphabet plus Crockford's look-alikes, ignoring dashes and spaces.
_FRAGMENT = re.compile(r"[0-9A-Za-z\s\-]{1,20}")


@dataclass(frozen=True)
class Filters:
    """The current filters, read from GET parameters so every filtered page, chart and export is a link."""

    instrument: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    cutoff: str | None = None  # "yes": at or above the cut-off, "no": below
    reviewed: str | None = None  # "yes" or "no"
    code: str | None = None  # a case reference or its beginning, as typed (never a person's code)
    assigned: str | None = None  # "me": the series assigned to the reader
    clinic: str | None = None  # a clinic's slug: only its results (for readers who see several clinics)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def args(self) -> dict[str, str]:
        """The GET parameters that reproduce these filters (for links, pagination and exports)."""
        values = {
            "instrument": self.instrument,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "cutoff": self.cutoff,
            "reviewed": self.reviewed,
            "code": self.code,
            "assigned": self.assigned,
            "clinic": self.clinic,
        }
        return {name: value for name, value in values.items() if value}

    def describe(self) -> str:
        """The filters as one line for the audit log, e.g. `instrument=pcl5 from=2026-01-01`."""
        return " ".join(f"{name}={value}" for name, value in self.args().items()) or "all"

    def reference_match(self) -> str | None:
        """The stored form of the typed case reference or its beginning, for the search."""
        if not self.code:
            return None
        return case_references.normalise(self.code, prefix=True)


def _date(raw: str, label: str, errors: list[str]) -> date | None:
    try:
        return parse_date(raw)
    except DateOutOfRange:
        errors.append(_("%(label)s must be a date between %(earliest)s and %(latest)s.", label=label,
                        earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))
    except ValueError:
        errors.append(_("%(label)s must be a date like 2026-01-31.", label=label))
    return None


def parse_filters(args) -> tuple[Filters, list[str]]:
    """Filters from request.args; every unusable value is reported and left out, never guessed."""
    errors: list[str] = []
    raw = {name: (args.get(name) or "").strip()
           for name in ("instrument", "from", "to", "cutoff", "reviewed", "code", "assigned", "clinic")}
    instrument = raw["instrument"] or None
    if instrument and instrument not in INSTRUMENTS:
        errors.append(_("Choose an instrument from the list."))
        instrument = None
    date_from = _date(raw["from"], _("“From”"), errors) if raw["from"] else None
    date_to = _date(raw["to"], _("“To”"), errors) if raw["to"] else None
    if date_from and date_to and date_from > date_to:
        errors.append(_("“From” must not be after “To”."))
        date_from = date_to = None
    choices = {}
    for name in ("cutoff", "reviewed"):
        value = raw[name] or None
        if value not in (None, YES, NO):
            errors.append(_("Choose one of the listed options for “%(name)s”.",
                            name=_("Cut-off") if name == "cutoff" else _("Reviewed")))
            value = None
        choices[name] = value
    code = raw["code"] or None
    if code and not (_FRAGMENT.fullmatch(code) and case_references.normalise(code, prefix=True)):
        # Not echoed: the text may be a person's code, which no workspace page shows.
        errors.append(_("A case reference looks like R-7KQ-M9XD; you can also type its beginning. To add a "
                        "result by the person's code, use “Add a result by its code”."))
        code = None
    assigned = raw["assigned"] or None
    if assigned not in (None, ME):
        errors.append(_("Choose one of the listed options for “%(name)s”.", name=_("Assigned")))
        assigned = None
    clinic = parse_clinic_slug(raw["clinic"], errors)
    return (Filters(instrument, date_from, date_to, choices["cutoff"], choices["reviewed"], code, assigned, clinic),
            errors)


@dataclass(frozen=True)
class Scope:
    """Which results a reader may see: every one (admins), or those shared with their clinics."""

    clinic_ids: tuple[int, ...] | None  # None: every result
    clinician_id: int | None = None  # the reader, for ?assigned=me

    @property
    def everything(self) -> bool:
        return self.clinic_ids is None

    def allows(self, row: Screening) -> bool:
        """Whether this reader may see a result (its age is checked by the query that found it)."""
        return self.clinic_ids is None or row.clinic_id in self.clinic_ids  # None: everything


def scope_of(clinician: Clinician) -> Scope:
    """Admins see every result; a clinician those of the clinics they belong to (none: nothing)."""
    if clinician.is_admin:
        return Scope(None, clinician.id)
    return Scope(tuple(sorted(clinic.id for clinic in clinician.clinics)), clinician.id)


def scope_for(clinician: Clinician, filters: Filters) -> tuple[Scope, list[str]]:
    """The reader's scope narrowed to the clinic `?clinic=` names, if any: one of their clinics (an
    admin: any). Another clinic, or an unknown one, is an error alike, so none is confirmed to exist."""
    scope = scope_of(clinician)
    if not filters.clinic:
        return scope, []
    clinic_id = db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == filters.clinic))
    if clinic_id is None or not (scope.everything or clinic_id in (scope.clinic_ids or ())):
        return scope, [_("Choose a clinic from the list.")]
    return Scope((clinic_id,)), []


class unindexed(FunctionElement):
    """A column that SQLite must not pick an index for (`+taken_at`); other databases see the column.
    The queue walks a triage index in order; left to itself, SQLite took a date range (the retention
    bound and "to") on the taken_at index and sorted every match: 3.6 s instead of 0.1 ms at 430,000."""

    inherit_cache = True

    def __init__(self, column):
        super().__init__(column)
        self.type = column.type  # so a compared value is bound as the column's (UTCDateTime's check)


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


def _taken_at(in_triage_order: bool):
    return unindexed(Screening.taken_at) if in_triage_order else Screening.taken_at


def scoped(statement: sa.Select, scope: Scope, in_triage_order: bool = False,
           narrower: bool = False) -> sa.Select:
    """Only results within retention that this reader may see. A clinic's results are found through
    its clinic_id (a fiftieth of the rows at 50 clinics), never a date index: SQLite took the taken_at
    index for the retention bound and read every clinic's rows (statistics 180 ms instead of ~20).
    With `narrower` (a reference or an assignee, which match far fewer), the clinic is checked on the
    rows those find: SQLite otherwise walked the whole clinic (130–170 ms at 1,000,000)."""
    keep_off_dates = in_triage_order or not scope.everything
    statement = statement.where(_taken_at(keep_off_dates) >= expiry_cutoff())
    if scope.everything:
        return statement
    if not scope.clinic_ids:
        return statement.where(sa.false())
    clinic_id = unindexed(Screening.clinic_id) if narrower else Screening.clinic_id
    if len(scope.clinic_ids) == 1:
        return statement.where(clinic_id == scope.clinic_ids[0])
    return statement.where(clinic_id.in_(scope.clinic_ids))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(statement: sa.Select, filters: Filters, scope: Scope, in_triage_order: bool = False) -> sa.Select:
    """Add the reader's scope and the filters' WHERE clauses to a statement over screenings. A statement
    read in triage order (the queue) keeps SQLite off the taken_at indexes (see `unindexed`)."""
    statement = scoped(statement, scope, in_triage_order,
                       narrower=filters.assigned == ME or filters.reference_match() is not None)
    taken_at = _taken_at(in_triage_order or not scope.everything)
    # Within a clinic, the cut-off is filtered on the clinic's own index: SQLite otherwise walked the
    # cut-off index through every clinic's results (1.3 s instead of ~10 ms at 1,000,000).
    cutoff = unindexed(Screening.at_or_above_cutoff) if not scope.everything else Screening.at_or_above_cutoff
    if filters.instrument:
        statement = statement.where(Screening.instrument == filters.instrument)
    if filters.date_from:
        statement = statement.where(taken_at >= _start_of(filters.date_from))
    if filters.date_to:  # "to" includes the whole day
        statement = statement.where(taken_at < _start_of(filters.date_to + timedelta(days=1)))
    if filters.cutoff:
        statement = statement.where(cutoff.is_(filters.cutoff == YES))
    if filters.reviewed:
        statement = statement.where(Screening.reviewed.is_(filters.reviewed == YES))
    if filters.assigned == ME:
        statement = statement.where(Screening.assigned_to_id == scope.clinician_id)
    typed = filters.reference_match()
    if typed:
        # A reference never reaches a result no clinic has: only its whole code, handed over, does.
        statement = statement.where(Screening.clinic_id.is_not(None))
        # LIKE 'AB%' cannot use the unique index on SQLite (its LIKE ignores case); the range can.
        reference = Screening.case_reference
        statement = statement.where(reference >= typed, reference.startswith(typed, autoescape=True))
        upper = _next_prefix(typed)
        if upper:
            statement = statement.where(reference < upper)
    return statement


def _next_prefix(prefix: str) -> str | None:
    """The smallest code prefix after every code that starts with `prefix`, in the code alphabet
    (whose symbols sort the same way bytewise and in common collations), or None if there is none."""
    while prefix:
        position = codes.ALPHABET.find(prefix[-1])
        if position + 1 < len(codes.ALPHABET):
            return prefix[:-1] + codes.ALPHABET[position + 1]
        prefix = prefix[:-1]
    return None
