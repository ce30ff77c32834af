"""ID numbers (GB 11643), social credit codes (GB 32100), phones, masking and encryption."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from linli.core import crypto
from linli.core.idnumber import make_id_number, normalize_phone, parse_id_number, validate_uscc


def test_known_valid_id_number():
    info = parse_id_number("11010519491231002X")
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "F"
    assert info.age_on(dt.date(2026, 11, 23)) == 76


@pytest.mark.parametrize(
    "raw, code",
    [
        ("110105194912310021", "id_checksum"),
        ("11010519491231002", "id_format"),
        ("1101051949123100AX", "id_format"),
        ("990105194912310029", "id_region"),
        ("110105194902300024", "id_birth"),
        ("110105290001010029", "id_birth"),
    ],
)
def test_invalid_id_numbers_name_the_reason(raw, code):
    with pytest.raises(ValidationError) as exc:
        parse_id_number(raw)
    assert exc.value.code == code


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["M", "F"]),
)
def test_generated_numbers_round_trip(birth, seq, sex):
    number = make_id_number("120101", birth, seq, sex)
    info = parse_id_number(number)
    assert (info.birth_date, info.sex, info.region_code) == (birth, sex, "120101")


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_parser_never_crashes(raw):
    try:
        parse_id_number(raw)
    except ValidationError:
        pass


def test_any_single_digit_change_is_caught():
    number = "11010519491231002X"
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            changed = number[:i] + d + number[i + 1 :]
            with pytest.raises(ValidationError):
                parse_id_number(changed)


def test_uscc():
    assert validate_uscc("91120101ma05l6w01e") == "91120101MA05L6W01E"
    for bad in ("91120101MA05L6W01T", "91120101MA05L6W0", "91120101MA05L6WO1E"):
        with pytest.raises(ValidationError):
            validate_uscc(bad)


@pytest.mark.parametrize(
    "raw, out", [("138 1234 5678", "13812345678"), ("+8613812345678", "13812345678"), ("022-23456789", "022-23456789")]
)
def test_phone_normalized(raw, out):
    assert normalize_phone(raw) == out


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "phone", ""])
def test_bad_phone(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_masks():
    assert crypto.mask_id_number("110105194912310021") == "110105********0021"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_phone("") == ""


def test_encryption_is_randomized_and_reversible():
    a, b = crypto.encrypt("13812345678"), crypto.encrypt("13812345678")
    assert a != b and "13812345678" not in a
    assert crypto.decrypt(a) == crypto.decrypt(b) == "13812345678"
    assert crypto.blind_index("11010519491231002x") == crypto.blind_index("11010519491231002X")


def test_wrong_key_cannot_decrypt(settings):
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEY = "c2Vjb25kLWtleS1mb3ItdGVzdGluZy0zMi1ieXRlcyE="
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        crypto.decrypt(token)
    assert crypto.blind_index("x") != ""


@pytest.mark.django_db
def test_database_holds_no_plaintext(world):
    from django.db import connection

    r = world.resident_in("A1-1")
    with connection.cursor() as cur:
        cur.execute("SELECT id_number_enc, id_number_hash, phone_enc FROM people_resident WHERE id = %s", [r.pk])
        row = cur.fetchone()
    assert r.id_number not in "".join(row)
    assert r.phone not in "".join(row)
