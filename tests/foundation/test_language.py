"""The hub side's one Accept-Language negotiation."""

import pytest

from hybridhub.hub_ext.language import negotiate

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "header, expected",
    [
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR, ja;q=0.5", "ja"),
        ("ja;q=0, en;q=0.1", "en"),
        ("ja, en", "ja"),  # equal weights keep the header's order
        (None, "en"),
        ("garbage;;q=x", "en"),
    ],
)
def test_negotiate(header, expected):
    assert negotiate(header) == expected


def test_only_supported_languages_are_chosen():
    assert negotiate("ja", supported=("en",)) == "en"
