"""ITQ (Cloitre et al. 2018): ICD-11 PTSD and complex PTSD, its 18 items and its diagnostic rules."""
from __future__ import annotations

import random
from collections.abc import Sequence
from types import MappingProxyType

from .base import (
    AROUSAL,
    AVOIDANCE,
    DEMO_CLUSTER_SHIFT,
    N_,
    NOT_AT_ALL_TO_EXTREMELY,
    REEXPERIENCING,
    DemoAnswers,
    Instrument,
    InvalidAnswers,
    Item,
    Option,
    ScreeningResult,
    cluster_sums,
    demo_rating,
)

# ICD-11's disturbances in self-organisation (DSO), the three clusters that complex PTSD adds.
AFFECTIVE_DYSREGULATION = "affective_dysregulation"
NEGATIVE_SELF_CONCEPT = "negative_self_concept"
DISTURBED_RELATIONSHIPS = "disturbed_relationships"
DSO_CLUSTERS = (AFFECTIVE_DYSREGULATION, NEGATIVE_SELF_CONCEPT, DISTURBED_RELATIONSHIPS)
PTSD_IMPAIRMENT = "ptsd_impairment"
DSO_IMPAIRMENT = "dso_impairment"

# The published form's four parts, in order (the keys of Item.section).
PTSD_SYMPTOMS_PART = "ptsd_symptoms"
DSO_SYMPTOMS_PART = "dso_symptoms"

# Cloitre et al. 2018 (scoring appendix): a symptom or an impairment counts when rated 2 ("Moderately")
# or higher; PTSD needs one of each pair (re-experiencing, avoidance, sense of current threat) and one
# impairment item; DSO the same over its three pairs and its own impairment items. Complex PTSD is PTSD
# plus DSO, and a person meets either PTSD or complex PTSD, never both.
ENDORSED_AT = 2
NONE, PTSD, CPTSD = "none", "ptsd", "cptsd"
DIAGNOSES = (NONE, PTSD, CPTSD)

# "When did the experience occur?": the published fixed list, asked here as an optional answer and
# never scored. The free-text description of the experience is never collected.
WHEN_OPTIONS = (
    Option("lt6m", "less than 6 months ago", 0),
    Option("6to12m", "6 to 12 months ago", 0),
    Option("1to5y", "1 to 5 years ago", 0),
    Option("5to10y", "5 to 10 years ago", 0),
    Option("10to20y", "10 to 20 years ago", 0),
    Option("gt20y", "more than 20 years ago", 0),
)
WHEN_VALUES = tuple(option.value for option in WHEN_OPTIONS)

PTSD_IMPAIRMENT_LEAD_IN = "In the past month have the above problems:"
DSO_INSTRUCTIONS = (
    "Below are problems or symptoms that people who have had stressful or traumatic events sometimes "
    "experience. The questions refer to ways you typically feel, ways you typically think about yourself "
    "and ways you typically relate to others. Answer the following thinking about how true each statement "
    "is of you."
)
DSO_STEM = "How true is this of you?"
DSO_IMPAIRMENT_LEAD_IN = (
    "In the past month, have the above problems in emotions, in beliefs about yourself and in "
    "relationships:"
)


def triage_rank(answers: Sequence[int]) -> int:
    """Complex PTSD ranks above every other positive result in the clinician's queue (1, else 0): it is
    PTSD plus disturbances in self-organisation with their own impairment (ICD-11; Cloitre et al. 2018),
    so a mild complex PTSD comes before a severe PTSD."""
    ptsd_met = _criteria_met(answers, PTSD_PAIRS, PTSD_IMPAIRMENT_ITEMS)
    dso_met = _criteria_met(answers, DSO_PAIRS, DSO_IMPAIRMENT_ITEMS)
    return 1 if icd11_pattern_of(ptsd_met, dso_met) == CPTSD else 0


