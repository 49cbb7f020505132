"""The session: the clinician workspace's only. Its serializer is built once per key (a rotated key still
takes effect at once); on a person's page it is neither read nor saved, so no code can set a cookie there."""
from __future__ import annotations

import pytest
from flask import flash, session

from app.extensions import login_manager
from app.sessions import StaffOnlySessionInterface, is_staff_path
from tests.clinician_support import WORKSPACE_FIXTURES, sign_in


def test_one_serializer_per_key_and_rotation_takes_effect(app):
    interface = app.session_interface
    assert isinstance(interface, StaffOnlySessionInterface)
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)

    app.add_url_rule("/clinician/_set", "set_value", lambda: session.update(value="kept") or "ok")
    app.add_url_rule("/clinician/_get", "get_value", lambda: session.get("value", "none"))
    client = app.test_client()
    client.get("/clinician/_set")
    assert client.get("/clinician/_get").get_data(as_text=True) == "kept"

    old = app.secret_key
    app.secret_key = "a-new-secret-key-" + "x" * 32
    assert client.get("/clinician/_get").get_data(as_text=True) == "none"  # signed with the old key: refused
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/clinician/_get").get_data(as_text=True) == "kept"  # the old key as a fallback: accepted


def test_a_person_page_never_sets_a_session_cookie_even_if_code_writes_to_the_session(app):
    """Defence in depth: a flash() or a session write on a public page is not saved, so it cannot
    become a cookie (and a clinician's own cookie is not even read there)."""
    app.add_url_rule("/_writes", "writes", lambda: session.update(value="x") or flash("hello") or "ok")
    app.add_url_rule("/_reads", "reads", lambda: session.get("value", "none"))
    app.add_url_rule("/clinician/_set2", "set2", lambda: session.update(value="kept") or "ok")
    client = app.test_client()
    response = client.get("/_writes")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert client.get("/clinician/_set2").headers.get("Set-Cookie", "").startswith("session=")
    assert client.get("/_reads").get_data(as_text=True) == "none"  # the workspace's cookie is not read here


def test_which_paths_are_the_workspace():
    assert is_staff_path("/clinician") and is_staff_path("/clinician/") and is_staff_path("/clinician/login")
    assert not is_staff_path("/clinicians") and not is_staff_path("/") and not is_staff_path("/results/x")


@pytest.mark.usefixtures(*WORKSPACE_FIXTURES)
def test_a_person_page_loads_no_user_and_the_workspace_names_its_own(app, make_clinician, monkeypatch):
    """Templates get Flask-Login's current_user proxy (app.lazy_current_user): a person's page never asks
    who is signed in, a workspace page still shows the signed-in clinician."""
    make_clinician("someone@example.org")
    client = app.test_client()
    assert sign_in(client, "someone@example.org").status_code == 303
    loads = []
    real = login_manager._load_user
    monkeypatch.setattr(login_manager, "_load_user", lambda: loads.append(1) or real())
    for path in ("/about", "/learn"):
        assert client.get(path).status_code == 200
    assert client.post("/screen/pcl5", data={"store": "no", **{f"q{n}": "1" for n in range(1, 21)}}).status_code == 200
    assert loads == []
    page = client.get("/clinician/account")
    assert page.status_code == 200 and "someone@example.org" in page.get_data(as_text=True)
    assert loads == [1]
