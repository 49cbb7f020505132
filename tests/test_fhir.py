"""FHIR R4 QuestionnaireResponse built from stored screenings, validated by a real FHIR model library."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

# fhir.resources ships R5 as its default and R4B beside it; R4B's QuestionnaireResponse is R4's.
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from app.models import Screening
from app.screening.fhir import questionnaire_response

BODIES = [
    {"instrument": "pcl5", "answers": list(range(5)) * 4, "store": True},
    {"instrument": "pcptsd5", "exposure": True, "answers": [True, False, True, False, True], "store": True},
    {"instrument": "pcptsd5", "exposure": False, "store": True},
]


@pytest.mark.parametrize("body", BODIES, ids=["pcl5", "pcptsd5", "pcptsd5-no-exposure"])
def test_questionnaire_response_validates_and_carries_answers_and_scores(app, client, db, body):
    client.post("/api/v1/screenings", json=body)
    with app.test_request_context():
        row = db.session.scalars(sa.select(Screening)).one()
        resource = questionnaire_response(row)
    parsed = QuestionnaireResponse.model_validate(resource)
    assert parsed.status == "completed"
    answers, scores = resource["item"]
    by_link = {item["linkId"]: item["answer"][0] for item in scores["item"]}
    if body["instrument"] == "pcl5":
        assert resource["questionnaire"] == "http://loinc.org/q/101697-1"
        assert by_link["101698-9"] == {"valueInteger": 40}
        assert [a["answer"][0]["valueCoding"]["code"] for a in answers["item"]] == [str(v) for v in body["answers"]]
        assert by_link["dsm5-rule-met"] == {"valueBoolean": False}
    else:
        assert by_link["total"] == {"valueInteger": sum(body.get("answers", []))}
        assert answers["item"][0] == {"linkId": "exposure", "text": answers["item"][0]["text"],
                                      "answer": [{"valueBoolean": body["exposure"]}]}
    assert by_link["cluster-reexperiencing"]["valueInteger"] == row.reexperiencing
