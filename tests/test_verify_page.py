"""Issue 19: verify.html, the static page a parent reaches from the certificate's QR code. Opened from file:// in
headless Chromium (Debian's chromium, scripts/install.sh --test), whose DOM is read after the page's script ran:
a valid code shows the certificate, a superseded one shows it was replaced, a revoked one that it was revoked, a
made-up one that there is none; and the page's source holds no name and no code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from jury_fixtures import PEOPLE, jury_workspace
from typer.testing import CliRunner

from milsetctl.certificates import format_code, issue_certificates
from milsetctl.certificates.verifypage import (
    _salt,
    open_record,
    public_name,
    publication_refused,
    record_id,
    write_verify_page,
)
from milsetctl.cli import app
from milsetctl.decisions import record_decision

runner = CliRunner()
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None,
                                    reason="chromium (Debian's, scripts/install.sh --test)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """Five participation certificates and a juror's; then a name corrected (E0002 reprinted: its first code
    superseded), an entry disqualified (E0004: revoked), and an entry whose manifest row refuses publication
    (E0005, left off the page)."""
    tmp = tmp_path_factory.mktemp("verify-page")
    with jury_workspace(tmp, people=PEOPLE[:5], png_every=0) as ws:
        ws.ledger.save_jurors([{"key": "a@x.org", "name": "Ana Lima", "affiliation": "USP", "country": "Brazil",
                                "email": "a@x.org", "school": None}])
        first = {i.entry_id: i.code for i in issue_certificates(ws, "participation", workers=1).issued}
        juror = issue_certificates(ws, "juror", workers=1).issued[0].code
        ws.ledger.db.execute("UPDATE entries SET name=? WHERE entry_id='E0002'", ("Maria García López",))
        # as ingest keeps a manifest column the contest has no field for
        ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0005'",
                             (json.dumps({"Publication consent": "no"}),))
        ws.ledger.db.commit()
        second = {i.entry_id: i.code for i in issue_certificates(ws, "participation", workers=1).issued}
        record_decision(ws.ledger, "E0004", "reject", "the photo is a composite (added Moon)")
        page = write_verify_page(ws, tmp / "site")
        salt = _salt(ws.ledger.key() or b"")
    codes = {"valid": second["E0001"], "superseded": first["E0002"], "reprint": second["E0002"],
             "revoked": second["E0004"], "no-consent": second["E0005"], "juror": juror}
    return ws.root, page, codes, salt


def chromium_dom(address: str, tmp_path: Path) -> str:
    """The page's DOM after its script ran (the virtual time budget lets the SubtleCrypto promises settle)."""
    res = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
                          "--dump-dom", address], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def shown(dom: str) -> tuple[str, str]:
    """(data-status, the result's text) of the page's result region."""
    found = re.search(r'<div id="result"[^>]*data-status="([^"]*)"[^>]*>(.*?)</div></div>', dom, re.S)
    assert found, dom[-3000:]
    return found[1], re.sub(r"<[^>]+>", " ", found[2])


def test_the_page_lists_only_hashes_no_name_no_code(site) -> None:
    """Nothing enumerable: no name, no school, no code in any form; one opaque ID per published certificate."""
    _, page, codes, salt = site
    html = page.path.read_text(encoding="utf-8")
    for person in PEOPLE[:5]:
        for text in (person.name, person.school, person.name.split()[0]):
            assert text not in html, text
    assert "Ana Lima" not in html and "García" not in html
    for code in codes.values():
        assert code not in html and format_code(code) not in html and code.lower() not in html
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)[1])
    assert len(data["records"]) == page.listed == 6  # 5 + the reprint + the juror, less the entry without consent
    assert (page.valid, page.superseded, page.revoked) == (4, 1, 1) and page.no_consent == ["E0005"]
    assert record_id(salt, codes["no-consent"]) not in data["records"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in data["records"])


def test_a_record_opens_with_its_own_code_only(site) -> None:
    _, page, codes, salt = site
    html = page.path.read_text(encoding="utf-8")
    records = json.loads(re.search(r'id="data">(.*?)</script>', html, re.S)[1])["records"]
    record = open_record(salt, codes["valid"], records[record_id(salt, codes["valid"])])
    assert record["status"] == "valid" and record["name"] == "张*" and record["year"] == "2022"
    assert record["award"] == "Certificate of Participation" and record["kind"] == "participation"
    with pytest.raises(InvalidTag):
        open_record(salt, codes["juror"], records[record_id(salt, codes["valid"])])


