"""The person-facing pages: home, both questionnaires end to end without JavaScript, results."""
from __future__ import annotations

import re

import pytest

from tests.conftest import kept_code, one_time_value, scripts_are_only_the_site_script, stored_count

NOT_A_DIAGNOSIS = "This is not a diagnosis — please talk to a clinician"


def pcl5_form(answers, store="no", **extra):
    """The form as the browser sends it; a kept one carries the one-time value the page's script adds."""
    data = {f"q{n}": str(v) for n, v in enumerate(answers, start=1)}
    once = {"submission": one_time_value()} if store == "yes" else {}
    return {"store": store, **data, **once, **extra}


def test_home_explains_and_links_both_screenings(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/screen/pcl5"' in html and 'href="/screen/pcptsd5"' in html
    assert "minute" in html and "not a diagnosis" in html.lower()
    assert "365 days" in html  # the privacy note states the retention period


def test_pcl5_page_structure(client):
    html = client.get("/screen/pcl5").get_data(as_text=True)
    assert html.count("<fieldset") == 21  # 20 items + the store choice
    assert html.count("<legend") == 21
    # The paper form's three groups are the form's parts, each saying where it is in the whole.
    headings = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r'<section class="part">\s*<h2>(.*?)</h2>', html)]
    assert headings == ["Part 1 of 3 Re-experiencing (questions 1–5)",
                        "Part 2 of 3 Avoidance and numbing (questions 6–14)",
                        "Part 3 of 3 Arousal and reactivity (questions 15–20)"]
    assert "20 questions in 3 parts." in html
    # Keep this result? comes before the optional comparison, which is folded away.
    assert html.index('id="store"') < html.index('<details class="compare-box">') < html.index('id="previous"')
    numbers = [int(n) for n in re.findall(r'class="qnum">(\d+)\.', html)]
    assert numbers == list(range(1, 21))  # the instrument's own order
    for n in range(1, 21):
        for value in range(5):
            assert f'name="q{n}" value="{value}"' in html
    assert 'name="csrf_token"' not in html and 'name="store" value="yes"' in html
    assert "Weathers" in html  # credit line
    # Works without JavaScript: scripts are external enhancements only, never inline.
    assert scripts_are_only_the_site_script(html)


def test_pcptsd5_page_structure(client):
    html = client.get("/screen/pcptsd5").get_data(as_text=True)
    assert 'name="exposure" value="yes"' in html and 'name="exposure" value="no"' in html
    for n in range(1, 6):
        assert f'name="q{n}" value="yes"' in html and f'name="q{n}" value="no"' in html
    assert "Prins" in html


def test_pcl5_not_stored_shows_result_immediately(client, db):
    assert client.get("/screen/pcl5").status_code == 200
    response = client.post("/screen/pcl5", data=pcl5_form([2] * 20))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>40</strong> out of 80" in html
    assert "10 out of 20" in html and "18 out of 36" in html and "12 out of 24" in html
    assert "worth talking to a professional about" in html and "the cut-off is 33" in html
    assert "also fit the pattern of symptoms" in html
    assert NOT_A_DIAGNOSIS in html and "988" in html
    assert "result code" not in html.lower()
    assert stored_count() == 0


def test_pcl5_below_cutoff_wording(client, db):
    assert client.get("/screen/pcl5").status_code == 200
    html = client.post("/screen/pcl5", data=pcl5_form([1] * 20)).get_data(as_text=True)
    assert "below the level" in html and "do not fit the full pattern" in html


def test_pcl5_stored_is_shown_as_the_answer_to_the_post_with_no_code_in_any_address(client, db):
    assert client.get("/screen/pcl5").status_code == 200
    response = client.post("/screen/pcl5", data=pcl5_form([3] * 20, store="yes"))
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    code = kept_code(response)
    assert code is not None and stored_count() == 1
    html = response.get_data(as_text=True)
    assert "<strong>60</strong> out of 80" in html and code in html
    assert NOT_A_DIAGNOSIS in html and "Taken on" in html
    # Nowhere on the page does a link or form address carry the code.
    assert not [url for url in re.findall(r'(?:href|action)="([^"]*)"', html) if code.replace("-", "") in
                re.sub(r"[^0-9A-Z]", "", url.upper())]
    # A link kept from before still opens it.
    page = client.get(f"/results/{code}")
    assert page.status_code == 200 and "<strong>60</strong> out of 80" in page.get_data(as_text=True)


