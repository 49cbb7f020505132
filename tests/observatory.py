"""The Mozilla HTTP Observatory's scoring rules, applied to real responses from the Flask test client.

Sources (the published rules, not a copy of any code):
- mozilla/http-observatory, httpobs/docs/scoring.md ("HTTP Observatory Scoring Methodology",
  last updated 2018-01-18): baseline 100, grading chart, modifiers for cookies, CORS, CSP, HSTS,
  redirection, Referrer-Policy, SRI, X-Content-Type-Options and X-Frame-Options.
- Its successor, MDN's "HTTP Observatory: Tests & Scoring" page, and the current grader's table
  (mdn/mdn-http-observatory, src/grader/charts.js and src/analyzer/tests/csp.js): penalties first,
  bonuses only when the penalised score is 90 (A) or more; Cross-Origin-Resource-Policy same-origin
  or same-site +10; CSP `default-src 'none'` +10 only with `form-action` restricted. (MDN's prose
  table prints the CORP modifiers shifted by one row; the grader's table is what is scored.)
The retired tests (contribute.json, X-XSS-Protection, HPKP) are left out, as the current grader does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

GRADES = [(100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"),
          (50, "C"), (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (0, "F")]
BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
SIX_MONTHS = 15768000


@dataclass
class Report:
    """Each test's result name and modifier, and the final score and grade."""

    results: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, test: str, result: str, modifier: int) -> None:
        self.results[test] = (result, modifier)

    @property
    def score(self) -> int:
        penalties = sum(m for _, m in self.results.values() if m < 0)
        bonuses = sum(m for _, m in self.results.values() if m > 0)
        score = 100 + penalties
        if score >= 90:
            score += bonuses
        return max(score, 0)

    @property
    def grade(self) -> str:
        return next(grade for floor, grade in GRADES if self.score >= floor)


def parse_csp(header: str) -> dict[str, set[str]]:
    """Directives and their sources; a repeated directive or an empty header is invalid."""
    policy: dict[str, set[str]] = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *sources = part.split()
        name = name.lower()
        if name in policy:
            raise ValueError(f"duplicate directive {name}")
        policy[name] = {s.lower() if not s.startswith("'nonce-") else s for s in sources}
    if not policy:
        raise ValueError("empty policy")
    return policy


def grade_csp(headers, report: Report) -> dict[str, set[str]] | None:
    header = headers.get("Content-Security-Policy")
    if not header:
        report.add("content-security-policy", "csp-not-implemented", -25)
        return None
    try:
        csp = parse_csp(header)
    except ValueError:
        report.add("content-security-policy", "csp-header-invalid", -25)
        return None
    default = csp.get("default-src")
    script = set(csp.get("script-src") or default or {"*"})
    style = set(csp.get("style-src") or default or {"*"})
    objects = csp.get("object-src") or default or {"*"}
    for sources in (script, style):
        if any(s.startswith(("'nonce-", "'sha")) for s in sources):
            sources.discard("'unsafe-inline'")
    active = [s for name, sources in csp.items() if name not in {"img-src", "media-src", "script-src"}
              for s in sources] + list(script)
    passive = [s for name in ("img-src", "media-src") for s in (csp.get(name) or default or set())]
    form_action = csp.get("form-action", {"*"})
    if script & (BROAD | UNSAFE_INLINE) or objects & BROAD:
        report.add("content-security-policy", "csp-implemented-with-unsafe-inline", -20)
    elif any(s.startswith(("http:", "ftp:")) for s in active):
        report.add("content-security-policy", "csp-implemented-with-insecure-scheme", -20)
    elif "'unsafe-eval'" in script | style:
        report.add("content-security-policy", "csp-implemented-with-unsafe-eval", -10)
    elif any(s.startswith(("http:", "ftp:")) for s in passive):
        report.add("content-security-policy", "csp-implemented-with-insecure-scheme-in-passive-content-only", -10)
    elif style & (BROAD | UNSAFE_INLINE):
        report.add("content-security-policy", "csp-implemented-with-unsafe-inline-in-style-src-only", 0)
    elif default == {"'none'"} and not form_action & BROAD:
        report.add("content-security-policy", "csp-implemented-with-no-unsafe-default-src-none", 10)
    else:
        report.add("content-security-policy", "csp-implemented-with-no-unsafe", 5)
    return csp


