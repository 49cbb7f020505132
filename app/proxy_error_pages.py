"""The pages nginx serves itself (413, 429, 502, 503) in each language, made from the app's own messages:
`flask --app wsgi assets error-pages app/static/errors` writes them; tests check the shipped copies."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .errors import MESSAGES

# Codes nginx answers without the app: a body over client_max_body_size (413), a limit of its own
# should one be added (429), and the app not answering — stopped, restarting, overloaded (502, 503).
STATUSES = (413, 429, 502, 503)
UNAVAILABLE = (502, 503)
# What a person who has just pressed "Send" needs to know when the app did not answer.
ANSWERS_NOT_SAVED = _l("If you had just sent your answers, they were not saved. Go back (your browser "
                       "usually keeps what you chose) and send them again in a minute.")


def page_files(app: Flask) -> dict[str, bytes]:
    """File name → content: `<status>.<language>.html` for people, `<status>.json` for the API."""
    files: dict[str, bytes] = {}
    with app.test_request_context("/"):
        for status in STATUSES:
            title, message = MESSAGES.get(status, MESSAGES[503])  # 502: the same words as 503
            for language in app.config["LANGUAGES"]:
                with force_locale(language):
                    html = render_template("errors/proxy_error.html", title=title, message=message,
                                           not_saved=ANSWERS_NOT_SAVED if status in UNAVAILABLE else None)
                files[f"{status}.{language}.html"] = html.encode()
            files[f"{status}.json"] = (json.dumps({"errors": [str(title)]}) + "\n").encode()
    return files


def write_pages(app: Flask, directory: Path) -> list[str]:
    """Write every page into `directory`; the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in page_files(app).items():
        (directory / name).write_bytes(content)
    return sorted(page_files(app))
