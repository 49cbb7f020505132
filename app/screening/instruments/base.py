"""What every instrument is made of: items, options, change rules, safety items, results, and the checks they share.

The instrument modules import these; the registry in __init__.py imports the instrument modules."""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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



# The PCL-5's and the ITQ's published answer scale: the same five labels, scored 0–4.
NOT_AT_ALL_TO_EXTREMELY: tuple[Option, ...] = (
    Option("0", "Not at all", 0),
    Option("1", "A little bit", 1),
    Option("2", "Moderately", 2),
    Option("3", "Quite a bit", 3),
    Option("4", "Extremely", 4),
)


@dataclass(frozen=True)
class ChangeRule:
    """How large a change in the total between two results must be before it is read as real.

    At or above `reliable`: larger than measurement error in one person (cite `reliable_source`).
    At or above `possible` but below `reliable`: may be a real change (provisional, `possible_source`).
    """

    reliable: int
    reliable_source: str
    possible: int
    possible_source: str
    # How the pages put it, in the rule's own terms (English, marked for translation; the pages fill in
    # %(reliable)s, %(possible)s and %(below)s): a reliable fall and rise for the person, the headline's
    # words for a reliable change and its one-line source, and the clinician's short label. Where
    # `possible` equals `reliable` there is no "may be real" band and its words stay "".
    improved_words: str = ""
    worsened_words: str = ""
    headline_words: str = ""
    headline_source: str = ""
    clinician_words: str = ""
    possible_words: str = ""
    clinician_possible_words: str = ""


def N_(text: str) -> str:
    """Mark words for the translation catalogue without translating them here (gettext_noop): pages do."""
    return text


@dataclass(frozen=True)
class SafetyItem:
    """An item whose answer at or above `rated_at` calls for help today and a clinician's flag."""

    number: int
    rated_at: int
    # Short words for the clinician ("risk-taking or self-harm"), in English; pages translate them.
    label: str
    # What the person's emphasised crisis box says about the answer, calmly (English; pages translate it).
    person_words: str = ""


@dataclass(frozen=True)
class DemoAnswers:
    """Made-up answers for demo data (`flask clinician seed-demo`), in the form `Instrument.score` takes."""

    answers: tuple
    exposure: bool | None = None
    when: str | None = None


def demo_rating(rng: random.Random, severity: float, shift: float = 0.0, top: int = 4) -> int:
    """A made-up 0–`top` rating around a latent severity (0–1), with item-to-item variation."""
    return min(top, max(0, round(rng.gauss(severity * top + shift, 0.9))))


# Made-up ratings: arousal and re-experiencing items are typically rated a little higher than avoidance
# and numbing (demo data only).
DEMO_CLUSTER_SHIFT = {REEXPERIENCING: 0.2, AVOIDANCE: -0.3, AROUSAL: 0.4}


@dataclass(frozen=True)
class Item:
    """One question, numbered as in the published instrument."""

    number: int
    text: str
    cluster: str
    dsm5_cluster: str | None = None
    # Where the published form starts a new part (the ITQ's four): the part's key, and the
    # instrument's own words that introduce it, shown before this item.
    section: str | None = None
    lead_in: str | None = None

    @property
    def field(self) -> str:
        """The form and API field name, `q1`…`qN`."""
        return f"q{self.number}"


