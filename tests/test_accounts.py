"""Accounts in the browser: invitations, reset links, the admins' accounts page, its guards and audit."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import AccountToken, AuditEvent, Clinic, Clinician, utcnow
from tests.accounts_support import (
    NEW_PASSWORD,
    actions,
    code_step,
    enrol,
    invite,
    link_from,
    password_step,
    path_of,
    set_password,
    sign_out,
)
from tests.clinician_support import PASSWORD, WORKSPACE_FIXTURES, csrf, loaded, sign_in
from tests.conftest import in_app_context

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)


@in_app_context
def make_clinic(name="Riverside Clinic", slug="riverside-clinic") -> Clinic:
    import secrets

    clinic = Clinic(name=name, slug=slug, link_token=secrets.token_urlsafe(16))
    _db.session.add(clinic)
    _db.session.commit()
    return loaded(clinic)


@in_app_context
def account(email) -> Clinician:
    """The account as stored now; outside a `with app.app_context()` block its columns stay readable but
    its relationships (clinics) do not: read those inside a block."""
    _db.session.expire_all()
    return _db.session.scalar(sa.select(Clinician).where(Clinician.email == email))


@in_app_context
def count(column) -> int:
    return _db.session.scalar(sa.select(sa.func.count(column)))


def admin_id() -> int:
    return account("admin@example.org").id


def test_the_whole_path_from_invitation_to_deactivation(app, admin_client, clock):
    """invite → password → two-factor from the page's otpauth:// secret → sign out → password and a
    fresh code → a replayed code refused → a recovery code once → deactivated, session ended."""
    make_clinic()
    response = invite(admin_client, "New.Person@Example.org ", clinics=["riverside-clinic"])
    assert response.status_code == 200
    link = link_from(response.get_data(as_text=True))
    assert re.fullmatch(r"/clinician/invite/[A-Za-z0-9_-]{43}", link)  # 256 random bits
    with app.app_context():
        invited = account("new.person@example.org")
        assert not invited.active and [c.slug for c in invited.clinics] == ["riverside-clinic"]

    person = app.test_client()
    page = person.get(link)
    assert page.status_code == 200 and 'name="password_confirm"' in page.get_data(as_text=True)
    response = set_password(person, link)
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/two-factor/setup"
    assert account("new.person@example.org").active

    totp, recovery = enrol(person, clock)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert account("new.person@example.org").two_factor_enabled
    assert sign_out(person).status_code == 303

    # The code that confirmed set-up is spent: the same 30 seconds give no way back in.
    assert password_step(person, "new.person@example.org", NEW_PASSWORD).headers["Location"] == "/clinician/two-factor"
    assert person.get("/clinician/").status_code == 302  # the password alone signs nobody in
    assert code_step(person, totp.at(clock.value)).status_code == 400
    clock.advance(30)
    fresh = totp.at(clock.value)
    response = code_step(person, fresh)
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/"
    assert person.get("/clinician/").status_code == 200
    assert sign_out(person).status_code == 303

    # A replayed code is refused; a recovery code works once.
    password_step(person, "new.person@example.org", NEW_PASSWORD)
    assert code_step(person, fresh).status_code == 400
    assert code_step(person, recovery[0].upper()).status_code == 303
    assert person.get("/clinician/").status_code == 200
    sign_out(person)
    password_step(person, "new.person@example.org", NEW_PASSWORD)
    assert code_step(person, recovery[0]).status_code == 400
    assert person.get("/clinician/").status_code == 302

    clock.advance(30)
    password_step(person, "new.person@example.org", NEW_PASSWORD)
    assert code_step(person, totp.at(clock.value)).status_code == 303
    assert person.get("/clinician/").status_code == 200
    person_id = account("new.person@example.org").id
    response = admin_client.post(f"/clinician/accounts/{person_id}/deactivate",
                                 data={"csrf_token": csrf(admin_client, "/clinician/accounts")})
    assert response.status_code == 303
    response = person.get("/clinician/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/clinician/login")

    assert actions(admin_id()) == ["sign_in", "account_invited", "deactivated"]
    assert actions(person_id) == [
        "account_activated", "sign_in", "two_factor_enrolled", "sign_out",
        "sign_in_failed", "sign_in", "sign_out",
        "sign_in_failed", "sign_in", "sign_out",
        "sign_in_failed", "sign_in"]


def test_a_reset_link_sets_a_new_password_and_ends_every_old_session(app, admin_client, make_clinician):
    doc = make_clinician()
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert sign_in(client).status_code == 303
    response = admin_client.post(f"/clinician/accounts/{doc.id}/reset",
                                 data={"csrf_token": csrf(admin_client, "/clinician/accounts")})
    assert response.status_code == 200
    link = link_from(response.get_data(as_text=True))
    assert link.startswith("/clinician/reset/")
    assert first.get("/clinician/").status_code == 200  # issuing a link changes nothing yet

    person = app.test_client()
    response = set_password(person, link)
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/login"
    for client in (first, second):
        assert client.get("/clinician/").status_code == 302
    assert sign_in(person).status_code == 400  # the old password is gone
    assert sign_in(person, password=NEW_PASSWORD).status_code == 303
    assert app.test_client().get(link).status_code == 404  # once only
    late = app.test_client()
    late_post = late.post(link, data={"password": "yet another long password",
                                      "password_confirm": "yet another long password", "csrf_token": csrf(late)})
    assert late_post.status_code == 404 and sign_in(late, password="yet another long password").status_code == 400
    assert actions(admin_id())[-1] == "password_reset_issued"
    assert actions(doc.id) == ["sign_in", "sign_in", "password_changed", "sign_in_failed", "sign_in", "sign_in_failed"]


def test_only_a_hash_of_the_link_is_stored_and_it_expires_after_72_hours(app, admin_client):
    link = link_from(invite(admin_client).get_data(as_text=True))
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        [row] = _db.session.scalars(sa.select(AccountToken)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
        assert timedelta(hours=71, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=72)
        row.expires_at = utcnow() - timedelta(seconds=1)
        _db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_used_expired_and_unknown_links_get_one_calm_page(app, admin_client):
    used = link_from(invite(admin_client, "a@example.org").get_data(as_text=True))
    assert set_password(app.test_client(), used).status_code == 303
    expired = link_from(invite(admin_client, "b@example.org").get_data(as_text=True))
    with app.app_context():
        _db.session.execute(sa.update(AccountToken).where(AccountToken.used_at.is_(None))
                            .values(expires_at=utcnow() - timedelta(hours=1)))
        _db.session.commit()
    bodies = set()
    for link in (used, expired, "/clinician/invite/unknown-token", "/clinician/reset/" + "x" * 43,
                 used.replace("/invite/", "/reset/")):
        response = app.test_client().get(link)
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "This link no longer works" in body and "Traceback" not in body
        bodies.add(re.sub(r'value="[^"]*"|next=[^"]*', "", body))
    assert len(bodies) == 1  # nothing tells an unknown link from a used or expired one


def test_a_newer_link_replaces_the_older_one(app, admin_client):
    first = link_from(invite(admin_client).get_data(as_text=True))
    new_id = account("new@example.org").id
    second = link_from(admin_client.post(f"/clinician/accounts/{new_id}/reset",
                                         data={"csrf_token": csrf(admin_client, "/clinician/accounts")})
                       .get_data(as_text=True))
    assert "/invite/" in second  # never accepted: a new invitation, not a reset
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


@pytest.mark.parametrize("password, confirm", [
    ("short", "short"), ("x" * 1025, "x" * 1025), (NEW_PASSWORD, NEW_PASSWORD + "!"), ("", ""),
], ids=["too-short", "too-long", "different", "empty"])
def test_a_bad_password_on_the_link_changes_nothing(app, admin_client, password, confirm):
    link = link_from(invite(admin_client).get_data(as_text=True))
    person = app.test_client()
    response = set_password(person, link, password, confirm)
    assert response.status_code == 400 and "error-summary" in response.get_data(as_text=True)
    invited = account("new@example.org")
    assert not invited.active and not invited.password_hash.startswith("$argon2")
    assert person.get(link).status_code == 200  # still usable
    assert "account_activated" not in actions()


@pytest.mark.parametrize("data, status", [
    ({"email": "not-an-email", "role": "clinician"}, 400),
    ({"email": "", "role": "clinician"}, 400),
    ({"email": "x@example.org", "role": "superuser"}, 400),
    ({"email": "x@example.org", "role": "clinician", "clinic": ["no-such-clinic"]}, 400),
    ({"email": "doc@example.org", "role": "clinician"}, 409),
], ids=["bad-email", "no-email", "bad-role", "unknown-clinic", "exists"])
def test_bad_invitations_store_nothing(admin_client, clinician, data, status):
    before = count(Clinician.id)
    response = admin_client.post("/clinician/accounts/invite",
                                 data={**data, "csrf_token": csrf(admin_client, "/clinician/accounts")})
    assert response.status_code == status and "No invitation was made" in response.get_data(as_text=True)
    assert count(Clinician.id) == before
    assert count(AccountToken.id) == 0
    assert "account_invited" not in actions()


def test_an_invitation_without_its_csrf_token_is_refused(admin_client):
    response = admin_client.post("/clinician/accounts/invite", data={"email": "x@example.org", "role": "admin"})
    assert response.status_code == 400 and account("x@example.org") is None


def test_accounts_pages_are_for_admins_only(signed_in, clinician):
    assert signed_in.get("/clinician/accounts").status_code == 403
    assert signed_in.get(f"/clinician/accounts/{clinician.id}").status_code == 403
    token = csrf(signed_in, "/clinician/account")
    for action in ("deactivate", "reactivate", "reset", "role", "clinics", "two-factor-reset"):
        response = signed_in.post(f"/clinician/accounts/{clinician.id}/{action}",
                                  data={"csrf_token": token, "role": "admin"})
        assert response.status_code == 403
    response = signed_in.post("/clinician/accounts/invite", data={"csrf_token": token, "email": "x@example.org",
                                                                   "role": "admin"})
    assert response.status_code == 403 and account("x@example.org") is None
    assert account(clinician.email).role == "clinician" and account(clinician.email).active


def test_an_unknown_or_huge_account_id_is_not_found(admin_client):
    for account_id in (999, 2**31, 10**30):
        assert admin_client.get(f"/clinician/accounts/{account_id}").status_code == 404
        assert post_action(admin_client, account_id, "deactivate").status_code == 404


def test_the_list_shows_each_account(app, admin_client, make_clinician):
    make_clinic()
    doc = make_clinician()
    with app.app_context():
        doc = _db.session.get(Clinician, doc.id)
        doc.clinics = [_db.session.scalar(sa.select(Clinic).where(Clinic.slug == "riverside-clinic"))]
        _db.session.commit()
    invite(admin_client, "invited@example.org")
    page = admin_client.get("/clinician/accounts").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a[^>]*>doc@example.org</a></td>(.*?)</tr>", page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells == ["Clinician", "Riverside Clinic", "Active", "Off", "Never"]
    admin_row = re.search(r"admin@example.org</a></td>(.*?)</tr>", page, re.S).group(1)
    assert "Admin" in admin_row and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", admin_row)  # last sign-in
    assert re.search(r"invited@example.org</a></td>.*?Invited", page, re.S)


def post_action(admin_client, account_id, action, **data):
    return admin_client.post(f"/clinician/accounts/{account_id}/{action}",
                             data={**data, "csrf_token": csrf(admin_client, "/clinician/accounts")})


def test_role_clinics_reactivation_and_two_factor_reset_are_audited(app, admin_client, make_clinician, clock):
    make_clinic()
    make_clinic("Hillside Clinic", "hillside-clinic")
    doc = make_clinician()
    assert post_action(admin_client, doc.id, "role", role="admin").status_code == 303
    assert account(doc.email).role == "admin"
    both = ["hillside-clinic", "riverside-clinic"]
    assert post_action(admin_client, doc.id, "clinics", clinic=both).status_code == 303
    with app.app_context():
        assert [c.slug for c in account(doc.email).clinics] == ["hillside-clinic", "riverside-clinic"]
    assert post_action(admin_client, doc.id, "clinics", clinic=["nowhere"]).status_code == 400
    with app.app_context():
        assert len(account(doc.email).clinics) == 2
    assert post_action(admin_client, doc.id, "deactivate").status_code == 303
    assert post_action(admin_client, doc.id, "reactivate").status_code == 303
    assert account(doc.email).active

    person = app.test_client()
    assert sign_in(person).status_code == 303
    enrol(person, clock)
    assert post_action(admin_client, doc.id, "two-factor-reset").status_code == 303
    assert not account(doc.email).two_factor_enabled
    assert person.get("/clinician/").status_code == 302  # its sessions ended with the old factor
    with app.app_context():
        details = dict(_db.session.execute(sa.select(AuditEvent.action, AuditEvent.detail)
                                           .where(AuditEvent.clinician_id == admin_id())).all())
    assert set(details) >= {"role_changed", "clinics_changed", "deactivated", "reactivated", "two_factor_reset"}
    assert details["role_changed"].endswith("clinician -> admin")
    # clinician_support adds everyone to the home clinic
    assert "doc@example.org" in details["clinics_changed"] and "was home-clinic" in details["clinics_changed"]


def test_the_last_active_admin_cannot_deactivate_or_demote_themselves(admin_client, make_clinician):
    me = account("admin@example.org")
    for action, data in (("deactivate", {}), ("role", {"role": "clinician"})):
        response = post_action(admin_client, me.id, action, **data)
        assert response.status_code == 409 and "only active admin" in response.get_data(as_text=True)
    me = account("admin@example.org")
    assert me.active and me.is_admin
    assert admin_client.get("/clinician/accounts").status_code == 200
    assert not {"deactivated", "role_changed"} & set(actions())
    # With a second active admin, stepping down is allowed.
    make_clinician("second@example.org", role="admin")
    response = post_action(admin_client, me.id, "role", role="clinician")
    assert response.status_code == 303 and response.headers["Location"] == "/clinician/"
    assert not account("admin@example.org").is_admin
    second = account("second@example.org")
    assert second.is_admin and second.active


def test_a_deactivated_admin_does_not_count_as_the_other_admin(admin_client, make_clinician):
    make_clinician("second@example.org", role="admin", active=False)
    assert post_action(admin_client, account("admin@example.org").id, "deactivate").status_code == 409


def test_a_deactivated_account_gets_no_reset_link_and_an_old_one_stops(app, admin_client, make_clinician):
    doc = make_clinician()
    link = link_from(post_action(admin_client, doc.id, "reset").get_data(as_text=True))
    post_action(admin_client, doc.id, "deactivate")
    assert app.test_client().get(link).status_code == 404
    assert post_action(admin_client, doc.id, "reset").status_code == 409
    assert count(AccountToken.id) == 0


def test_changing_ones_own_password_needs_the_current_one_and_ends_other_sessions(app, signed_in, clinician):
    other = app.test_client()
    assert sign_in(other).status_code == 303
    token = csrf(signed_in, "/clinician/account")
    wrong = signed_in.post("/clinician/account", data={"current_password": "not the password at all",
                                                       "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
                                                       "csrf_token": token})
    assert wrong.status_code == 400 and "The current password is not right." in wrong.get_data(as_text=True)
    assert other.get("/clinician/").status_code == 200
    response = signed_in.post("/clinician/account", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                          "password_confirm": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert signed_in.get("/clinician/").status_code == 200  # this session goes on
    assert other.get("/clinician/").status_code == 302  # the other one ended
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303
    assert actions(clinician.id).count("password_changed") == 1


def test_the_link_uses_the_public_base_url_never_the_host_header(app, admin_client):
    from app.auth.account_links import public_url

    app.config["PUBLIC_BASE_URL"] = "https://screening.example.org"
    response = invite(admin_client)
    assert link_from(response.get_data(as_text=True)).startswith("https://screening.example.org/clinician/invite/")
    with app.test_request_context("/", base_url="http://evil.example"):
        assert public_url("reset", "t0ken") == "https://screening.example.org/clinician/reset/t0ken"
        app.config["PUBLIC_BASE_URL"] = None
        assert public_url("invite", "t0ken") == "/clinician/invite/t0ken"  # a path, never the Host


# --- Command line ----------------------------------------------------------------------------------

def test_cli_invite_prints_a_working_link(app, runner):
    make_clinic()
    app.config["PUBLIC_BASE_URL"] = "https://screening.example.org"
    result = runner.invoke(args=["clinician", "invite", "Lead@Example.org", "--admin", "--clinic", "riverside-clinic"])
    assert result.exit_code == 0, result.output
    link = re.search(r"https://screening\.example\.org/clinician/invite/\S+", result.output).group(0)
    with app.app_context():
        lead = account("lead@example.org")
        assert lead.is_admin and not lead.active and [c.slug for c in lead.clinics] == ["riverside-clinic"]
    assert "lead@example.org\tadmin\tinvited" in runner.invoke(args=["clinician", "list"]).output
    assert set_password(app.test_client(), path_of(link)).status_code == 303
    assert account("lead@example.org").active
    assert actions() == ["account_invited", "account_activated", "sign_in"]


@pytest.mark.parametrize("args, message", [
    (["clinician", "invite", "nobody"], "is not an email address"),
    (["clinician", "invite", "x@example.org", "--clinic", "nowhere"], "No clinic 'nowhere'"),
    (["clinician", "reset", "nobody@example.org"], "No account for nobody@example.org"),
    (["clinician", "reset-2fa", "nobody@example.org"], "No account for nobody@example.org"),
])
def test_cli_account_commands_refuse_bad_input(app, runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    assert count(Clinician.id) == 0 and actions() == []


def test_cli_reset_and_reset_2fa(app, runner, make_clinician, clock):
    make_clinician()
    session = app.test_client()
    assert sign_in(session).status_code == 303
    enrol(session, clock)
    result = runner.invoke(args=["clinician", "reset", "DOC@example.org"])
    assert result.exit_code == 0
    link = re.search(r"/clinician/reset/\S+", result.output).group(0)
    assert set_password(app.test_client(), link).status_code == 303
    assert session.get("/clinician/").status_code == 302
    assert runner.invoke(args=["clinician", "reset-2fa", "doc@example.org"]).exit_code == 0
    assert not account("doc@example.org").two_factor_enabled
    assert actions()[-3:] == ["password_reset_issued", "password_changed", "two_factor_reset"]


def test_cli_deactivation_is_audited_and_withdraws_links(app, runner, make_clinician):
    make_clinician()
    issued = runner.invoke(args=["clinician", "reset", "doc@example.org"])
    link = re.search(r"/clinician/reset/\S+", issued.output).group(0)
    assert runner.invoke(args=["clinician", "deactivate", "doc@example.org"]).exit_code == 0
    assert app.test_client().get(link).status_code == 404
    assert actions()[-1] == "deactivated"


@pytest.mark.parametrize("path", ["/clinician/invite/AbC_d-123", "/clinician/reset/AbC_d-123",
                                  "/clinician/RESET/AbC_d-123"])
def test_the_access_log_never_holds_a_link_token(path):
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    redacted = config["redact_path"](path)
    assert "AbC_d-123" not in redacted and redacted.lower().startswith(path.rsplit("/", 1)[0].lower() + "/[")
