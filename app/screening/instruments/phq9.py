"""PHQ-9 (Kroenke, Spitzer & Williams 2001): its 9 items, severity bands and scoring."""
from __future__ import annotations

import random
from collections.abc import Sequence

from .base import (
    N_,
    ChangeRule,
    DemoAnswers,
    Instrument,
    InvalidAnswers,
    Item,
    Option,
    SafetyItem,
    ScreeningResult,
    check_cutoff,
    cluster_sums,
    demo_rating,
)

# Its nine items form one scale: the total is the sum (0–27), with no subscales.
DEPRESSIVE_SYMPTOMS = "depressive_symptoms"

# The published answer scale, scored 0–3.
NOT_AT_ALL_TO_NEARLY_EVERY_DAY: tuple[Option, ...] = (
    Option("0", "Not at all", 0),
    Option("1", "Several days", 1),
    Option("2", "More than half the days", 2),
    Option("3", "Nearly every day", 3),
)

LOWE_2004 = (
    "L\u00f6we, B., Un\u00fctzer, J., Callahan, C. M., Perkins, A. J., & Kroenke, K. (2004). Monitoring "
    "depression treatment outcomes with the Patient Health Questionnaire-9. Medical Care, 42(12), 1194\u20131201."
)

PHQ9 = Instrument(
    id="phq9",
    version="PHQ-9 (2001)",
    name="PHQ-9",
    title="Patient Health Questionnaire-9 (PHQ-9)",
    time_frame="last 2 weeks",
    time_frame_days=14,
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    stem="",
    # Item wording as on the published form (Pfizer; "No permission required to reproduce, translate,
    # display or distribute"). Its optional closing question on difficulty is not scored and not asked here.
    items=tuple(Item(number, text, DEPRESSIVE_SYMPTOMS) for number, text in enumerate((
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite \u2014 being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ), start=1)),
    options=NOT_AT_ALL_TO_NEARLY_EVERY_DAY,
    credit=(
        "PHQ-9: Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9: validity of a brief "
        "depression severity measure. Journal of General Internal Medicine, 16(9), 606\u2013613. "
        "doi:10.1046/j.1525-1497.2001.016009606.x. Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, "
        "Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission required to "
        "reproduce, translate, display or distribute."
    ),
    source_url="https://doi.org/10.1046/j.1525-1497.2001.016009606.x",
    # 10: a total of 10 or more had 88% sensitivity and 88% specificity for major depression (Kroenke et
    # al. 2001). PHQ9_CUTOFF overrides it (config.py).
    default_cutoff=10,
    # Kroenke et al. 2001: totals of 5, 10, 15 and 20 mark mild, moderate, moderately severe and severe
    # depression; below 5, minimal.
    severity_bands=(
        (0, N_("minimal")), (5, N_("mild")), (10, N_("moderate")), (15, N_("moderately severe")),
        (20, N_("severe")),
    ),
    # Löwe, Unützer, Callahan, Perkins & Kroenke 2004 (abstract, Med Care 42(12):1194-1201): "Test-retest
    # reliability of the PHQ-9 was excellent, and its minimal clinically important difference for individual
    # change, estimated as 2 standard errors of measurement, was 5 points on the 0 to 27 point PHQ-9 scale."
    # So a change of 5 or more is read as larger than measurement error in one person. No smaller,
    # provisional figure was read in a source, so there is no "may be real" band (possible == reliable).
    # Not used: NHS Talking Therapies' reliable improvement (a fall of 6 or more), whose manual's text could
    # not be read here, only second-hand reports of it.
    change_rule=ChangeRule(
        reliable=5,
        reliable_source=LOWE_2004,
        possible=5,
        possible_source=LOWE_2004,
        improved_words=N_("A change of %(reliable)s points or more is larger than this questionnaire\u2019s "
                          "measurement error in one person: this suggests a real improvement in how often these "
                          "problems bother you."),
        worsened_words=N_("A change of %(reliable)s points or more is larger than this questionnaire\u2019s "
                          "measurement error in one person: these problems seem to bother you more often than they "
                          "did. That is worth talking over with a clinician; it does not mean things cannot get "
                          "better."),
        headline_words=N_("a change of at least %(reliable)s points, larger than this questionnaire\u2019s "
                          "measurement error."),
        headline_source=N_("Source: Löwe and others, 2004 (the smallest change in one person larger than the "
                           "questionnaire\u2019s measurement error). Details below."),
        clinician_words=N_("beyond measurement error (%(reliable)s points or more, 2 standard errors of "
                           "measurement; Löwe et al. 2004)"),
    ),
    # Item 9 answered above "Not at all": the person's crisis box asks them to reach out today.
    safety_items=(SafetyItem(9, 1, N_("thoughts of being better off dead or of self-harm"), N_(
        "You said you have had thoughts that you would be better off dead or of hurting yourself. You do not "
        "have to wait for an appointment: you can talk to someone now, any time of day.")),),
    treatments_page=None,
    not_a_diagnosis=N_("A questionnaire cannot diagnose depression. Only a trained professional can, after "
                       "talking with you."),
    # LOINC: the PHQ-9 panel and its total score.
    loinc_panel="44249-1",
    loinc_total="44261-6",
    reports_clusters=False,
    cluster_names=((DEPRESSIVE_SYMPTOMS, N_("Depression symptoms")),),
    verdict_partial="screening/_verdict_phq9.html",
    cutoff_note_partial="screening/_cutoff_note_phq9.html",
    score_meaning=N_("The score shows how often these problems bothered you in the last 2 weeks. Many other "
                     "things can cause similar feelings, and depression can be treated: a clinician can explain "
                     "the options."),
    person_name=N_("Mood questionnaire"),
    follow_up_offer=N_("Also check your mood"),
    demo_weight=10,
)


def score_phq9(answers: Sequence[int], cutoff: int | None = None) -> ScreeningResult:
    """Score 9 PHQ-9 ratings (0–3): the total and whether it is at or above the cut-off."""
    if cutoff is None:
        cutoff = PHQ9.default_cutoff
        assert cutoff is not None
    check_cutoff(PHQ9, cutoff)
    answers = tuple(answers)
    errors = []
    if len(answers) != len(PHQ9.items):
        errors.append(f"Expected {len(PHQ9.items)} answers, got {len(answers)}.")
    errors += [f"Answer {number} must be a whole number from 0 to 3."
               for number, value in enumerate(answers, start=1) if type(value) is not int or not 0 <= value <= 3]
    if errors:
        raise InvalidAnswers(errors)
    total = sum(answers)
    return ScreeningResult(
        instrument=PHQ9, answers=answers, exposure=None, total=total, clusters=cluster_sums(PHQ9, answers),
        cutoff=cutoff, at_or_above_cutoff=total >= cutoff,
    )


# Made-up item 9 ratings sit this far below the others: thoughts of being better off dead or of self-harm
# are rarer than the other symptoms, so demo data has some safety flags, mostly among the most affected.
DEMO_ITEM9_SHIFT = -1.5


def demo_phq9(rng: random.Random, severity: float) -> DemoAnswers:
    """Made-up answers for demo data: nine 0–3 ratings around a latent severity, item 9 endorsed less often."""
    return DemoAnswers(tuple(demo_rating(rng, severity, DEMO_ITEM9_SHIFT if item.number == 9 else 0.0, top=3)
                             for item in PHQ9.items))
