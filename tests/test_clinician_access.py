"""No /clinician/ URL gives anything without a signed-in active clinician; the audit log is for admins."""
from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db as _db
from app.models import Clinician
from tests.clinician_support import WORKSPACE_FIXTURES, csrf, ref, sign_in, store
from tests.conftest import reloaded

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


def workspace_routes() -> list[tuple[str, str]]:
    """(rule, method) for every route under /clinician/ except the sign-in page and the one-time
    password links (open to the person holding one), read from the URL map, so a route added later
    is swept too."""
    app = create_app("testing")
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/clinician/")
        and rule.endpoint not in ("auth.login", "auth.invite", "auth.reset", "auth.forgot")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


ROUTES = workspace_routes()


def test_the_sweep_finds_the_workspace():
    assert len(ROUTES) >= 9 and ("/clinician/", "GET") in ROUTES


def open_route(client, rule: str, method: str, code: str):
    url = rule.replace("<code>", code).replace("<reference>", code).replace("<int:account_id>", "1")
    data = {"csrf_token": csrf(client)} if method == "POST" else None
    return client.open(url, method=method, data=data)


@pytest.mark.parametrize("who", ["anonymous", "deactivated", "idle"])
@pytest.mark.parametrize("rule, method", ROUTES)
def test_every_workspace_route_redirects_to_sign_in(app, client, make_clinician, rule, method, who):
    row = store()
    if who != "anonymous":
        clinician = make_clinician()
        assert sign_in(client).status_code == 303
        if who == "deactivated":
            with app.app_context():
                _db.session.get(Clinician, clinician.id).active = False
                _db.session.commit()
        else:
            with client.session_transaction("/clinician/") as session:  # the workspace keeps the session
                session["clinician_seen"] = 0
    response = open_route(client, rule, method, ref(row))
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/clinician/login")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "Redirecting" in body  # Werkzeug's stub, nothing else
    assert "PCL-5" not in body and "Signed in as" not in body
    assert reloaded(row).reviewed is False


def test_the_audit_log_is_for_admins_only(signed_in, admin_client):
    assert signed_in.get("/clinician/audit").status_code == 403
    assert "/clinician/audit" not in signed_in.get("/clinician/").get_data(as_text=True)
    response = admin_client.get("/clinician/audit")
    assert response.status_code == 200 and "doc@example.org" in response.get_data(as_text=True)
    assert "/clinician/audit" in admin_client.get("/clinician/").get_data(as_text=True)


def test_workspace_pages_are_not_cached(signed_in):
    assert signed_in.get("/clinician/").headers["Cache-Control"] == "no-store"