def test_without_the_one_time_value_nothing_is_stored_until_keep_is_pressed(client, db):
    """Without script the form has no one-time value: "Yes" shows the result with one Keep button, whose
    form carries a value made for that page, so Reload or a second press stores one result."""
    response = client.post("/screen/pcl5", data={**pcl5_form([3] * 20), "store": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and stored_count() == 0 and kept_code(response) is None
    assert "Not kept yet" in html
    keep = re.search(r'id="result-status">.*?<form method="post" action="/screen/pcl5">(.*?)</form>',
                     html, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', keep))
    assert fields["store"] == "yes" and len(fields["submission"]) >= 16
    assert {fields[f"q{n}"] for n in range(1, 21)} == {"3"}
    first = client.post("/screen/pcl5", data=fields)
    again = client.post("/screen/pcl5", data=fields)
    assert kept_code(first) == kept_code(again) is not None and stored_count() == 1


def test_sending_the_same_form_again_shows_the_same_result_and_stores_nothing_new(client, db):
    form = pcl5_form([2] * 20, store="yes")
    codes = [kept_code(client.post("/screen/pcl5", data=form)) for _ in range(3)]
    assert codes[0] is not None and codes == [codes[0]] * 3 and stored_count() == 1
    # Changed after Back (same one-time value, other answers): a new result.
    changed = {**form, "q1": "4"}
    assert kept_code(client.post("/screen/pcl5", data=changed)) not in (None, codes[0])
    assert stored_count() == 2


def test_keeping_is_not_chosen_in_advance_and_an_unanswered_choice_keeps_nothing(client, db):
    html = client.get("/screen/pcl5").get_data(as_text=True)
    store = re.search(r'<fieldset id="store".*?</fieldset>', html, re.S).group(0)
    assert "checked" not in store
    data = {k: v for k, v in pcl5_form([2] * 20).items() if k != "store"}
    response = client.post("/screen/pcl5", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and stored_count() == 0
    assert "Not kept: nothing you answered has been saved." in html and ">Keep this result</button>" in html


@pytest.mark.parametrize(
    "data, total, message",
    [
        ({"exposure": "no"}, 0, "does not apply to you"),
        ({"exposure": "no", "q1": "yes", "q2": "yes", "q3": "yes"}, 0, "does not apply to you"),  # ignored after a No
        ({"exposure": "yes", "q1": "yes", "q2": "yes", "q3": "yes", "q4": "no", "q5": "no"}, 3,
         "suggest possible PTSD"),
        ({"exposure": "yes", "q1": "yes", "q2": "no", "q3": "no", "q4": "no", "q5": "no"}, 1, "do not suggest PTSD"),
    ],
)
def test_pcptsd5_flow(client, db, data, total, message):
    assert client.get("/screen/pcptsd5").status_code == 200
    response = client.post("/screen/pcptsd5", data={**data})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<strong>{total}</strong> out of 5" in html and message in html
    assert stored_count() == 0


def test_pcptsd5_stored(client, db):
    assert client.get("/screen/pcptsd5").status_code == 200
    data = {"exposure": "yes", "store": "yes", **{f"q{n}": "yes" for n in range(1, 6)}}
    response = client.post("/screen/pcptsd5", data={**data, "submission": one_time_value()})
    assert response.status_code == 200 and kept_code(response) and stored_count() == 1


INVALID_FORMS = {
    "one answer missing": lambda: pcl5_form([2] * 19),
    "all missing": lambda: {},
    "out of range": lambda: pcl5_form([2] * 19 + [7]),
    "not a number": lambda: {**pcl5_form([2] * 20), "q5": "two"},
    "decimal": lambda: {**pcl5_form([2] * 20), "q5": "2.0"},
    "bad store value": lambda: pcl5_form([2] * 20, store="maybe"),
}


@pytest.mark.parametrize("store", ["yes", "no"])
@pytest.mark.parametrize("make", INVALID_FORMS.values(), ids=INVALID_FORMS.keys())
def test_invalid_pcl5_form_rerenders_with_summary_and_stores_nothing(client, db, make, store):
    data = make()
    data.setdefault("store", store)
    response = client.post("/screen/pcl5", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html and "Nothing was saved" in html
    assert (re.search(r'<a href="#q\d+">Question \d+: please choose', html)
            or '<a href="#q1">20 questions have no answer yet. Go to the first one.</a>' in html
            or '<a href="#store">Keep this result?: please choose Yes or No.</a>' in html)
    assert stored_count() == 0


def test_invalid_form_keeps_given_answers_and_links_missing_item(client, db):
    assert client.get("/screen/pcl5").status_code == 200
    data = pcl5_form([3] * 20, store="yes")
    del data["q7"]
    html = client.post("/screen/pcl5", data=data).get_data(as_text=True)
    assert '<a href="#q7">Question 7: please choose an answer.</a>' in html
    assert 'id="q7" class="question qrow has-error"' in html and 'aria-describedby="q7-error"' in html
    for n in (1, 6, 8, 20):
        assert re.search(rf'name="q{n}" value="3"\s+checked', html)
    assert re.search(r'name="store" value="yes"\s+checked', html)
    assert stored_count() == 0


def test_pcptsd5_exposure_yes_requires_the_five_answers(client, db):
    assert client.get("/screen/pcptsd5").status_code == 200
    response = client.post("/screen/pcptsd5", data={"exposure": "yes", "q1": "yes", "store": "yes"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<a href="#q2">4 questions have no answer yet. Go to the first one.</a>' in html
    for n in (2, 3, 4, 5):
        assert f'id="q{n}-error" lang="en">Question {n}: please choose an answer.</p>' in html
    assert stored_count() == 0


def test_pcptsd5_gate_is_required(client, db):
    assert client.get("/screen/pcptsd5").status_code == 200
    response = client.post("/screen/pcptsd5", data={})
    assert response.status_code == 400
    assert "The first question: please choose an answer." in response.get_data(as_text=True)


def test_empty_submission_says_how_many_are_missing_and_links_the_first(client, db):
    """Not twenty links: one line with the count, linked to the first unanswered question."""
    data = pcl5_form([2] * 20)
    for n in (4, 9, 17):
        del data[f"q{n}"]
    html = client.post("/screen/pcl5", data=data).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert re.findall(r'<a href="([^"]+)">', summary) == ["#q4"]
    assert "3 questions have no answer yet. Go to the first one." in summary
    empty = client.post("/screen/pcl5", data={}).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', empty, re.S).group(0)
    assert re.findall(r'<a href="([^"]+)">', summary) == ["#q1"] and "20 questions have no answer yet" in summary
    assert stored_count() == 0


def test_a_post_from_this_site_needs_no_token_and_an_old_token_field_is_ignored(client, db):
    """The person's forms carry no CSRF token any more (no session to bind it to): a same-site post
    stores, whether or not it still carries a stale csrf_token field from a page cached before."""
    html = client.get("/screen/pcl5").get_data(as_text=True)
    assert 'name="csrf_token"' not in html
    same_site = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert kept_code(client.post("/screen/pcl5", data=pcl5_form([2] * 20, store="yes"), headers=same_site))
    stale = {**pcl5_form([2] * 20, store="yes"), "csrf_token": "left-over"}
    assert kept_code(client.post("/screen/pcl5", data=stale))
    assert stored_count() == 2


@pytest.mark.parametrize("path", ["/screen/gad7", "/results/0000-0000-0000", "/results/not-a-code", "/nowhere"])
def test_not_found_pages_are_friendly_404s(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Traceback" not in html


def test_result_codes_are_accepted_in_any_case_without_dashes(client, db):
    stored = client.post("/api/v1/screenings", json={"instrument": "pcl5", "answers": [1] * 20, "store": True})
    location = stored.headers["Location"]
    code = location.rsplit("/", 1)[1]
    assert client.get(f"/results/{code.lower().replace('-', '')}").status_code == 200
    assert client.get(f"/results/{code.replace('-', ' ')}").status_code == 200
