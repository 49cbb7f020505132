"""One result per submission: the one-time value bound to the content, and storing it at most once."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Screening, utcnow
from app.screening import service
from app.screening.instruments import PCL5
from app.screening.service import add_screening, score
from app.screening.submissions import new_one_time_value, submission_key
from tests.conftest import in_app_context, kept_code, one_time_value, stored_count

ONCE = "0123456789abcdef0123"


@in_app_context
def key_for(once, answers=(2,) * 20):
    return submission_key(once, score(PCL5, list(answers)), None, None)


@pytest.mark.parametrize("once", [None, "", "short", "x" * 65, "has space in it!", 12345678901234567890])
def test_no_usable_value_gives_no_key(app, once):
    assert key_for(once) is None


def test_the_key_is_bound_to_the_value_and_to_what_is_stored(app):
    assert key_for(ONCE) == key_for(ONCE) and len(key_for(ONCE)) == 64
    assert key_for(ONCE) != key_for(ONCE[::-1])
    assert key_for(ONCE) != key_for(ONCE, answers=(2,) * 19 + (3,))
    assert ONCE not in key_for(ONCE)  # a digest: the value itself is not stored
    assert len({new_one_time_value() for _ in range(50)}) == 50


def test_two_requests_with_the_same_submission_at_once_store_one_row(app, db, monkeypatch):
    """A double click: both requests miss the other's row before inserting; the unique key refuses the
    second insert, which then answers with the first one's code."""
    with app.app_context():
        key = key_for(ONCE)
        first = add_screening(score(PCL5, [2] * 20), submission_key=key)
        real = service._stored_by
        calls = []

        def late(submission):
            calls.append(submission)
            return None if len(calls) == 1 else real(submission)

        monkeypatch.setattr(service, "_stored_by", late)
        assert add_screening(score(PCL5, [2] * 20), submission_key=key) == first
        assert len(calls) == 2
    assert stored_count() == 1


def test_a_form_kept_open_past_the_retention_period_stores_a_new_result(app, db, client):
    data = {"store": "yes", "submission": one_time_value(), **{f"q{n}": "2" for n in range(1, 21)}}
    first = kept_code(client.post("/screen/pcl5", data=data))
    with app.app_context():
        from app.extensions import db as _db
        _db.session.execute(sa.update(Screening).values(taken_at=utcnow() - timedelta(days=400)))
        _db.session.commit()
    again = client.post("/screen/pcl5", data=data)
    assert again.status_code == 200 and kept_code(again) not in (None, first)
    assert stored_count() == 2