ITQ = Instrument(
    id="itq",
    version="ITQ (2018)",
    name="ITQ",
    title="International Trauma Questionnaire (ITQ)",
    time_frame="past month",
    time_frame_days=30,
    instructions=(
        "Please identify the experience that troubles you most and answer the questions in relation to "
        "this experience."
    ),
    stem=(
        "Below are a number of problems that people sometimes report in response to traumatic or "
        "stressful life events. Please read each item carefully, then select one of the options to "
        "indicate how much you have been bothered by that problem in the past month."
    ),
    items=(
        Item(1, "Having upsetting dreams that replay part of the experience or are clearly related to the "
                "experience?", REEXPERIENCING, section=PTSD_SYMPTOMS_PART),
        Item(2, "Having powerful images or memories that sometimes come into your mind in which you feel "
                "the experience is happening again in the here and now?", REEXPERIENCING,
             section=PTSD_SYMPTOMS_PART),
        Item(3, "Avoiding internal reminders of the experience (for example, thoughts, feelings, or "
                "physical sensations)?", AVOIDANCE, section=PTSD_SYMPTOMS_PART),
        Item(4, "Avoiding external reminders of the experience (for example, people, places, "
                "conversations, objects, activities, or situations)?", AVOIDANCE, section=PTSD_SYMPTOMS_PART),
        Item(5, "Being \u201csuper-alert\u201d, watchful, or on guard?", AROUSAL, section=PTSD_SYMPTOMS_PART),
        Item(6, "Feeling jumpy or easily startled?", AROUSAL, section=PTSD_SYMPTOMS_PART),
        Item(7, "Affected your relationships or social life?", PTSD_IMPAIRMENT, section=PTSD_IMPAIRMENT,
             lead_in=PTSD_IMPAIRMENT_LEAD_IN),
        Item(8, "Affected your work or ability to work?", PTSD_IMPAIRMENT, section=PTSD_IMPAIRMENT),
        Item(9, "Affected any other important part of your life such as parenting, or school or college "
                "work, or other important activities?", PTSD_IMPAIRMENT, section=PTSD_IMPAIRMENT),
        Item(10, "When I am upset, it takes me a long time to calm down.", AFFECTIVE_DYSREGULATION,
             section=DSO_SYMPTOMS_PART, lead_in=f"{DSO_INSTRUCTIONS}\n{DSO_STEM}"),
        Item(11, "I feel numb or emotionally shut down.", AFFECTIVE_DYSREGULATION, section=DSO_SYMPTOMS_PART),
        Item(12, "I feel like a failure.", NEGATIVE_SELF_CONCEPT, section=DSO_SYMPTOMS_PART),
        Item(13, "I feel worthless.", NEGATIVE_SELF_CONCEPT, section=DSO_SYMPTOMS_PART),
        Item(14, "I feel distant or cut off from people.", DISTURBED_RELATIONSHIPS, section=DSO_SYMPTOMS_PART),
        Item(15, "I find it hard to stay emotionally close to people.", DISTURBED_RELATIONSHIPS,
             section=DSO_SYMPTOMS_PART),
        Item(16, "Created concern or distress about your relationships or social life?", DSO_IMPAIRMENT,
             section=DSO_IMPAIRMENT, lead_in=DSO_IMPAIRMENT_LEAD_IN),
        Item(17, "Affected your work or ability to work?", DSO_IMPAIRMENT, section=DSO_IMPAIRMENT),
        Item(18, "Affected any other important parts of your life such as parenting, or school or college "
                 "work, or other important activities?", DSO_IMPAIRMENT, section=DSO_IMPAIRMENT),
    ),
    options=NOT_AT_ALL_TO_EXTREMELY,
    credit=(
        "ITQ: Cloitre, M., Shevlin, M., Brewin, C. R., Bisson, J. I., Roberts, N. P., Maercker, A., "
        "Karatzias, T., & Hyland, P. (2018). The International Trauma Questionnaire: development of a "
        "self-report measure of ICD-11 PTSD and complex PTSD. Acta Psychiatrica Scandinavica, 138(6), "
        "536\u2013546. doi:10.1111/acps.12956. Freely available."
    ),
    source_url="https://doi.org/10.1111/acps.12956",
    default_cutoff=None,
    total_max=24,  # the PTSD symptom total, P1–P6
    when_options=WHEN_OPTIONS,
    form_intro_partial="screening/_itq_form_intro.html",
    second_clusters=DSO_CLUSTERS,
    # ICD-11 calls its three PTSD clusters by these names, and adds the three disturbances in
    # self-organisation; the form's four parts follow the published questionnaire.
    cluster_names=(
        (REEXPERIENCING, N_("Re-experiencing in the here and now")),
        (AVOIDANCE, N_("Avoidance")),
        (AROUSAL, N_("Sense of current threat")),
        (AFFECTIVE_DYSREGULATION, N_("Affective dysregulation")),
        (NEGATIVE_SELF_CONCEPT, N_("Negative self-concept")),
        (DISTURBED_RELATIONSHIPS, N_("Disturbances in relationships")),
        (PTSD_IMPAIRMENT, N_("Effect on life (PTSD)")),
        (DSO_IMPAIRMENT, N_("Effect on life (self-organisation)")),
    ),
    verdict_partial="screening/_verdict_itq.html",
    person_name=N_("Trauma questionnaire"),
    person_summary=N_("18 questions about the past month and about how you usually feel, see yourself and get on "
                      "with people. About 5 minutes."),
    person_when_to_choose=N_(
        "Choose this one if you went through long or repeated harm (for example abuse, violence at home, "
        "captivity) or if you are in a country that uses the World Health Organization’s ICD-11: it also "
        "looks at complex PTSD. The other two follow the American manual, DSM-5."),
    menu_order=3,
    demo_weight=15,
    result_details_partial="screening/_itq_result.html",
    rank_rule=triage_rank,
    ranked_first=N_("complex PTSD"),
)

