"""The CSV export opened by a real spreadsheet: headless LibreOffice reads the clinic-local times as
dates and times (skipped where `soffice` is not installed; .ci/run installs libreoffice-calc-nogui)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Clinic
from tests.clinician_support import WORKSPACE_FIXTURES, clinic_named, store, utc
from tests.conftest import in_app_context

pytestmark = pytest.mark.usefixtures(*WORKSPACE_FIXTURES)

SOFFICE = shutil.which("soffice")
CELL = re.compile(r"<table:table-cell\b([^>]*)>")


@in_app_context
def set_zone(name: str, zone: str) -> None:
    _db.session.scalar(sa.select(Clinic).where(Clinic.name == name)).timezone = zone
    _db.session.commit()


def cells_of_rows(fods: str) -> list[list[str]]:
    """Each row's cell attributes (value type and value), in order, from a flat ODS document."""
    rows = []
    for row in re.findall(r"<table:table-row\b.*?</table:table-row>", fods, flags=re.S):
        cells = []
        for attributes in CELL.findall(row):  # runs of equal (e.g. empty) cells are written once
            repeated = re.search(r'table:number-columns-repeated="([0-9]+)"', attributes)
            cells.extend([attributes] * (int(repeated.group(1)) if repeated else 1))
        rows.append(cells)
    return rows


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"),
                    reason="LibreOffice (soffice) is not installed (.ci/run installs it; under CI this fails)")
def test_libreoffice_reads_the_clinic_local_times_as_dates(tmp_path, signed_in):
    clinic_named()
    set_zone("Home Clinic", "Europe/Madrid")
    store(taken_at=utc(2026, 1, 31, 23, 30))  # 00:30 on 1 February in Madrid
    exported = tmp_path / "results.csv"
    exported.write_bytes(signed_in.get("/clinician/export.csv").get_data())
    header = exported.read_text().splitlines()[0].split(",")
    # Comma-separated, UTF-8, from line 1: the import a spreadsheet user chooses for a CSV file.
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                    "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(tmp_path), str(exported)],
                   check=True, capture_output=True, timeout=180)
    rows = cells_of_rows((tmp_path / "results.fods").read_text())
    values = rows[1]
    local = values[header.index("taken_at_local")]
    assert 'office:value-type="date"' in local and 'office:date-value="2026-02-01T00:30:00"' in local
    assert 'office:value-type="string"' in values[header.index("taken_at")]  # ISO 8601 with T and Z: text
