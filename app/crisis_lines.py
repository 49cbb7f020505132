"""Crisis lines: the one home of every number the person's pages show, with how to reach it and its source."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape


@dataclass(frozen=True)
class CrisisLine:
    """One line: where it serves, its name, the number as dialled there, and how to reach it.

    `tel` is the tel: target: in E.164 (with the country code) for a number that can be dialled
    from abroad, so a phone elsewhere never dials a different place (Mexico's 800 number from a US
    phone would reach a US toll-free line); for a short number that exists only inside its country
    (988, 024, 116 123) its bare digits, which the line's country label tells the reader to dial
    there: a person in crisis in the US keeps one-tap 988. `how` says how to reach the line;
    `%(number)s` in it becomes the number.
    """

    key: str
    country: object  # a lazy string: where the line answers ("US", "Mexico")
    name: object
    number: str
    how: object
    languages: tuple[str, ...]
    source: str
    tel: str | None = None
    sms: str | None = None  # a US text short code, for an sms: link
    in_result_box: bool = False  # also in the compact box near the top of every result


CRISIS_LINES: tuple[CrisisLine, ...] = (
    CrisisLine("us-988", _l("US"), _l("988 Suicide & Crisis Lifeline"), "988",
               _l("call or text %(number)s, or chat at 988lifeline.org; press 1 for veterans, 2 for Spanish, "
                  "or text AYUDA to 988 for Spanish"),
               ("en", "es"), "https://988lifeline.org/get-help/what-to-expect/ (SAMHSA, 13 July 2023)",
               tel="988", in_result_box=True),
    CrisisLine("us-veterans", _l("US"), _l("Veterans Crisis Line"), "838255",
               _l("call 988 and press 1, or text %(number)s"),
               ("en",), "https://www.veteranscrisisline.net/", sms="838255"),
    CrisisLine("us-crisis-text-line", _l("US"), "Crisis Text Line", "741741",
               _l("text HOME to %(number)s; in Spanish, text AYUDA to 741741 or send a WhatsApp message to "
                  "442-AYUDAME"),
               ("en", "es"), "Crisis Text Line, 15 October 2021 and 16 October 2023", sms="741741"),
    CrisisLine("es-024", _l("Spain"), _l("Línea 024 (suicidal behaviour line)"), "024",
               _l("call %(number)s, free, any time"),
               ("es",), "Ministerio de Sanidad, May 2022", tel="024", in_result_box=True),
    CrisisLine("mx-linea-de-la-vida", _l("Mexico"), "Línea de la Vida", "800 911 2000",
               _l("from a phone in Mexico, call %(number)s"),
               ("es",), "CONASAMA / Secretaría de Salud, 2025", tel="+528009112000", in_result_box=True),
    CrisisLine("ca-988", _l("Canada"), _l("9-8-8 Suicide Crisis Helpline"), "9-8-8",
               _l("call or text %(number)s"), ("en", "fr"), "Government of Canada, 30 November 2023", tel="988"),
    CrisisLine("uk-ie-samaritans", _l("UK and Ireland"), "Samaritans", "116 123",
               _l("call %(number)s, free, any time"), ("en",), "https://www.samaritans.org/", tel="116123"),
    CrisisLine("au-lifeline", _l("Australia"), "Lifeline", "13 11 14",
               _l("call %(number)s"), ("en",), "https://www.lifeline.org.au/", tel="131114"),
)

# Emergency numbers for the "in danger now" line: the US (also Mexico) and the European Union.
EMERGENCY_US = "911"
EMERGENCY_EU = "112"
HELPLINE_DIRECTORY = "https://findahelpline.com/"


def bold_number(number: str) -> Markup:
    """A number in bold, not linked (an emergency or short number dialled only inside its country)."""
    return Markup("<strong>{}</strong>").format(number)


def directory_link() -> Markup:
    """The plain link to the helpline directory (the site makes no request to it)."""
    return Markup('<a href="{}">{}</a>').format(HELPLINE_DIRECTORY, "findahelpline.com")


def in_country_short_number(tel: str) -> bool:
    """Whether a tel: target is a short number dialled only inside its line's country (no country code)."""
    return not tel.startswith("+") and tel.isdigit() and len(tel) <= 6


def number_markup(line: CrisisLine) -> Markup:
    """The number in bold, linked with its tel: target (or sms: for a US short code) where it has one."""
    # A linked number is bold by the stylesheet (base.css), which keeps every page's footer short.
    if line.tel:
        return Markup('<a href="tel:{}">{}</a>').format(line.tel, line.number)
    if line.sms:
        return Markup('<a href="sms:{}">{}</a>').format(line.sms, line.number)
    return bold_number(line.number)


def how_markup(line: CrisisLine) -> Markup:
    """How to reach the line, translated, with the number's markup put in (the translation has no HTML)."""
    return escape(str(line.how)) % {"number": number_markup(line)}