def grade_cookies(headers, hsts: bool, report: Report) -> None:
    cookies = headers.getlist("Set-Cookie")
    if not cookies:
        report.add("cookies", "cookies-not-found", 0)
        return
    results = []
    all_samesite = True
    for raw in cookies:
        jar = SimpleCookie()
        jar.load(raw)
        attributes = {a.strip().split("=", 1)[0].lower(): (a.split("=", 1) + [""])[1].strip()
                      for a in raw.split(";")[1:]}
        for name in jar:
            secure, httponly = "secure" in attributes, "httponly" in attributes
            samesite = attributes.get("samesite")
            session = any(word in name.lower() for word in ("sess", "login"))
            anticsrf = "csrf" in name.lower()
            if samesite is None:
                all_samesite = False
                if anticsrf:
                    results.append(("cookies-anticsrf-without-samesite-flag", -20))
            elif samesite.lower() not in {"strict", "lax", "none"}:
                results.append(("cookies-samesite-flag-invalid", -20))
            if session and not secure:
                results.append(("cookies-session-without-secure-flag-but-protected-by-hsts", -10) if hsts
                               else ("cookies-session-without-secure-flag", -40))
            elif session and not httponly:
                results.append(("cookies-session-without-httponly-flag", -30))
            elif not secure:
                results.append(("cookies-without-secure-flag-but-protected-by-hsts", -5) if hsts
                               else ("cookies-without-secure-flag", -20))
    if results:
        report.add("cookies", *min(results, key=lambda r: r[1]))
    elif all_samesite:
        report.add("cookies", "cookies-secure-with-httponly-sessions-and-samesite", 5)
    else:
        report.add("cookies", "cookies-secure-with-httponly-sessions", 0)


def grade_cors(headers, origin: str, report: Report) -> None:
    allowed = headers.get("Access-Control-Allow-Origin")
    credentials = headers.get("Access-Control-Allow-Credentials", "").lower() == "true"
    if allowed is None:
        report.add("cross-origin-resource-sharing", "cross-origin-resource-sharing-not-implemented", 0)
    elif allowed == origin and credentials:
        report.add("cross-origin-resource-sharing",
                   "cross-origin-resource-sharing-implemented-with-universal-access", -50)
    elif allowed == "*":
        report.add("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-public-access", 0)
    else:
        report.add("cross-origin-resource-sharing",
                   "cross-origin-resource-sharing-implemented-with-restricted-access", 0)


def grade_redirection(http_response, https_url: str, report: Report) -> None:
    """The first answer to the same URL over plain HTTP."""
    location = http_response.headers.get("Location", "")
    if http_response.status_code not in (301, 302, 303, 307, 308):
        report.add("redirection", "redirection-missing", -20)
    elif location == https_url:
        report.add("redirection", "redirection-to-https", 0)
    elif location.startswith("https://"):
        report.add("redirection", "redirection-off-host-from-http", -5)
    else:
        report.add("redirection", "redirection-not-to-https", -20)


def grade_referrer(headers, report: Report) -> None:
    value = (headers.get("Referrer-Policy") or "").split(",")[-1].strip().lower()
    if not value:
        report.add("referrer-policy", "referrer-policy-not-implemented", 0)
    elif value in {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}:
        report.add("referrer-policy", "referrer-policy-private", 5)
    elif value in {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}:
        report.add("referrer-policy", "referrer-policy-unsafe", -5)
    else:
        report.add("referrer-policy", "referrer-policy-header-invalid", -5)


def grade_hsts(headers, report: Report) -> bool:
    value = headers.get("Strict-Transport-Security")
    if not value:
        report.add("strict-transport-security", "hsts-not-implemented", -20)
        return False
    match = re.search(r"max-age=\"?(\d+)\"?", value, re.IGNORECASE)
    if not match:
        report.add("strict-transport-security", "hsts-header-invalid", -20)
        return False
    if int(match.group(1)) < SIX_MONTHS:
        report.add("strict-transport-security", "hsts-implemented-max-age-less-than-six-months", -10)
    else:
        report.add("strict-transport-security", "hsts-implemented-max-age-at-least-six-months", 0)
    return True