# Item numbers (1-based) of each pair and impairment set, as the published rules name them.
PTSD_PAIRS = ((1, 2), (3, 4), (5, 6))
PTSD_IMPAIRMENT_ITEMS = (7, 8, 9)
DSO_PAIRS = ((10, 11), (12, 13), (14, 15))
DSO_IMPAIRMENT_ITEMS = (16, 17, 18)


def _criteria_met(answers: Sequence[int], pairs, impairment) -> bool:
    def endorsed(number: int) -> bool:
        return answers[number - 1] >= ENDORSED_AT

    return all(endorsed(a) or endorsed(b) for a, b in pairs) and any(endorsed(n) for n in impairment)


def ptsd_symptoms_without_impairment(answers: Sequence[int]) -> bool:
    """Every PTSD symptom pair endorsed, yet none of the items about effects on daily life (7–9):
    the one part of the PTSD criteria that was not met."""
    def endorsed(number: int) -> bool:
        return answers[number - 1] >= ENDORSED_AT

    return (len(answers) >= max(PTSD_IMPAIRMENT_ITEMS)
            and all(endorsed(a) or endorsed(b) for a, b in PTSD_PAIRS)
            and not any(endorsed(n) for n in PTSD_IMPAIRMENT_ITEMS))


def icd11_pattern_of(ptsd_met: bool, dso_met: bool) -> str:
    """The screening pattern: complex PTSD needs both sets of criteria; DSO alone is not a diagnosis."""
    if ptsd_met and dso_met:
        return CPTSD
    return PTSD if ptsd_met else NONE


def score_itq(answers: Sequence[int], when: str | None = None) -> ScreeningResult:
    """Score 18 ITQ ratings (0–4): PTSD and DSO criteria, the pattern, and both sets of cluster sums."""
    answers = tuple(answers)
    errors = []
    if len(answers) != len(ITQ.items):
        errors.append(f"ITQ needs {len(ITQ.items)} answers, got {len(answers)}.")
    for number, value in enumerate(answers, start=1):
        if type(value) is not int or not 0 <= value <= 4:
            errors.append(f"Answer {number} must be a whole number from 0 to 4.")
    if when is not None and when not in WHEN_VALUES:
        errors.append("The time since the experience must be one of the listed ranges.")
    if errors:
        raise InvalidAnswers(errors)

    ptsd_met = _criteria_met(answers, PTSD_PAIRS, PTSD_IMPAIRMENT_ITEMS)
    dso_met = _criteria_met(answers, DSO_PAIRS, DSO_IMPAIRMENT_ITEMS)
    dso_clusters = {
        cluster: sum(answers[item.number - 1] for item in ITQ.cluster_items(cluster)) for cluster in DSO_CLUSTERS
    }
    pattern = icd11_pattern_of(ptsd_met, dso_met)
    return ScreeningResult(
        instrument=ITQ,
        answers=answers,
        exposure=None,
        total=sum(answers[0:6]),
        clusters=MappingProxyType(cluster_sums(ITQ, answers)),
        cutoff=None,
        at_or_above_cutoff=pattern != NONE,
        dso_total=sum(dso_clusters.values()),
        dso_clusters=MappingProxyType(dso_clusters),
        ptsd_criteria_met=ptsd_met,
        dso_criteria_met=dso_met,
        icd11_pattern=pattern,
        when=when,
    )


def demo_itq(rng: random.Random, severity: float) -> DemoAnswers:
    """Made-up answers for demo data: eighteen 0–4 ratings and the time since the event. The
    self-organisation items follow a second, weaker severity: only some of those with PTSD symptoms also
    have the disturbances of complex PTSD."""
    dso_severity = severity * rng.uniform(0.2, 1.1)
    answers = tuple(demo_rating(rng, dso_severity) if item.section in (DSO_SYMPTOMS_PART, DSO_IMPAIRMENT) else
                    demo_rating(rng, severity, DEMO_CLUSTER_SHIFT.get(item.cluster, 0.0)) for item in ITQ.items)
    return DemoAnswers(answers, when=rng.choice(WHEN_VALUES))
