"""Every user-facing string of the JupyterLab extension ships in Japanese."""

import re

import pytest

from tests.i18n import JA_CATALOG, extract_msgids, load_catalog

pytestmark = pytest.mark.browser


def test_extractor_sees_multiline_calls():
    # guards the extractor itself: prettier puts long strings on their own line
    assert "The hybridhub server extension is not installed or not enabled: pip install hybridhub, then restart the server." in extract_msgids()


def test_japanese_catalog_is_complete_and_has_no_stale_entries():
    used = extract_msgids()
    catalog = load_catalog()
    translated = {k for k in catalog if k}
    assert used - translated == set(), f"missing ja_JP translations in {JA_CATALOG}"
    assert translated - used == set(), "ja_JP entries no longer used in lab_ext/src"


def test_japanese_entries_keep_placeholders():
    for msgid, forms in load_catalog().items():
        if not msgid:
            continue
        assert isinstance(forms, list) and forms and all(forms), msgid
        wanted = sorted(re.findall(r"%\d", msgid))
        for form in forms:
            assert sorted(re.findall(r"%\d", form)) == wanted, msgid


def test_catalog_header_names_the_domain():
    header = load_catalog()[""]
    # JupyterLab's Gettext files messages under this locale and looks them up as "ja-JP"
    # (the form the ja-JP language pack uses); "ja_JP" here silently leaves the UI in English
    assert header["domain"] == "hybridhub" and header["language"] == "ja-JP"