@dataclass(frozen=True)
class Instrument:
    """A questionnaire definition; its scoring lives beside it in its own module."""

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
    default_cutoff: int | None  # None: the instrument is scored by criteria, not by a cut-off
    gate: str | None = None
    # The language the wording above is in, for lang="…" on pages in another language; a
    # published, validated translation would be a copy of the instrument with its own value.
    language: str = "en"
    # Where the total is not the sum of every item (the ITQ's is P1–P6), its maximum.
    total_max: int | None = None
    # How a change between two results is read; None where no threshold is published.
    change_rule: ChangeRule | None = None
    # A published range of totals that suggests the condition (the PCL-5's 31-33), or None; a total
    # in it below the configured cut-off is not called reassuring.
    probable_range: tuple[int, int] | None = None
    # The period the questions ask about, in days ("past month": 30); two results taken closer
    # together than this ask about overlapping windows, so their change is not labelled.
    time_frame_days: int | None = None
    # Items whose answer calls for help today (the person's page) and a flag (the clinician's).
    safety_items: tuple[SafetyItem, ...] = ()
    # A brief screen (a positive result calls for a full assessment) rather than a full measure of severity.
    brief_screen: bool = False
    # An optional, unscored answer asked besides the items (the ITQ's "When did the experience occur?"):
    # its published choices, or () where there is none.
    when_options: tuple[Option, ...] = ()
    # Confirmed LOINC codes (instruments.md) for the panel and its total score, or None: FHIR then
    # names the questionnaire by this app's own canonical.
    loinc_panel: str | None = None
    loinc_total: str | None = None
    # How many totals one bar of the clinician's distribution chart covers (1: a bar per total); a chart
    # in bands marks where the cut-off falls inside its band.
    distribution_band: int = 1
    # The partial that opens the form before the items (the ITQ's note on its written description), or None.
    form_intro_partial: str | None = None
    # The instrument's second set of groups beside the product clusters (the ITQ's self-organisation), or ().
    second_clusters: tuple[str, ...] = ()
    # Its own names for its groups (key, English words marked for translation), where they differ from
    # this site's names for the three product clusters: the ITQ's follow ICD-11.
    cluster_names: tuple[tuple[str, str], ...] = ()
    # Whether its product-cluster sums are shown to the person (the PC-PTSD-5's are validated only as a total).
    reports_clusters: bool = True
    # Whether the form's parts are this site's grouping rather than the published form's (the PCL-5's).
    site_grouping: bool = False
    # How its result is put into words: the partial with the one-sentence verdict, the partial explaining
    # the cut-off (None where it has none), the partial replacing the cut-off details (the ITQ's criteria).
    verdict_partial: str = "screening/_verdict_cutoff.html"
    cutoff_note_partial: str | None = None
    result_details_partial: str | None = None
    # Sources for its scoring, cut-off and change beside its credit: (text, address, link words).
    scoring_sources: tuple[tuple[str, str, str], ...] = ()
    # What a person sees (English, marked for translation): a plain name shown before the published
    # abbreviation, what it asks and how long it takes, and when it is the better choice ("" where obvious).
    person_name: str = ""
    person_summary: str = ""
    person_when_to_choose: str = ""
    # Its place in the menu and on the home page, which are about PTSD; None: offered only through a
    # clinic's link or a link from another result.
    menu_order: int | None = None
    # Published severity bands: (lowest total of the band, its name in English, marked for translation).
    severity_bands: tuple[tuple[int, str], ...] = ()
    # What its score means, for the person (English, marked for translation); "" keeps the PTSD wording.
    score_meaning: str = ""
    # The words of a link offering it after another questionnaire's result ("Also check your mood"), or "".
    follow_up_offer: str = ""
    # The not-a-diagnosis notice on its result (English, marked for translation); "" keeps the PTSD one.
    not_a_diagnosis: str = ""
    # The learn page on treating what it screens for, linked after its score's meaning; None where the
    # site has none (the learn pages are about PTSD).
    treatments_page: str | None = "treatments"
    # Its weight in the demo data's mix of instruments (`flask clinician seed-demo`, app/clinician/demo.py):
    # the share of made-up results is its weight over the sum of all; 0 leaves it out of demo data.
    demo_weight: int = 0
    # How its results rank inside their triage tier before their severity (app/screening/triage.py): a
    # function of the answers (as scores) giving a rank, higher first, or None (all rank 0). The ITQ's
    # complex PTSD ranks above every other positive result.
    rank_rule: Callable[[Sequence[int]], int] | None = None
    # What its results of a higher rank are called for the clinician (the ITQ's "complex PTSD"; English,
    # marked for translation), for the queue's sentence on its order; "" where it ranks none higher.
    ranked_first: str = ""

    def severity_band(self, total: int) -> str | None:
        """The name of the published severity band the total falls in, or None without bands."""
        names = [name for lowest, name in self.severity_bands if total >= lowest]
        return names[-1] if names else None

    @property
    def yes_no(self) -> bool:
        """Answered yes or no after a gate question (the PC-PTSD-5) rather than rated on a scale."""
        return self.gate is not None

    @property
    def product_clusters(self) -> tuple[str, ...]:
        """The product clusters it has items in (the PTSD questionnaires' three; none for the PHQ-9)."""
        return tuple(cluster for cluster in PRODUCT_CLUSTERS if self.cluster_items(cluster))

    @property
    def has_dsm5_clusters(self) -> bool:
        """Whether its items map onto DSM-5's clusters B–E (the PCL-5's), for the DSM-5 sums and rule."""
        return any(item.dsm5_cluster for item in self.items)

    def score(self, answers: Sequence, exposure: bool | None = None, cutoff: int | None = None,
              when: str | None = None) -> ScreeningResult:
        """Score typed answers by this instrument's published rules; `cutoff` where it has one."""
        return SCORERS[self.id](answers, exposure, cutoff, when)

    def demo_answers(self, rng: random.Random, severity: float) -> DemoAnswers:
        """Plausible made-up answers from someone of this latent severity (0–1), for demo data only."""
        return DEMO_ANSWERS[self.id](rng, severity)
    def triage_rank(self, answers: Sequence[int]) -> int:
        """This result's rank inside its triage tier, above its severity share: 0 unless the instrument
        ranks some of its results higher (its rank_rule)."""
        return self.rank_rule(answers) if self.rank_rule is not None else 0

    def severity_share(self, answers: Sequence[int], total: int) -> float:
        """The share of every scored symptom item's maximum, 0–1: the total's share, with the items of its
        second set of groups (the ITQ's self-organisation) where it has one."""
        second = [item for cluster in self.second_clusters for item in self.cluster_items(cluster)]
        if not second:
            return total / self.max_total
        second_total = sum(answers[item.number - 1] for item in second)
        second_max = sum(self.cluster_max(cluster) for cluster in self.second_clusters)
        return (total + second_total) / (self.max_total + second_max)

    def safety_items_endorsed(self, answers: Sequence[int]) -> tuple[SafetyItem, ...]:
        """The safety items these answers rate at or above their threshold, in item order."""
        return tuple(item for item in self.safety_items
                     if len(answers) >= item.number and answers[item.number - 1] >= item.rated_at)

    @property
    def max_total(self) -> int:
        """Highest possible total."""
        if self.total_max is not None:
            return self.total_max
        return len(self.items) * max(option.score for option in self.options)

    def answered_items(self, answers: Sequence) -> list[tuple[Item, Any]]:
        """Each item with its answer: none when the gate question was answered No, else one per item."""
        if not answers and self.gate:  # the PC-PTSD-5 without a traumatic event asks no questions
            return []
        return list(zip(self.items, answers, strict=True))

    def cluster_items(self, cluster: str) -> tuple[Item, ...]:
        """Items of one product cluster, in the instrument's order."""
        return tuple(item for item in self.items if item.cluster == cluster)

    def cluster_max(self, cluster: str) -> int:
        """Highest possible score in one product cluster."""
        return len(self.cluster_items(cluster)) * max(option.score for option in self.options)


