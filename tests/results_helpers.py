"""Helpers shared by the tests/test_results_*.py modules: store results and build answer sets."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Screening, utcnow
from app.screening import codes
from tests.conftest import in_app_context


def pcl5_answers(total: int) -> list[int]:
    """Twenty ratings that add up to `total` (0–80)."""
    answers = [4] * (total // 4) + ([total % 4] if total % 4 else [])
    return answers + [0] * (20 - len(answers))


def store_pcl5(client, total: int, previous: str | None = None) -> str:
    """Store a PCL-5 result with the given total through the API; its code as displayed."""
    body = {"instrument": "pcl5", "answers": pcl5_answers(total), "store": True}
    if previous:
        body["previous"] = previous
    response = client.post("/api/v1/screenings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def store_pcptsd5(client, yes: int) -> str:
    """Store a PC-PTSD-5 result with `yes` Yes answers (exposure Yes)."""
    answers = [True] * yes + [False] * (5 - yes)
    response = client.post("/api/v1/screenings",
                           json={"instrument": "pcptsd5", "exposure": True, "answers": answers, "store": True})
    assert response.status_code == 201
    return response.get_json()["code"]


# ITQ answer sets with each screening pattern: none, PTSD only, and complex PTSD.
ITQ_PATTERNS = {
    "itq_none": [1] * 18,
    "itq_ptsd": [2, 0, 0, 3, 2, 0, 4, 0, 0] + [1] * 9,
    "itq_cptsd": [3, 2, 3, 2, 4, 3, 3, 2, 2, 3, 2, 3, 3, 2, 3, 2, 2, 1],
}


def store_itq(client, answers: list[int], previous: str | None = None, when: str | None = None) -> str:
    """Store an ITQ result through the API; its code as displayed."""
    body = {"instrument": "itq", "answers": answers, "store": True, "previous": previous, "when": when}
    response = client.post("/api/v1/screenings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


@in_app_context
def row_for(code: str) -> Screening | None:
    """The stored row for a displayed code, read fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(sa.select(Screening).where(Screening.code == codes.normalise(code)))


def typed_sloppily(code: str) -> str:
    """A code as someone might type it back: lower case, no dashes."""
    return code.lower().replace("-", "")


@in_app_context
def taken_days_ago(code: str, days: float) -> None:
    """Move a stored result's taken_at back in time, so a retake now is `days` later."""
    db.session.execute(sa.update(Screening).where(Screening.code == codes.normalise(code))
                       .values(taken_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def store_pcl5_earlier(client, total: int, days: float = 40, previous: str | None = None) -> str:
    """Store a PCL-5 result taken `days` ago (by default more than the month the PCL-5 asks about)."""
    code = store_pcl5(client, total, previous=previous)
    taken_days_ago(code, days)
    return code
