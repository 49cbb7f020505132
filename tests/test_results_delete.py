"""Deleting a result: confirmation page, POST with CSRF, the row really gone, later results unlinked."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import Screening
from tests.conftest import stored_count
from tests.results_helpers import row_for, store_pcl5, typed_sloppily


def test_result_page_offers_delete_and_the_confirmation_page_explains(client, db):
    code = store_pcl5(client, 40)
    html = client.get(f"/results/{code}").get_data(as_text=True)
    assert f'action="/results/download" class="code-actions">\n<input type="hidden" name="code" value="{code}">' in html
    assert 'formaction="/results/delete">Delete this result</button>' in html
    assert "Delete this result" in html
    for confirm in (client.post("/results/delete", data={"code": typed_sloppily(code)}),
                    client.get(f"/results/{typed_sloppily(code)}/delete")):  # the button, or a link kept from before
        assert confirm.status_code == 200
        page = confirm.get_data(as_text=True)
        assert "cannot be undone" in page and code in page
        # Both answers post the code in their body: Yes deletes, No shows the result again.
        assert ('<form method="post" action="/results/delete">\n'
                f'<input type="hidden" name="code" value="{code}">'
                '<input type="hidden" name="confirm" value="yes">') in page
        assert ('<form method="post" action="/results">\n'
                f'<input type="hidden" name="code" value="{code}">') in page and "No, keep it" in page
        assert confirm.headers["Cache-Control"] == "no-store"
    assert stored_count() == 1  # looking at the confirmation deletes nothing


def test_post_from_this_site_deletes_the_row_and_the_code_then_404s_like_a_stranger(app, client, db):
    code = store_pcl5(client, 40)
    never = "0000-0000-0000"
    before = {path: client.get(path) for path in (f"/results/{never}", f"/results/{never}.fhir.json")}
    assert client.get(f"/results/{code}/delete").status_code == 200
    response = client.post(f"/results/{code}/delete", data={})
    assert response.status_code == 303 and response.headers["Location"] == "/results/deleted"
    assert "has been deleted" in client.get("/results/deleted").get_data(as_text=True)
    assert stored_count() == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Screening)) == 0  # gone, not flagged
    for path, stranger in before.items():
        after = client.get(path.replace(never, code))
        assert (after.status_code, stranger.status_code) == (404, 404)
        assert after.get_data() == stranger.get_data()
    for path in (f"/results/{code}/delete",):
        assert client.get(path).get_data() == client.get(f"/results/{never}/delete").get_data()
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}],
                         ids=["cross-site", "same-site", "foreign-origin", "null-origin"])
def test_a_post_from_another_site_deletes_nothing(client, db, headers):
    code = store_pcl5(client, 40)
    response = client.post(f"/results/{code}/delete", data={}, headers=headers)
    assert response.status_code == 403 and "Set-Cookie" not in response.headers
    assert "sent from another website" in response.get_data(as_text=True)
    assert stored_count() == 1


def test_get_never_deletes(client, db):
    code = store_pcl5(client, 40)
    client.get(f"/results/{code}/delete")
    client.get(f"/results/{code}/delete?confirm=yes")
    assert stored_count() == 1


def test_deleting_an_earlier_result_keeps_and_unlinks_later_ones(client, db):
    """ON DELETE SET NULL: on PostgreSQL natively, on SQLite because foreign keys are switched on."""
    first = store_pcl5(client, 50)
    second = store_pcl5(client, 40, previous=first)
    third = store_pcl5(client, 30, previous=first)  # two retakes may point at one result
    assert client.delete(f"/api/v1/screenings/{first}").status_code == 204
    assert row_for(first) is None
    assert row_for(second).previous_id is None and row_for(third).previous_id is None
    html = client.get(f"/results/{second}").get_data(as_text=True)
    assert "Change since your earlier result" not in html


def test_deleting_a_middle_result_breaks_the_series_there(client, db):
    first = store_pcl5(client, 50)
    second = store_pcl5(client, 40, previous=first)
    third = store_pcl5(client, 30, previous=second)
    assert client.get(f"/results/{second}/delete").status_code == 200
    client.post(f"/results/{second}/delete", data={})
    assert row_for(third).previous_id is None and row_for(first) is not None
    assert stored_count() == 2


def test_the_series_link_unlinks_on_delete_in_the_database_itself(app, db):
    """The schema says ON DELETE SET NULL, and SQLite connections enforce foreign keys as PostgreSQL does."""
    with app.app_context():
        (foreign_key,) = [fk for fk in sa.inspect(db.engine).get_foreign_keys("screenings")
                          if fk["constrained_columns"] == ["previous_id"]]
        assert foreign_key["name"] == "fk_screenings_previous_id_screenings"
        assert (foreign_key["constrained_columns"], foreign_key["referred_columns"]) == (["previous_id"], ["id"])
        assert foreign_key["options"]["ondelete"] == "SET NULL"
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_api_delete_is_204_then_404(client, db):
    code = store_pcl5(client, 40)
    response = client.delete(f"/api/v1/screenings/{typed_sloppily(code)}")
    assert response.status_code == 204 and response.get_data() == b""
    assert stored_count() == 0
    again = client.delete(f"/api/v1/screenings/{code}")
    assert again.status_code == 404 and again.get_json() == {"errors": ["No stored result has that code."]}


@pytest.mark.parametrize("code", ["0000-0000-0000", "not-a-code", "x" * 80])
def test_api_delete_unknown_or_malformed_is_404_json(client, db, code):
    store_pcl5(client, 40)
    response = client.delete(f"/api/v1/screenings/{code}")
    assert response.status_code == 404
    assert response.get_json() == {"errors": ["No stored result has that code."]}
    assert stored_count() == 1


def test_deleted_code_is_a_404_on_every_result_route(client, db):
    code = store_pcl5(client, 40)
    client.delete(f"/api/v1/screenings/{code}")
    for path in (f"/results/{code}", f"/results/{code}.fhir.json", f"/results/{code}/delete"):
        response = client.get(path)
        assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
