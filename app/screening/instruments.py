"""The published instruments as data: items, options, clusters, cut-offs and credit lines."""
from __future__ import annotations

from dataclasses import dataclass

REEXPERIENCING = "reexperiencing"
AVOIDANCE = "avoidance"
AROUSAL = "arousal"
PRODUCT_CLUSTERS = (REEXPERIENCING, AVOIDANCE, AROUSAL)


@dataclass(frozen=True)
class Option:
    """One answer choice: the value submitted and the instrument's own label."""

    value: str
    label: str
    score: int


@dataclass(frozen=True)
class Item:
    """One question, numbered as in the published instrument."""

    number: int
    text: str
    cluster: str
    dsm5_cluster: str | None = None

    @property
    def field(self) -> str:
        """The form and API field name, `q1`…`qN`."""
        return f"q{self.number}"


@dataclass(frozen=True)
class Instrument:
    """A questionnaire definition; scoring lives in scoring.py."""

    id: str
    version: str
    name: str
    title: str
    time_frame: str
    instructions: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    credit: str
    source_url: str
    default_cutoff: int
    gate: str | None = None

    @property
    def max_total(self) -> int:
        """Highest possible total."""
        return len(self.items) * max(option.score for option in self.options)

    def cluster_items(self, cluster: str) -> tuple[Item, ...]:
        """Items of one product cluster, in the instrument's order."""
        return tuple(item for item in self.items if item.cluster == cluster)

    def cluster_max(self, cluster: str) -> int:
        """Highest possible score in one product cluster."""
        return len(self.cluster_items(cluster)) * max(option.score for option in self.options)


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
    instructions=(
        "Below is a list of problems that people sometimes have in response to a very stressful "
        "experience. Please read each problem carefully and then select one of the options to "
        "indicate how much you have been bothered by that problem in the past month."
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
    options=(
        Option("0", "Not at all", 0),
        Option("1", "A little bit", 1),
        Option("2", "Moderately", 2),
        Option("3", "Quite a bit", 3),
        Option("4", "Extremely", 4),
    ),
    credit=(
        "PCL-5: Weathers, F. W., Litz, B. T., Keane, T. M., Palmieri, P. A., Marx, B. P., & "
        "Schnurr, P. P. (2013). The PTSD Checklist for DSM-5 (PCL-5). National Center for PTSD."
    ),
    source_url="https://www.ptsd.va.gov/professional/assessment/adult-sr/ptsd-checklist.asp",
    default_cutoff=33,
)

PCPTSD5 = Instrument(
    id="pcptsd5",
    version="PC-PTSD-5 (2016)",
    name="PC-PTSD-5",
    title="Primary Care PTSD Screen for DSM-5 (PC-PTSD-5)",
    time_frame="past month",
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
    default_cutoff=3,
)

INSTRUMENTS: dict[str, Instrument] = {PCL5.id: PCL5, PCPTSD5.id: PCPTSD5}
