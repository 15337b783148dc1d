"""The notices' words (issue 19): every rule has a plain sentence of its own (never its ID), and every message of
the letter has its Chinese translation in the catalogue, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from milsetctl.notices import catalogue
from milsetctl.notices.i18n import catalogue_path, languages_setting, translate, translations
from milsetctl.notices.render import html_to_text
from milsetctl.notices.wording import RULES, Msg, rule_reason
from milsetctl.rules import load_rules
from milsetctl.settings import defaults

# the rules SPEC fixes for the next capabilities, which a notice must already be able to explain
ANNOUNCED = ("title-generic", "title-duplicate", "plain-language", "past-entry", "consent-missing",
             "extra-personal-data")


def test_every_rule_has_its_own_plain_sentence() -> None:
    settings = defaults()
    for rule_id in [*load_rules(), *ANNOUNCED]:
        assert rule_id in RULES, f"{rule_id}: no plain sentence in milsetctl/notices/wording.py"
        reason = rule_reason(rule_id, settings)
        for lang in ("en", "zh"):
            problem, rule = translate(reason.problem, lang), translate(reason.rule, lang)  # type: ignore[arg-type]
            if "-" in rule_id:  # (grade, face, format, late, language are plain words too)
                assert rule_id not in problem and rule_id not in rule
            assert problem and rule and "%(" not in problem + rule
    sentences = [RULES[r](settings)[0].msgid for r in RULES]
    assert len(set(sentences)) == len(sentences), "two rules explained with the same words"


def test_rule_sentences_quote_the_contest_settings() -> None:
    settings = defaults()
    settings.raw["photo"]["min_width"] = 3000
    assert "at least 3,000 pixels" in translate(rule_reason("min-width", settings).rule, "en")  # type: ignore[arg-type]
    assert "11 July 2022" in translate(rule_reason("late", settings).rule, "en")  # type: ignore[arg-type]
    assert "2022年7月11日" in translate(rule_reason("late", settings).rule, "zh")  # type: ignore[arg-type]
    assert "10 MB" in translate(rule_reason("file-size", settings).rule, "en")  # type: ignore[arg-type]


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s|%%", text))


def test_every_message_has_its_chinese_translation() -> None:
    from babel.messages.pofile import read_po

    with catalogue_path("zh").open("rb") as fh:
        po = read_po(fh)
    translated = {m.id: m for m in po if m.id}
    for msgid in catalogue.extract():
        assert msgid in translated, f"not in the zh catalogue (python -m milsetctl.notices.catalogue): {msgid!r}"
        message = translated[msgid]
        assert message.string and not message.fuzzy, f"no Chinese for {msgid!r}"
        assert _placeholders(message.string) == _placeholders(msgid), msgid
        assert re.search(r"[\u4e00-\u9fff]", message.string), f"{msgid!r} is not translated into Chinese"
    assert translations("zh").gettext("Result notice") == "评审结果通知"


def test_a_msg_inside_a_msg_is_translated_too() -> None:
    text = Msg("Your %(award)s certificate will follow.", award=Msg("Qualifier Award"))
    assert translate(text, "en") == "Your Qualifier Award certificate will follow."
    assert translate(text, "zh") == "你的晋级奖（Qualifier Award）证书将随后寄出。"


def test_languages_setting() -> None:
    settings = defaults()
    assert languages_setting(settings) == ["en"]
    settings.raw["notices"]["languages"] = ["zh", "en", "zh"]
    assert languages_setting(settings) == ["zh", "en"]
    settings.raw["notices"]["languages"] = []
    with pytest.raises(ValueError, match="must be a list of language codes"):
        languages_setting(settings)


def test_the_letter_as_plain_text() -> None:
    html = ('<article><header><p>Contest</p><p>Result notice</p></header><p>Dear A,</p>'
            '<section><h2>Your photo could not be judged</h2><p>Sorry.</p></section>'
            '<ol class="reasons"><li><p class="problem">Too small.</p><p class="rule">The rule: 2000 px.</p></li>'
            '<li><p>Late.</p></li></ol><table><tr><th>Certificate</th><th>Code</th></tr>'
            '<tr><td>Participation<br>参赛证书</td><td>ABCD-EFGH</td></tr></table><p>Bye,<br>Us</p></article>')
    assert html_to_text(html) == (
        "Contest\n\nResult notice\n\nDear A,\n\nYour photo could not be judged\n==============================\n\n"
        "Sorry.\n\n1. Too small.\n   The rule: 2000 px.\n\n2. Late.\n\n"
        "Certificate — Code\nParticipation / 参赛证书 — ABCD-EFGH\n\nBye,\nUs")