class InvalidAnswers(ValueError):
    """The answers cannot be scored; `errors` holds one message per problem."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class ScreeningResult:
    """Everything computed from one set of answers."""

    instrument: Instrument
    answers: tuple[int, ...]
    exposure: bool | None
    total: int
    clusters: Mapping[str, int]
    cutoff: int | None
    at_or_above_cutoff: bool
    dsm5_clusters: Mapping[str, int] | None = None
    dsm5_endorsed: Mapping[str, int] | None = field(default=None, repr=False)
    dsm5_rule_met: bool | None = None
    # ITQ only: the self-organisation (DSO) sums, both sets of ICD-11 criteria, the screening
    # pattern ("none", "ptsd" or "cptsd") and the optional, unscored time since the event.
    dso_total: int | None = None
    dso_clusters: Mapping[str, int] | None = None
    ptsd_criteria_met: bool | None = None
    dso_criteria_met: bool | None = None
    icd11_pattern: str | None = None
    when: str | None = None

    @property
    def max_total(self) -> int:
        """Highest possible total for this instrument."""
        return self.instrument.max_total


def check_cutoff(instrument: Instrument, cutoff: int) -> None:
    """Refuse a cut-off outside the instrument's range: a configuration error, not the person's."""
    if type(cutoff) is not int or not 0 <= cutoff <= instrument.max_total:
        raise ValueError(f"cut-off for {instrument.id} must be an integer 0–{instrument.max_total}")


def cluster_sums(instrument: Instrument, answers: Sequence[int]) -> dict[str, int]:
    """The sum of the ratings in each product cluster."""
    return {
        cluster: sum(answers[item.number - 1] for item in instrument.cluster_items(cluster))
        for cluster in PRODUCT_CLUSTERS
    }


# Each instrument's scoring function, called with (answers, exposure, cutoff, when), and its made-up answers
# for demo data, called with (rng, severity): filled by the registry (__init__.py), which imports the modules.
SCORERS: dict[str, Callable[..., ScreeningResult]] = {}
DEMO_ANSWERS: dict[str, Callable[[random.Random, float], DemoAnswers]] = {}
