"""PCL-5 (Weathers et al. 2013): its 20 items, the DSM-5 clusters and its scoring."""
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
    ChangeRule,
    DemoAnswers,
    Instrument,
    InvalidAnswers,
    Item,
    SafetyItem,
    ScreeningResult,
    check_cutoff,
    cluster_sums,
    demo_rating,
)

# An item rated "Moderately" (2) or higher counts as a symptom endorsed (Weathers et al. 2013).
PCL5_ENDORSED_AT = 2
# Provisional DSM-5 rule: endorsed items needed in each DSM-5 cluster.
DSM5_RULE = MappingProxyType({"B": 1, "C": 1, "D": 2, "E": 2})


def _pcl5_item(number: int, text: str) -> Item:
    if number <= 5:
        return Item(number, text, REEXPERIENCING, "B")
    if number <= 7:
        return Item(number, text, AVOIDANCE, "C")
    if number <= 14:
        return Item(number, text, AVOIDANCE, "D")
    return Item(number, text, AROUSAL, "E")


PCL5 = Instrument(
    id="pcl5",
    version="PCL-5 (2013), past month",
    name="PCL-5",
    title="PTSD Checklist for DSM-5 (PCL-5)",
    time_frame="past month",
    time_frame_days=30,
    # One official version only: the National Center for PTSD's fillable form (version date
    # 11 April 2018), whose "select one of the options" suits a web page (the 2013 paper form
    # says "circle"). See docs/translations.md for the copy it was checked against.
    instructions=(
        "Below is a list of problems that people sometimes have in response to a very stressful "
        "experience. Please read each problem and then select one of the options to indicate how "
        "much you have been bothered by that problem in the past month. The options include not at "
        "all, a little bit, moderately, quite a bit, and extremely."
    ),
    stem="In the past month, how much were you bothered by:",
    items=tuple(
        _pcl5_item(number, text)
        for number, text in enumerate(
            (
                "Repeated, disturbing, and unwanted memories of the stressful experience?",
                "Repeated, disturbing dreams of the stressful experience?",
                "Suddenly feeling or acting as if the stressful experience were actually happening "
                "again (as if you were actually back there reliving it)?",
                "Feeling very upset when something reminded you of the stressful experience?",
                "Having strong physical reactions when something reminded you of the stressful "
                "experience (for example, heart pounding, trouble breathing, sweating)?",
                "Avoiding memories, thoughts, or feelings related to the stressful experience?",
                "Avoiding external reminders of the stressful experience (for example, people, "
                "places, conversations, activities, objects, or situations)?",
                "Trouble remembering important parts of the stressful experience?",
                "Having strong negative beliefs about yourself, other people, or the world (for "
                "example, having thoughts such as: I am bad, there is something seriously wrong "
                "with me, no one can be trusted, the world is completely dangerous)?",
                "Blaming yourself or someone else for the stressful experience or what happened "
                "after it?",
                "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
                "Loss of interest in activities that you used to enjoy?",
                "Feeling distant or cut off from other people?",
                "Trouble experiencing positive feelings (for example, being unable to feel "
                "happiness or have loving feelings for people close to you)?",
                "Irritable behavior, angry outbursts, or acting aggressively?",
                "Taking too many risks or doing things that could cause you harm?",
                "Being \u201csuperalert\u201d or watchful or on guard?",
                "Feeling jumpy or easily startled?",
                "Having difficulty concentrating?",
                "Trouble falling or staying asleep?",
            ),
            start=1,
        )
    ),
    options=NOT_AT_ALL_TO_EXTREMELY,
    credit=(
        "PCL-5: Weathers, F. W., Litz, B. T., Keane, T. M., Palmieri, P. A., Marx, B. P., & "
        "Schnurr, P. P. (2013). The PTSD Checklist for DSM-5 (PCL-5). National Center for PTSD."
    ),
    source_url="https://www.ptsd.va.gov/professional/assessment/adult-sr/ptsd-checklist.asp",
    # 33: the National Center for PTSD's first proposed cut-point, within its 31-33 range for probable
    # PTSD (Bovin et al. 2016, Psychol Assess 28(11):1379-1391). PCL5_CUTOFF overrides it (config.py).
    default_cutoff=33,
    # The National Center for PTSD: a total of 31-33 indicates probable PTSD across samples (Bovin et
    # al. 2016); a result in this range below the site's cut-off says so.
    probable_range=(31, 33),
    # Reliable change in one person: 15 and 18 points in two samples of Marx et al. 2022 (Psychol
    # Assess 34(2):197-203); the larger is used, so a change called reliable is so in both. The
    # National Center for PTSD's 5-10 points (reliable) and 10-20 (clinically meaningful) are
    # provisional, carried over from the DSM-IV PCL: at 5 or more a change "may be real".
    change_rule=ChangeRule(
        reliable=18,
        reliable_source=(
            "Marx, B. P., Lee, D. J., Norman, S. B., et al. (2022). Reliable and clinically significant "
            "change in the CAPS-5 and PCL-5 among male veterans. Psychological Assessment, 34(2), 197–203."
        ),
        possible=5,
        possible_source=(
            "National Center for PTSD, Using the PTSD Checklist for DSM-5 (PCL-5): provisional "
            "figures carried over from the DSM-IV PCL."
        ),
        improved_words=N_("A change of %(reliable)s points or more is larger than chance alone would explain in one "
                          "person: this suggests a real improvement in how much these problems bother you."),
        worsened_words=N_("A change of %(reliable)s points or more is larger than chance alone would explain in one "
                          "person: these problems seem to bother you more than they did. That is worth talking over "
                          "with a clinician; it does not mean things cannot get better."),
        headline_words=N_("a change of at least %(reliable)s points, larger than chance alone would explain."),
        headline_source=N_("Source: Marx and others, 2022 (reliable change); the National Center for PTSD’s "
                           "smaller figures are provisional. Details below."),
        clinician_words=N_("reliable change (%(reliable)s points or more; Marx et al. 2022)"),
        possible_words=N_("A change of %(possible)s to %(below)s points may be a real change, but it may also be "
                          "chance: a study of the PCL-5 found that a change in one person needs %(reliable)s points "
                          "or more to be larger than chance. The %(possible)s-point figure is the National Center "
                          "for PTSD’s provisional guidance, carried over from the checklist’s older version "
                          "for DSM-IV."),
        clinician_possible_words=N_("may be a real change (%(possible)s to %(below)s points; provisional National "
                                    "Center for PTSD figures)"),
    ),
    # Item 16 rated "Moderately" or more: the person's crisis box asks them to reach out today.
    safety_items=(SafetyItem(16, 2, N_("risk-taking or self-harm"), N_(
        "You said you have been doing things that could cause you harm. You do not have to wait for an "
        "appointment: you can talk to someone now, any time of day.")),),
    # The PCL-5 panel and its total score, confirmed in LOINC (instruments.md).
    loinc_panel="101697-1",
    loinc_total="101698-9",
    # Totals 0–80 shown in bands of 5; the top band 75–80 also holds 80.
    distribution_band=5,
    site_grouping=True,
    person_name=N_("Full checklist"),
    person_summary=N_("20 questions, each rated from “Not at all” to “Extremely”. About 5 minutes."),
    menu_order=2,
    demo_weight=50,
    verdict_partial="screening/_verdict_pcl5.html",
    cutoff_note_partial="screening/_cutoff_note_pcl5.html",
    scoring_sources=((
        "National Center for PTSD. PTSD Checklist for DSM-5 (PCL-5): scoring, cut-off and change.",
        "https://www.ptsd.va.gov/professional/assessment/adult-sr/ptsd-checklist.asp", "ptsd.va.gov"),),
)