def grade_sri(response, report: Report) -> None:
    if response.mimetype != "text/html":
        report.add("subresource-integrity", "sri-not-implemented-response-not-html", 0)
        return
    scripts = re.findall(r"<script\b([^>]*)>", response.get_data(as_text=True), re.IGNORECASE)
    sources = [(re.search(r'src="([^"]*)"', s), "integrity=" in s) for s in scripts]
    external = [(m.group(1), sri) for m, sri in sources if m and re.match(r"^(https?:)?//", m.group(1))]
    if not scripts:
        report.add("subresource-integrity", "sri-not-implemented-but-no-scripts-loaded", 0)
    elif not external:
        report.add("subresource-integrity", "sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0)
    elif any(not src.startswith("https://") for src, _ in external):
        report.add("subresource-integrity", "sri-not-implemented-and-external-scripts-not-loaded-securely", -50)
    elif all(sri for _, sri in external):
        report.add("subresource-integrity", "sri-implemented-and-external-scripts-loaded-securely", 5)
    else:
        report.add("subresource-integrity", "sri-not-implemented-but-external-scripts-loaded-securely", -5)


def grade_nosniff(headers, report: Report) -> None:
    value = headers.get("X-Content-Type-Options")
    if value is None:
        report.add("x-content-type-options", "x-content-type-options-not-implemented", -5)
    elif value.strip().lower() == "nosniff":
        report.add("x-content-type-options", "x-content-type-options-nosniff", 0)
    else:
        report.add("x-content-type-options", "x-content-type-options-header-invalid", -5)


def grade_framing(headers, csp: dict | None, report: Report) -> None:
    ancestors = (csp or {}).get("frame-ancestors")
    xfo = (headers.get("X-Frame-Options") or "").strip().lower()
    if ancestors and not ancestors & BROAD:
        report.add("x-frame-options", "x-frame-options-implemented-via-csp", 5)
    elif xfo in {"deny", "sameorigin"}:
        report.add("x-frame-options", "x-frame-options-sameorigin-or-deny", 0)
    elif xfo.startswith("allow-from "):
        report.add("x-frame-options", "x-frame-options-allow-from-origin", 0)
    elif not xfo:
        report.add("x-frame-options", "x-frame-options-not-implemented", -20)
    else:
        report.add("x-frame-options", "x-frame-options-header-invalid", -20)


def grade_corp(headers, report: Report) -> None:
    value = (headers.get("Cross-Origin-Resource-Policy") or "").strip().lower()
    if not value:
        report.add("cross-origin-resource-policy", "corp-not-implemented", 0)
    elif value in {"same-origin", "same-site"}:
        report.add("cross-origin-resource-policy", f"corp-implemented-with-{value}", 10)
    elif value == "cross-origin":
        report.add("cross-origin-resource-policy", "corp-implemented-with-cross-origin", 0)
    else:
        report.add("cross-origin-resource-policy", "corp-header-invalid", -5)


def grade(client, path: str, host: str = "ptsd.example") -> Report:
    """Fetch `path` as the Observatory would (over HTTPS, with a foreign Origin; then over HTTP) and score it."""
    origin = "https://observatory.example"
    response = client.get(path, base_url=f"https://{host}", headers={"Origin": origin})
    plain = client.get(path, base_url=f"http://{host}")
    report = Report()
    csp = grade_csp(response.headers, report)
    hsts = grade_hsts(response.headers, report)
    grade_cookies(response.headers, hsts, report)
    grade_cors(response.headers, origin, report)
    grade_redirection(plain, f"https://{host}{path}", report)
    grade_referrer(response.headers, report)
    grade_sri(response, report)
    grade_nosniff(response.headers, report)
    grade_framing(response.headers, csp, report)
    grade_corp(response.headers, report)
    report.status_code = response.status_code
    return report
