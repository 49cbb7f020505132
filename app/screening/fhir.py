"""Stored screenings as FHIR R4 QuestionnaireResponse resources (plain dicts, JSON-ready)."""
from __future__ import annotations

from ..models import Screening
from . import case_references, codes
from .instruments import INSTRUMENTS, PRODUCT_CLUSTERS

LOINC = "http://loinc.org"
# Confirmed LOINC codes only (instruments.md) are used: each instrument's module holds its own.
RESULT_CODE_SYSTEM = "urn:ptsd-self-check:result-code"
# A clinic's export names a result by its case reference, never by the person's code (their key).
CASE_REFERENCE_SYSTEM = "urn:ptsd-self-check:case-reference"
# Where LOINC has no confirmed panel, this app's own fixed name for the questionnaire: the same from every
# server and every request (a canonical built from the Host header would let a request rename it).
QUESTIONNAIRE_NAMESPACE = "urn:ptsd-self-check:questionnaire:"
# What meta.tag holds: the version of the instrument the answers were given to (not a result code).
INSTRUMENT_VERSION_SYSTEM = "urn:ptsd-self-check:instrument-version"


def questionnaire_canonical(instrument_id: str) -> str:
    """LOINC's canonical for a confirmed panel (the PCL-5's); a fixed name of this app's where LOINC is unconfirmed."""
    panel = INSTRUMENTS[instrument_id].loinc_panel
    if panel is not None:
        return f"{LOINC}/q/{panel}"
    return QUESTIONNAIRE_NAMESPACE + instrument_id


def _integer(link_id: str, text: str, value: int) -> dict:
    return {"linkId": link_id, "text": text, "answer": [{"valueInteger": value}]}


def _boolean(link_id: str, text: str, value: bool) -> dict:
    return {"linkId": link_id, "text": text, "answer": [{"valueBoolean": value}]}


def answer_items(row: Screening) -> list[dict]:
    """One item per question, with the option chosen as a coding of the instrument's own labels."""
    instrument = INSTRUMENTS[row.instrument]
    system = questionnaire_canonical(instrument.id) + "#options"
    items = []
    if instrument.gate:
        items.append(_boolean("exposure", instrument.gate, bool(row.exposure)))
    labels = {option.score: option for option in instrument.options}
    for item, value in instrument.answered_items(row.answers):
        option = labels[int(value)]
        items.append({
            "linkId": item.field,
            "text": item.text,
            "answer": [{"valueCoding": {"system": system, "code": option.value, "display": option.label}}],
        })
    return items


def score_items(row: Screening) -> list[dict]:
    """Total, cut-off, cluster scores and, for the PCL-5, the DSM-5 sums and symptom rule."""
    instrument = INSTRUMENTS[row.instrument]
    total_link = instrument.loinc_total or "total"
    items = [_integer(total_link, f"{instrument.name} total score (0–{instrument.max_total})", row.total)]
    if row.cutoff is not None:
        items += [
            _integer("cutoff", "Cut-off in use", row.cutoff),
            _boolean("at-or-above-cutoff", "Total at or above the cut-off", row.at_or_above_cutoff),
        ]
    items += [
        _integer(f"cluster-{cluster}", f"Cluster score: {cluster} (0–{instrument.cluster_max(cluster)})",
                 getattr(row, cluster))
        for cluster in PRODUCT_CLUSTERS
    ]
    if instrument.has_dsm5_clusters:
        items += [_integer(f"dsm5-{letter}", f"DSM-5 cluster {letter} sum", getattr(row, f"dsm5_{letter.lower()}"))
                  for letter in "BCDE"]
        items.append(_boolean("dsm5-rule-met", "Provisional DSM-5 symptom rule met", bool(row.dsm5_rule_met)))
    if instrument.second_clusters:
        items += itq_score_items(row)
    return items


def itq_score_items(row: Screening) -> list[dict]:
    """The ITQ's self-organisation scores, both sets of ICD-11 criteria and the screening pattern (no LOINC
    code for the ITQ has been confirmed, so every linkId is this app's own)."""
    instrument = INSTRUMENTS[row.instrument]
    assert row.dso_total is not None  # an ITQ row stores its DSO total
    items = [_integer("dso-total", "DSO total score, C1–C6 (0–24)", row.dso_total)]
    items += [_integer(f"dso-{cluster.replace('_', '-')}", f"DSO cluster score: {cluster} (0–8)", getattr(row, cluster))
              for cluster in instrument.second_clusters]
    items += [
        _boolean("ptsd-criteria-met", "ICD-11 PTSD criteria met (ITQ)", bool(row.ptsd_criteria_met)),
        _boolean("dso-criteria-met", "ICD-11 DSO criteria met (ITQ)", bool(row.dso_criteria_met)),
        {"linkId": "diagnosis", "text": "Screening pattern (not a diagnosis): none, ptsd or cptsd",
         "answer": [{"valueCoding": {"system": questionnaire_canonical(instrument.id) + "#diagnosis",
                                     "code": row.icd11_pattern}}]},
    ]
    if row.event_when:
        label = {option.value: option.label for option in instrument.when_options}[row.event_when]
        items.append({"linkId": "when", "text": "When did the experience occur?",
                      "answer": [{"valueCoding": {"system": questionnaire_canonical(instrument.id) + "#when",
                                                  "code": row.event_when, "display": label}}]})
    return items


def questionnaire_response(row: Screening, for_clinic: bool = False) -> dict:
    """A completed QuestionnaireResponse for one stored screening; the subject is anonymous by design.
    The person's own download is identified by their code; a clinic's by the case reference."""
    if for_clinic:
        name, system = case_references.display(row.case_reference), CASE_REFERENCE_SYSTEM
    else:
        name, system = codes.display(row.code), RESULT_CODE_SYSTEM
    return {
        "resourceType": "QuestionnaireResponse",
        "id": name.lower(),
        "identifier": {"system": system, "value": name},
        "questionnaire": questionnaire_canonical(row.instrument),
        "status": "completed",
        "authored": row.taken_at.isoformat(timespec="seconds"),
        "meta": {"tag": [{"system": INSTRUMENT_VERSION_SYSTEM, "code": row.instrument_version,
                          "display": f"Instrument version: {row.instrument_version}"}]},
        "item": [
            {"linkId": "answers", "text": "Answers", "item": answer_items(row)},
            {"linkId": "scores", "text": "Scores", "item": score_items(row)},
        ],
    }