def score_pcl5(answers: Sequence[int], cutoff: int | None = None) -> ScreeningResult:
    """Score 20 PCL-5 ratings (0–4): total, clusters, DSM-5 sums and the provisional rule."""
    if cutoff is None:
        cutoff = PCL5.default_cutoff
        assert cutoff is not None
    check_cutoff(PCL5, cutoff)
    answers = tuple(answers)
    errors = []
    if len(answers) != len(PCL5.items):
        errors.append(f"PCL-5 needs {len(PCL5.items)} answers, got {len(answers)}.")
    for number, value in enumerate(answers, start=1):
        if type(value) is not int or not 0 <= value <= 4:
            errors.append(f"Answer {number} must be a whole number from 0 to 4.")
    if errors:
        raise InvalidAnswers(errors)

    dsm5_sums = {letter: 0 for letter in DSM5_RULE}
    dsm5_endorsed = {letter: 0 for letter in DSM5_RULE}
    for item in PCL5.items:
        value = answers[item.number - 1]
        cluster = item.dsm5_cluster
        assert cluster is not None  # every PCL-5 item belongs to a DSM-5 cluster
        dsm5_sums[cluster] += value
        dsm5_endorsed[cluster] += value >= PCL5_ENDORSED_AT
    total = sum(answers)
    return ScreeningResult(
        instrument=PCL5,
        answers=answers,
        exposure=None,
        total=total,
        clusters=MappingProxyType(cluster_sums(PCL5, answers)),
        cutoff=cutoff,
        at_or_above_cutoff=total >= cutoff,
        dsm5_clusters=MappingProxyType(dsm5_sums),
        dsm5_endorsed=MappingProxyType(dsm5_endorsed),
        dsm5_rule_met=all(dsm5_endorsed[letter] >= needed for letter, needed in DSM5_RULE.items()),
    )


def demo_pcl5(rng: random.Random, severity: float) -> DemoAnswers:
    """Made-up answers for demo data: twenty 0–4 ratings around a latent severity, varying by cluster."""
    return DemoAnswers(tuple(demo_rating(rng, severity, DEMO_CLUSTER_SHIFT[item.cluster]) for item in PCL5.items))
