"""Request serializers: fields shared by shallow copy still validate each request on its own; the limits of NIK,
name and entrance code, as the API answers them and as /api/schema/ states them."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from tests.factories import EntranceFactory, nik_make
from visitors.serializers import CheckinRequestSerializer, CheckoutRequestSerializer


def test_validating_leaves_the_declared_fields_unbound():
    serializer = CheckinRequestSerializer(data={"entrance": "E1", "nik": 5171, "name": "A"})
    assert not serializer.is_valid()
    for field in CheckinRequestSerializer._declared_fields.values():  # noqa: SLF001
        assert field.parent is None
        assert field.field_name is None
    assert serializer.fields["nik"].parent is serializer


def test_each_instance_reports_its_own_errors():
    bad = CheckinRequestSerializer(data={"entrance": 7, "nik": "5171", "name": "A"})
    good = CheckinRequestSerializer(data={"entrance": "E1", "nik": "5171", "name": "A", "dependants": []})
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"entrance"}
    assert good.validated_data["entrance"] == "E1"
    assert good.validated_data["dependants"] == []


def test_checkout_requires_nik_and_name_without_a_device():
    serializer = CheckoutRequestSerializer(data={"entrance": "E1"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"nik", "name"}


def test_checkout_by_nik_needs_the_name_too():
    serializer = CheckoutRequestSerializer(data={"entrance": "E1", "nik": "5171"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"name"}
    assert serializer.errors["name"] == [serializer.fields["name"].error_messages["required"]]


def test_checkout_by_remembered_phone_needs_no_name():
    serializer = CheckoutRequestSerializer(data={"entrance": "E1", "device_token": "t" * 40})
    assert serializer.is_valid(), serializer.errors
    assert "name" not in serializer.validated_data


def test_checkout_name_must_be_text():
    serializer = CheckoutRequestSerializer(data={"entrance": "E1", "nik": "5171", "name": ["I", "Made"]})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"name"}


@pytest.mark.parametrize("field", ["entrance", "nonce", "device_token", "live"])
def test_a_value_that_is_not_text_gets_the_app_s_own_words(field):
    serializer = CheckinRequestSerializer(data={"entrance": "E1", "nik": "5171", "name": "A", field: 7})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {field}
    assert str(serializer.errors[field][0]) != str(serializers.CharField.default_error_messages["invalid"])


def test_concurrent_validations_do_not_mix(threads=8, rounds=200):
    failures: list[str] = []

    def work(index: int) -> None:
        for round_ in range(rounds):
            entrance = f"E{index}-{round_}"
            valid = round_ % 2 == 0
            data = {"entrance": entrance, "nik": "5171", "name": "A"} if valid else {"entrance": entrance, "nik": 1}
            serializer = CheckinRequestSerializer(data=data)
            if serializer.is_valid() != valid:
                failures.append(f"{entrance}: {serializer.errors}")
            elif valid and serializer.validated_data["entrance"] != entrance:
                failures.append(f"{entrance}: got {serializer.validated_data['entrance']}")
            elif not valid and set(serializer.errors) != {"nik"}:
                failures.append(f"{entrance}: errors {serializer.errors}")

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []


# --- the limits, as the API answers them --------------------------------------------------------------------------

NIK = nik_make(1)
NAME = "Ni Luh Putu Ayu"
OVER_LONG = {
    "nik-17-digits": ({"nik": NIK + "1"}, "nik"),
    "name-201-chars": ({"name": "A" * 201}, "name"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/checkins/", "/api/v1/checkouts/"])
@pytest.mark.parametrize("case", OVER_LONG, ids=list(OVER_LONG))
def test_over_long_nik_or_name_is_a_400_field_error(path, case):
    entrance = EntranceFactory()
    fields, key = OVER_LONG[case]

    response = APIClient().post(path, {"entrance": entrance.code, "nik": NIK, "name": NAME, **fields}, format="json")

    assert response.status_code == 400, response.content
    answer = response.json()
    assert set(answer) == {key}
    assert all(isinstance(m, str) and m.strip() for m in answer[key])


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/checkins/", "/api/v1/checkouts/"])
def test_entrance_code_over_64_characters_is_unknown(path):
    """Like /c/<code>/: a code longer than any entrance's answers 404 entrance_unknown and looks nothing up."""
    EntranceFactory()

    response = APIClient().post(path, {"entrance": "x" * 65, "nik": NIK, "name": NAME}, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "entrance_unknown"


@pytest.mark.django_db
def test_checkout_by_nik_without_name_is_a_400_and_closes_nothing():
    entrance = EntranceFactory()

    response = APIClient().post("/api/v1/checkouts/", {"entrance": entrance.code, "nik": NIK}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"name"}


# --- the limits, as /api/schema/ states them --------------------------------------------------------------------


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _string_schema(prop: dict) -> dict:
    """The non-blank branch of a field that also admits "" (drf-spectacular writes `oneOf: [..., maxLength 0]`)."""
    if "oneOf" in prop:
        (branch,) = [b for b in prop["oneOf"] if b.get("maxLength") != 0]
        return branch
    return prop


def _matches(prop: dict, value: str) -> bool:
    return re.search(prop["pattern"], value) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("component", ["CheckinRequest", "CheckoutRequest", "ExposureRequest", "Dependant"])
def test_schema_states_the_nik_limits(schema, component):
    nik = _string_schema(schema["components"]["schemas"][component]["properties"]["nik"])

    assert nik["type"] == "string"
    assert nik["maxLength"] == 16
    assert _matches(nik, NIK)
    assert not _matches(nik, NIK + "1") and not _matches(nik, NIK[:-1]) and not _matches(nik, NIK[:-2] + "AB")


@pytest.mark.django_db
@pytest.mark.parametrize("component", ["CheckinRequest", "CheckoutRequest"])
def test_schema_states_the_entrance_code_limits(schema, component):
    entrance = schema["components"]["schemas"][component]["properties"]["entrance"]
    code = EntranceFactory.build().code

    assert entrance["maxLength"] == 64
    assert _matches(entrance, code)
    assert _matches(entrance, "x" * 64) and not _matches(entrance, "x" * 65)
    assert not _matches(entrance, "") and not _matches(entrance, "ab cd") and not _matches(entrance, "ab/cd")


@pytest.mark.django_db
@pytest.mark.parametrize("component", ["CheckinRequest", "CheckoutRequest", "ExposureRequest", "Dependant"])
def test_schema_states_the_name_limit(schema, component):
    name = schema["components"]["schemas"][component]["properties"]["name"]

    assert name["type"] == "string"
    assert name["maxLength"] == 200


# --- the plain-text fast path gives DRF's own result ---------------------------------------------------------------

_KEYS = ["entrance", "nik", "name", "phone", "dependants", "nonce", "device_token", "live", "other"]
_VALUES = st.one_of(
    st.none(),
    st.just(""),
    st.text(alphabet=st.characters(codec="ascii"), max_size=300),
    # non-ASCII, NUL and lone surrogates (which DRF refuses)
    st.text(alphabet=st.one_of(st.characters(), st.sampled_from(["\ud800", "\x00", "é"])), max_size=20),
    st.integers(),
    st.booleans(),
    st.lists(st.dictionaries(st.sampled_from(["nik", "name"]), st.text(max_size=5)), max_size=2),
)


def _drf_result(serializer_class, data):
    """What DRF's own field-by-field path answers, bypassing the fast path."""
    serializer = serializer_class(data=data)
    try:
        value = serializers.Serializer.to_internal_value(serializer, data)
        return ("valid", serializer.validate(value))
    except serializers.ValidationError as error:
        return ("invalid", error.detail)


def _served_result(serializer_class, data):
    serializer = serializer_class(data=data)
    return ("valid", serializer.validated_data) if serializer.is_valid() else ("invalid", serializer.errors)


@pytest.mark.parametrize("serializer_class", [CheckinRequestSerializer, CheckoutRequestSerializer])
@settings(max_examples=400, deadline=None)
@given(
    body=st.one_of(
        st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=9),
        # Well-formed bodies with one field set to an edge value, so the fast path's own checks (blank, null, too
        # long, NUL, non-ASCII, lone surrogates) meet every case where it would otherwise accept.
        st.builds(
            lambda body, key, edge: {**body, key: edge},
            st.fixed_dictionaries({key: st.text(alphabet="abc-_", min_size=1, max_size=5) for key in _KEYS}),
            st.sampled_from(_KEYS),
            st.sampled_from(["", None, "a\x00", "é", "a\ud800", "a" * 129, "a" * 257, 5, [], {}]),
        ),
    )
)
def test_the_fast_path_answers_exactly_as_drf(serializer_class, body):
    assert _served_result(serializer_class, body) == _drf_result(serializer_class, body)


def test_a_typical_check_in_takes_the_fast_path():
    from visitors.serializers import _plain_text_fields

    body = {"entrance": "abc", "nik": nik_make(1), "name": "Ni Luh", "phone": "0812", "nonce": "n" * 12}
    assert _plain_text_fields(CheckinRequestSerializer._declared_fields, body) == body
    assert _plain_text_fields(CheckinRequestSerializer._declared_fields, {**body, "name": "Ni Lúh"}) is None
