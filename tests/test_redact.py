"""Redaction by shape, with no secret declared in the config: every shape a secret takes is masked on its own."""
import pytest

from opsproof.report.redact import MASK, Redactor, config_secrets, one_line, printable, redact


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


@pytest.mark.parametrize("text, secret", [
    ("ERROR upstream refused token=tok1234 for bob", "tok1234"),                  # free text, not a query string
    ("api_key=ak5678 apikey=ak9012", "ak5678"), ("apikey=ak9012", "ak9012"),
    ("secret=s3cr", "s3cr"), ("passwd=pw11", "pw11"), ("pwd=pw22", "pw22"), ("passphrase=pw33 x", "pw33"),
    ("access_key=ac44", "ac44"), ("private_key=pk55", "pk55"), ("client_secret=cs66", "cs66"),
    ("auth=au77", "au77"), ("session=se88", "se88"), ("session_id=se99", "se99"), ("cookie=co10", "co10"),
    ("credential=cr11", "cr11"), ("credentials=cr12", "cr12"), ("signature=sg13", "sg13"),
    ("db_password=db14", "db14"), ("AWS_SECRET_ACCESS_KEY=aws15", "aws15"), ("github.token=gh16", "gh16"),
    ("X-Api-Key: xk17", "xk17"), ("refresh_token = rt18", "rt18"),                 # a name ending in a secret word
    ("token: tc19 expired", "tc19"), ("password:pc20", "pc20"),                   # name: value
    ("{'token': 'q word21'}", "q word21"), ('{"api_key": "jk22"}', "jk22"),       # quoted: masked to the quote
    ("password='pw 23'", "pw 23"), ("retry with Bearer eyJbear24", "eyJbear24"),  # a bare bearer credential
    ("sent Basic dXNlcjpwYXNz to the proxy", "dXNlcjpwYXNz"),                     # a bare basic credential
    ("proxy https://deploy:urlpw25@git.example.com/x failed", "urlpw25"),         # URL userinfo in free text
])
def test_each_secret_name_in_free_text_is_masked(text, secret):
    masked = redact(text)
    assert secret not in masked and MASK in masked, masked


@pytest.mark.parametrize("text", [
    "ERROR budget spent: tokens=5 max_tokens=4096 token_count=3",    # counts named like a secret word, not one
    "tests pass=10 fail=2; key=user:42; sig=9; passes=3",            # bare pass, key and sig: too common to mask
    "if token == expected: nodeid tests/test_auth.py::test_login",   # a comparison, a pytest node id
    "Basic Authentication failed; Bearer token missing",              # plain words after the scheme names
    "Authentication: denied for bob",                                  # a longer word than auth
])
def test_ordinary_words_that_look_like_secret_names_are_left_alone(text):
    assert redact(text) == text


def test_a_masked_value_keeps_its_quotes_and_what_follows():
    assert redact("{'token': 'abc1', 'page': 2} session=s1; path=/") == \
        f"{{'token': '{MASK}', 'page': 2}} session={MASK} path=/"


def test_a_double_quoted_value_keeps_its_double_quotes():
    assert redact('{"api_key": "jk22", "n": 1} token="a b" end') == f'{{"api_key": "{MASK}", "n": 1}} token="{MASK}" end'


def test_records_mask_every_key_named_like_a_secret():
    data = Redactor().data({"client_secret": "c", "db_password": "p", "X-Api-Key": "k", "max_tokens": 5})
    assert data == {"client_secret": MASK, "db_password": MASK, "X-Api-Key": MASK, "max_tokens": 5}


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


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md).

def test_a_known_secret_that_contains_another_is_masked_whole_whatever_their_spelling():
    """Longest first by length, not by alphabet: "zzzz" sorts after "abcdefzzzz" but is replaced after it."""
    assert Redactor(["zzzz", "abcdefzzzz"]).text("key abcdefzzzz") == f"key {MASK}"


def test_records_of_every_kind_are_copied_with_secrets_masked():
    from dataclasses import dataclass
    from pathlib import PurePosixPath

    @dataclass
    class Rec:
        password: str
        url: str
        rows: int

    red = Redactor()
    assert red.data(Rec("p4ss", "ftp://u:ftp-pass@h/", 3)) == {"password": MASK, "url": f"ftp://u:{MASK}@h/", "rows": 3}
    assert red.data(Rec) == str(Rec)                                    # a dataclass type is not a record
    assert red.data({"Password": "p4ss", "Token": None, "n": None}) == {"Password": MASK, "Token": None, "n": None}
    assert red.data(PurePosixPath("/srv/app")) == "/srv/app"            # other objects: their text, masked
    assert red.data(ValueError("postgresql://a:pw1234@h/x")) == f"postgresql://a:{MASK}@h/x"
    assert red.data((1.5, True, "x")) == [1.5, True, "x"]


def test_control_characters_are_shown_never_sent_raw():
    raw = "a\x00\x08\t\n\x0b\x1b]0;t\x07\x1f \x7f\x9f\xa0é"
    assert printable(raw) == "a\\x00\\x08\t\n\\x0b\\x1b]0;t\\x07\\x1f \\x7f\\x9f\xa0é"


