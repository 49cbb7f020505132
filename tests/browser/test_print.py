"""Print / Save as PDF in a real browser: headless Chromium prints a stored result on one page."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

from tests.results_helpers import ITQ_PATTERNS, store_itq, store_pcl5, store_pcptsd5

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PDFTOTEXT = shutil.which("pdftotext")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a Chromium binary (apt-get install chromium)"),
]


@pytest.fixture
def live_url(app):
    """The test app served on a free local port for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def print_to_pdf(url: str, pdf_path: str) -> bytes:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", url],
            check=True, capture_output=True, timeout=90,
        )
    with open(pdf_path, "rb") as pdf:
        return pdf.read()


def page_count(pdf: bytes) -> int:
    """Pages in a Chromium PDF (its page tree is written uncompressed)."""
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf, re.S)]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf, re.S)]
    return max(counts) if counts else len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.mark.parametrize("series", [1, 3], ids=["single", "series-of-three"])
def test_stored_pcl5_result_prints_on_one_page_without_controls(client, db, live_url, tmp_path, series):
    code = store_pcl5(client, 50)
    for total in (42, 31)[: series - 1]:
        code = store_pcl5(client, total, previous=code)
    pdf_path = str(tmp_path / "result.pdf")
    pdf = print_to_pdf(f"{live_url}/results/{code}", pdf_path)
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == 1
    if PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, "-layout", pdf_path, "-"], capture_output=True, text=True,
                              check=True).stdout
        for expected in ("Your PCL-5 result", "Taken on", code, "out of 80", "Re-experiencing",
                         "This is not a diagnosis", "If you need help now", "988", "Your answers",
                         "Trouble falling or staying asleep?", "Extremely", "Not at all"):
            assert expected in text, expected
        for absent in ("Leave this site", "Print / Save as PDF", "Delete this result", "Download a file",
                       "PCL-5 checklist", "Skip to main content"):
            assert absent not in text, absent


def test_pcptsd5_result_prints_on_one_page(client, db, live_url, tmp_path):
    code = store_pcptsd5(client, 4)
    assert page_count(print_to_pdf(f"{live_url}/results/{code}", str(tmp_path / "r.pdf"))) == 1


def pdf_in_paper_size(browser, url: str, paper: str, path: str, language: str) -> bytes:
    """Print `url` on `paper` (Letter or A4) as Chromium's print dialog would, in the session's browser.

    The session's one Playwright is reused: a second sync Playwright started while it runs would find
    its event loop already running and refuse.
    """
    context = browser.new_context(extra_http_headers={"Accept-Language": language})
    try:
        page = context.new_page()
        page.goto(url)
        page.pdf(path=path, format=paper)
    finally:
        context.close()
    with open(path, "rb") as pdf:
        return pdf.read()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_pcl5_with_item_answers_and_a_series_prints_on_one_page_of_letter_and_a4(
        client, db, live_url, playwright_browser, tmp_path, paper, language):
    """The longest PCL-5 printout: all twenty answers, a change headline and a series of three."""
    code = store_pcl5(client, 61)
    for total in (47, 30):
        code = store_pcl5(client, total, previous=code)
    path = str(tmp_path / f"{paper}.pdf")
    pdf = pdf_in_paper_size(playwright_browser, f"{live_url}/results/{code}", paper, path, language)
    assert page_count(pdf) == 1, f"{paper} {language}"
    if PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, "-layout", path, "-"], capture_output=True, text=True, check=True).stdout
        assert "Trouble falling or staying asleep?" in text and "741741" in text


def test_itq_result_with_a_change_prints_on_one_page(client, db, live_url, tmp_path):
    code = store_itq(client, ITQ_PATTERNS["itq_cptsd"], when="gt20y")
    code = store_itq(client, ITQ_PATTERNS["itq_ptsd"], previous=code)
    pdf_path = str(tmp_path / "itq.pdf")
    pdf = print_to_pdf(f"{live_url}/results/{code}", pdf_path)
    assert page_count(pdf) == 1
    if PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, "-layout", pdf_path, "-"], capture_output=True, text=True,
                              check=True).stdout
        for expected in ("Your ITQ result", code, "Sense of current threat", "Negative self-concept",
                         "This is not a diagnosis", "988"):
            assert expected in text, expected


def test_pcptsd5_no_prints_what_it_means(client, db, live_url, tmp_path):
    response = client.post("/api/v1/screenings", json={"instrument": "pcptsd5", "exposure": False,
                                                        "answers": [], "store": True})
    path = str(tmp_path / "no.pdf")
    assert page_count(print_to_pdf(f"{live_url}/results/{response.get_json()['code']}", path)) == 1
    if PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, path, "-"], capture_output=True, text=True, check=True).stdout
        text = " ".join(text.split())
        assert "does not apply to you" in text and "scores 0 and ends" in text
        assert "Re-experiencing" not in text
