"""Secrets out of access-log paths: the `code` or `token` argument of every route, and any code-shaped segment."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .screening import codes

REDACTED = "[code]"
# Route arguments that open something by themselves: a result code, or the token of a one-time account
# link (invitation, password reset) or of a clinic's link.
SECRET_ARGUMENTS = ("code", "token")
# Without the app's routes (a unit test, a foreign WSGI app): whatever follows /results/ is a code, and
# whatever follows an account link's prefix is its token.
RESULTS_SEGMENT = re.compile(
    r"(?:(?<=/results/)|(?<=/clinician/invite/)|(?<=/clinician/reset/))[^/]+", re.IGNORECASE)
ARGUMENT = re.compile(r"<(?:[^>:]+:)?([^>]+)>")


def _argument_pattern(name: str, converter_part: str) -> str:
    if name in SECRET_ARGUMENTS:
        return r"(?P<code>[^/]+)"
    return r".+" if converter_part.startswith("<path:") else r"[^/]+"


@dataclass(frozen=True)
class CodeRoutes:
    """The URL map as the log needs it: paths without arguments (`/results/deleted` is no code), and
    for each rule with a `code` argument a pattern for the whole path and one for its beginning."""

    fixed: frozenset[str]
    patterns: tuple[tuple[re.Pattern, re.Pattern], ...]


def code_routes(rules: Iterable[str]) -> CodeRoutes:
    """From URL rules such as `/results/<code>.fhir.json`: the whole-path pattern, and one up to the end
    of the code's segment (so a mistyped tail such as `/results/<code>/x` still hides the code)."""
    routes, fixed = [], set()
    for rule in rules:
        if "<" not in rule:
            fixed.add(rule)
        parts = re.split(r"(<[^>]+>)", rule)
        if not any((argument := ARGUMENT.fullmatch(part)) and argument.group(1) in SECRET_ARGUMENTS
                   for part in parts):
            continue
        regex, prefix = "", None
        for part in parts:
            argument = ARGUMENT.fullmatch(part)
            regex += _argument_pattern(argument.group(1), part) if argument else re.escape(part)
            if argument and argument.group(1) in SECRET_ARGUMENTS and prefix is None:
                prefix = regex.replace(r"(?P<code>[^/]+)", r"(?P<code>[^/]+)(?=/|$)")
        routes.append((re.compile(regex), re.compile(prefix or regex)))
    return CodeRoutes(frozenset(fixed), tuple(routes))


def as_text(path: str) -> str:
    """PATH_INFO as the app reads it: WSGI carries UTF-8 bytes as Latin-1 characters."""
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def _is_code(segment: str) -> bool:
    return bool(segment) and any(codes.normalise(candidate) for candidate in (segment, segment.split(".", 1)[0]))


def _redact_argument(text: str, routes: CodeRoutes) -> str:
    if text in routes.fixed:
        return text
    for kind in (0, 1):  # every whole-path pattern before any beginning
        for patterns in routes.patterns:
            match = patterns[0].fullmatch(text) if kind == 0 else patterns[1].match(text)
            if match:
                return text[: match.start("code")] + REDACTED + text[match.end("code"):]
    return text


def redact_path(path: str | None, routes: CodeRoutes | None = None) -> str:
    """The path with every result code (and link token) replaced by [code]: the argument of a matching route
    (whatever was typed there, even a wrong code), then any segment the code normaliser accepts."""
    if not path:
        return "-"
    text = as_text(path)
    text = _redact_argument(text, routes) if routes is not None else RESULTS_SEGMENT.sub(REDACTED, text)
    return "/".join(REDACTED if _is_code(segment) else segment for segment in text.split("/"))