def test_operator_input_is_one_line_with_every_control_character_shown():
    raw = "Ada\nopsproof: approved by CTO\r\x1b[2J\x1b]0;t\x07\tx\u2028y"
    assert one_line(raw) == "Ada\\nopsproof: approved by CTO\\x0d\\x1b[2J\\x1b]0;t\\x07\\tx\\u2028y"
    assert one_line("Ada Lovelace (CTO) — é") == "Ada Lovelace (CTO) — é"
    assert one_line("a\u2029b") == "a\\u2029b", "the paragraph separator is a line break too"


def _maint(data: dict):
    from opsproof.config import Maint

    return Maint.model_validate({"service": "s", **data})


def test_config_secrets_are_every_value_the_config_marks_secret_and_nothing_else():
    maint = _maint({
        "health": [{"url": "https://mon:hp%21ss@h/health?Api_Key=qkey1234&page=2",
                    "headers": {"Authorization": "Bearer hbear123", "Accept": "text/html",
                                "Cookie": "sid=c00kie99", "X-Api-Key": "xk-4455"}}],
        "monitoring": {"url": "https://h/api?sig=msig5678&view=all"},
        "backups": {"dir": "b", "pattern": "d_*",
                    "database": {"engine": "postgresql", "dsn": "postgresql://app:db%21pw@db/shop"},
                    "restore": {"dsn": "host=db password='kw Sec\\'ret' dbname=x"}},
        "slo": {"source": {"prometheus": "https://prom:9090/?auth_token=pauth999",
                           "headers": {"Authorization": "Basic pbasic77"}}},
        "notify": {"webhook": "https://hooks.example/services/T0000/" + "B" * 15 + "/" + "X" * 16,
                   "headers": {"X-Token": "Bearer ntok1234"}},
    })
    assert set(config_secrets(maint)) == {
        "hp%21ss", "hp!ss", "qkey1234",                                     # health URL: password, a key parameter
        "Bearer hbear123", "hbear123", "sid=c00kie99", "xk-4455",           # health headers (not Accept)
        "msig5678",                                                         # monitoring URL
        "db%21pw", "db!pw",                                                 # database DSN, as written and decoded
        "kw Sec\\'ret", "kw Sec'ret",                                       # restore DSN, as written and as libpq reads it
        "pauth999", "Basic pbasic77", "pbasic77",                           # Prometheus URL and header
        "X" * 16, "Bearer ntok1234", "ntok1234",                            # webhook: a long path segment, a header
    }


def test_config_secrets_of_a_dsn_libpq_would_refuse_and_of_one_without_a_password():
    unparsable = _maint({"backups": {"dir": "b", "pattern": "d_*", "database": {
        "engine": "postgresql", "dsn": "host=db PASSWORD=kwpw99 password='unterminated"}}})
    assert set(config_secrets(unparsable)) == {"kwpw99", "unterminated"}
    none = _maint({"backups": {"dir": "b", "pattern": "d_*", "restore": {"dsn": "postgresql://app@db/shop"}}})
    assert set(config_secrets(none)) <= {""}
    assert config_secrets(_maint({})) == []


def test_config_secrets_of_every_secret_query_key_header_and_webhook_part():
    maint = _maint({
        "health": [{"url": "https://h/x?access_token=t1x&client_secret=s1x&passwd=p1x&authcode=a1x&page=2",
                    "headers": {"Proxy-Authorization": "Basic pxa1", "X-Auth-Token": "xat1", "Accept": "x/y"}}],
        "backups": {"dir": "b", "pattern": "d_*",                  # no database DSN: the restore one still counts
                    "restore": {"dsn": "postgresql://admin:rp%40ss@db/postgres"}},
        "notify": {"webhook": "https://u:whpw1@hooks.example/x?token=wtok5678"},
    })
    assert set(config_secrets(maint)) == {"t1x", "s1x", "p1x", "a1x", "Basic pxa1", "pxa1", "xat1",
                                          "rp%40ss", "rp@ss", "whpw1", "wtok5678"}
    keyword = _maint({"backups": {"dir": "b", "pattern": "d_*", "restore": {"dsn": "host=db password=rkw1234"}}})
    assert set(config_secrets(keyword)) == {"rkw1234"}


def test_an_approval_from_an_attestation_file_is_one_line_too():
    """A YAML block scalar gives a reason its own lines: the approval shows them escaped, as --reason's are."""
    from datetime import datetime, timedelta, timezone

    from opsproof.process import approval
    from opsproof.process.attest import Attestation, AttestationFile

    now = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    record = Attestation(approval.TASK, "2026-03-01", "Ada\nopsproof: by CTO", "disk\nfull\x1b[2J", 3, now)
    granted = approval.attested([AttestationFile("att\n.yaml", [record])], timedelta(days=1), now)
    assert (granted["by"], granted["reason"]) == ("Ada\\nopsproof: by CTO", "disk\\nfull\\x1b[2J")
    assert "\n" not in granted["source"] and granted["source"].startswith("attestation att\\n.yaml line 3")
