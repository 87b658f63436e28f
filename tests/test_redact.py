"""Redaction by shape, with no secret declared in the config: every shape a secret takes is masked on its own."""
import pytest

from opsproof.report.redact import MASK, Redactor, redact


@pytest.mark.parametrize("text, secret", [
    ("postgresql://app:pa55word@db:5432/app", "pa55word"),                       # URL password
    ("https://h/x?token=tok123456", "tok123456"),                                 # first query parameter
    ("https://h/x?page=2&api_key=k3y456789", "k3y456789"),                        # a later parameter
    ("https://h/x?page=2;access_token=acc98765", "acc98765"),                     # ; separator
    ("Authorization: Bearer eyJhbGciOi", "eyJhbGciOi"),                           # a header line
    ("{'Cookie': 'session=abcdef123'}", "abcdef123"),                             # a header in a dict repr
    ('{"x-api-key": "xk-998877"}', "xk-998877"),                                  # JSON
    ("host=db user=app password=hunter22 dbname=app", "hunter22"),                # libpq keyword DSN
    ("PGPASSWORD=pgsecret77 pg_dump app", "pgsecret77"),                          # environment assignment
])
def test_each_secret_shape_is_masked_without_being_declared(text, secret):
    masked = redact(text)
    assert secret not in masked and MASK in masked, masked


def test_every_secret_parameter_of_a_query_is_masked_and_the_rest_kept():
    masked = redact("https://h/cb?token=aaaa1111&page=3&password=bbbb2222&sig=cccc3333")
    assert "aaaa1111" not in masked and "bbbb2222" not in masked and "cccc3333" not in masked
    assert "page=3" in masked


def test_records_mask_secret_keys_and_keep_others():
    data = Redactor().data({"password": "p4ss", "token": "", "rows": 3, "nested": [{"api_key": "k"}],
                            "url": "ftp://u:ftp-pass@h/"})
    assert data["password"] == MASK and data["token"] == "" and data["rows"] == 3
    assert data["nested"][0]["api_key"] == MASK and "ftp-pass" not in data["url"]


def test_declared_values_are_masked_wherever_they_appear_longest_first():
    red = Redactor(["abcd", "abcdefgh", "xy"])   # "xy" is too short to mask safely: left alone
    assert red.text("id abcdefgh and abcd, xy") == f"id {MASK} and {MASK}, xy"


def test_plain_text_is_left_alone():
    text = "disk / used 81 % (limit 85 %), see https://wiki/runbook?page=disk"
    assert redact(text) == text
