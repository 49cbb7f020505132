"""PC-PTSD-5 (Prins et al. 2016): the exposure gate, its five yes/no items and its scoring."""
from __future__ import annotations

import random
from collections.abc import Sequence
from types import MappingProxyType

from .base import (
    AROUSAL,
    AVOIDANCE,
    N_,
    REEXPERIENCING,
    DemoAnswers,
    Instrument,
    InvalidAnswers,
    Item,
    Option,
    ScreeningResult,
    check_cutoff,
    cluster_sums,
)

PCPTSD5 = Instrument(
    id="pcptsd5",
    brief_screen=True,
    version="PC-PTSD-5 (2016)",
    name="PC-PTSD-5",
    title="Primary Care PTSD Screen for DSM-5 (PC-PTSD-5)",
    time_frame="past month",
    time_frame_days=30,
    instructions=(
        "Sometimes things happen to people that are unusually or especially frightening, horrible, "
        "or traumatic. For example: a serious accident or fire; a physical or sexual assault or "
        "abuse; an earthquake or flood; a war; seeing someone be killed or seriously injured; "
        "having a loved one die through homicide or suicide."
    ),
    gate="Have you ever experienced this kind of event?",
    stem="In the past month, have you\u2026",
    items=(
        Item(1, "had nightmares about the event(s) or thought about the event(s) when you did "
             "not want to?", REEXPERIENCING),
        Item(2, "tried hard not to think about the event(s) or went out of your way to avoid "
             "situations that reminded you of the event(s)?", AVOIDANCE),
        Item(3, "been constantly on guard, watchful, or easily startled?", AROUSAL),
        Item(4, "felt numb or detached from people, activities, or your surroundings?", AVOIDANCE),
        Item(5, "felt guilty or unable to stop blaming yourself or others for the event(s) or any "
             "problems the event(s) may have caused?", AVOIDANCE),
    ),
    options=(Option("yes", "Yes", 1), Option("no", "No", 0)),
    credit=(
        "PC-PTSD-5: Prins, A., Bovin, M. J., Smolenski, D. J., Marx, B. P., Kimerling, R., "
        "Jenkins-Guarnieri, M. A., Kaloupek, D. G., Schnurr, P. P., Kaiser, A. P., Leyva, Y. E., & "
        "Tiet, Q. Q. (2016). The Primary Care PTSD Screen for DSM-5 (PC-PTSD-5): Development and "
        "Evaluation Within a Veteran Primary Care Sample. Journal of General Internal Medicine, "
        "31(10), 1206\u20131211. National Center for PTSD."
    ),
    source_url="https://www.ptsd.va.gov/professional/assessment/screens/pc-ptsd.asp",
    # 3: the most sensitive cut-point in Prins et al. 2016; Bovin et al. 2021 found 4 best overall
    # but 3 for women. PCPTSD5_CUTOFF overrides it (config.py).
    default_cutoff=3,
    # Its five yes/no items are validated only as a total (Prins et al. 2016), not as subscales.
    reports_clusters=False,
    person_name=N_("Quick screen"),
    person_summary=N_("One question about past events, then 5 yes-or-no questions. About 1 minute."),
    menu_order=1,
    demo_weight=25,
    cutoff_note_partial="screening/_cutoff_note_pcptsd5.html",
    scoring_sources=((
        "Bovin MJ, et al. Diagnostic Accuracy and Acceptability of the Primary Care Posttraumatic Stress "
        "Disorder Screen for the DSM-5 Among US Veterans. JAMA Netw Open. 2021;4(2):e2036733.",
        "https://doi.org/10.1001/jamanetworkopen.2020.36733", "doi:10.1001/jamanetworkopen.2020.36733"),),
)


def score_pcptsd5(
    exposure: bool | None, answers: Sequence[bool] = (), cutoff: int | None = None
) -> ScreeningResult:
    """Score the PC-PTSD-5: no exposure scores 0 and ends the screen; otherwise count the Yes answers."""
    if cutoff is None:
        cutoff = PCPTSD5.default_cutoff
        assert cutoff is not None
    check_cutoff(PCPTSD5, cutoff)
    answers = tuple(answers)
    if type(exposure) is not bool:
        raise InvalidAnswers(["The exposure answer must be yes or no."])
    if not exposure:
        if answers:
            raise InvalidAnswers(["With no traumatic event, the five questions are not asked."])
        values = (0,) * len(PCPTSD5.items)
    else:
        errors = []
        if len(answers) != len(PCPTSD5.items):
            errors.append(f"PC-PTSD-5 needs {len(PCPTSD5.items)} answers, got {len(answers)}.")
        for number, value in enumerate(answers, start=1):
            if type(value) is not bool:
                errors.append(f"Answer {number} must be yes or no.")
        if errors:
            raise InvalidAnswers(errors)
        values = tuple(int(value) for value in answers)
    total = sum(values)
    return ScreeningResult(
        instrument=PCPTSD5,
        answers=values if exposure else (),
        exposure=exposure,
        total=total,
        clusters=MappingProxyType(cluster_sums(PCPTSD5, values)),
        cutoff=cutoff,
        at_or_above_cutoff=total >= cutoff,
    )


def demo_pcptsd5(rng: random.Random, severity: float) -> DemoAnswers:
    """Made-up answers for demo data: the exposure gate (about one in five say No), then five Yes/No."""
    if rng.random() < 0.2:
        return DemoAnswers((), exposure=False)
    return DemoAnswers(tuple(rng.random() < 0.1 + 0.8 * severity for _item in PCPTSD5.items), exposure=True)