def test_names_as_the_publication_setting_allows() -> None:
    assert public_name("Maria García López") == "Maria L." and public_name("张伟") == "张*"
    assert public_name("Maria García", "first-name") == "Maria" and public_name("欧阳娜娜", "first-name") == "娜娜"
    assert public_name("Maria  García", "full") == "Maria García" and public_name("Olga") == "Olga"
    assert publication_refused('{"publication_consent": "No"}') and publication_refused('{"publication consent": ""}')
    assert not publication_refused('{"Publication_Consent": "是"}') and not publication_refused("{}")


@needs_chromium
def test_a_valid_code_shows_the_certificate_as_scanned_or_typed(site, tmp_path: Path) -> None:
    """verify.html#CODE (the QR code's address), with the scanner's prefix, lower case and spaces, and ?code=."""
    _, page, codes, _ = site
    code = format_code(codes["valid"])
    for address in (f"{page.path.as_uri()}#{code}",
                    f"{page.path.as_uri()}#MILSET-CERT:{code.lower()}",
                    f"{page.path.as_uri()}?code={code.replace('-', '%20').lower()}"):
        status, text = shown(chromium_dom(address, tmp_path))
        assert status == "valid", address
        assert "Valid certificate" in text and "张*" in text and "Certificate of Participation" in text
        assert "2022" in text and code in text and "张伟" not in text


@needs_chromium
def test_a_superseded_code_shows_it_was_replaced(site, tmp_path: Path) -> None:
    _, page, codes, _ = site
    status, text = shown(chromium_dom(f"{page.path.as_uri()}#{format_code(codes['superseded'])}", tmp_path))
    assert status == "superseded" and "Replaced" in text and "no longer valid" in text and "Maria G." in text
    status, text = shown(chromium_dom(f"{page.path.as_uri()}#{format_code(codes['reprint'])}", tmp_path))
    assert status == "valid" and "Maria L." in text  # the reprint, with the corrected name


@needs_chromium
def test_a_revoked_code_a_made_up_one_and_one_left_off(site, tmp_path: Path) -> None:
    _, page, codes, _ = site
    status, text = shown(chromium_dom(f"{page.path.as_uri()}#{format_code(codes['revoked'])}", tmp_path))
    assert status == "revoked" and "Revoked" in text and "disqualified" in text
    for made_up in ("AAAA-BBBB-CCCC-DDDD", format_code(codes["no-consent"])):
        status, text = shown(chromium_dom(f"{page.path.as_uri()}#{made_up}", tmp_path))
        assert status == "not-found" and "No certificate with this code" in text, made_up
    status, text = shown(chromium_dom(f"{page.path.as_uri()}#hello", tmp_path))
    assert status == "not-found" and "Not a certificate code" in text
    status, text = shown(chromium_dom(f"{page.path.as_uri()}#{format_code(codes['juror'])}", tmp_path))
    assert status == "valid" and "Ana Lima" in text and "Juror" in text  # an adult volunteer: the name in full


def test_verify_says_revoked_for_a_disqualified_entry(site) -> None:
    """The command says what the page says: a genuine certificate whose entry was disqualified is not valid."""
    root, _, codes, _ = site
    res = runner.invoke(app, ["verify", codes["revoked"], "-w", str(root), "--json"])
    got = json.loads(res.stdout)
    assert res.exit_code == 1 and got["valid"] is False and "disqualified" in got["revoked"]["reason"]
    res = runner.invoke(app, ["verify", codes["revoked"], "-w", str(root)], terminal_width=200)
    assert res.exit_code == 1 and "revoked, no longer valid" in res.stdout


def test_the_gallery_command_writes_verify_html_beside_the_gallery(tmp_path: Path) -> None:
    from test_gallery import global_awards

    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws)
        issue_certificates(ws, "global", workers=1)
        root = ws.root
    res = runner.invoke(app, ["gallery", "-w", str(root), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["gallery"] == str(root / "gallery" / "index.html")  # stdout: the JSON alone
    page = root / "gallery" / "verify.html"
    assert page.is_file() and f"{page}" in " ".join(res.stderr.split()) and "3 certificates" in res.stderr
    assert "<main>" in page.read_text(encoding="utf-8")
