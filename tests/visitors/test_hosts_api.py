"""GET /api/v1/entrances/<code>/hosts/?q=: whom a visitor can name as their host; names only, rate-limited."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import EntranceFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan")


def hosts(entrance, q: str, client: Client | None = None):
    return (client or Client()).get(f"/api/v1/entrances/{entrance.code}/hosts/", {"q": q}, HTTP_ACCEPT_LANGUAGE="en")


def test_only_active_staff_of_that_office_who_receive_visitors_are_listed(entrance):
    host = StaffFactory(office=entrance.office, name="I Made Wirawan", receives_visitors=True)
    StaffFactory(office=entrance.office, name="I Made Sukadana", receives_visitors=False)
    StaffFactory(office=entrance.office, name="I Made Artawan", receives_visitors=True, active=False)
    StaffFactory(name="I Made Elsewhere", receives_visitors=True)
    response = hosts(entrance, "made")
    assert response.status_code == 200
    assert response.json() == [{"id": host.pk, "name": "I Made Wirawan"}]


def test_the_answer_holds_no_nik_or_nip(entrance):
    host = StaffFactory(office=entrance.office, name="Ni Luh Ayu", receives_visitors=True)
    body = hosts(entrance, "luh ayu").content.decode()
    assert host.nip not in body and host.nik_masked not in body and host.nik_masked[-4:] not in body
    assert set(hosts(entrance, "luh ayu").json()[0]) == {"id", "name"}


def test_every_word_typed_must_match_and_the_list_is_short(entrance):
    for n in range(12):
        StaffFactory(office=entrance.office, name=f"Wayan Putra {n:02d}", receives_visitors=True)
    StaffFactory(office=entrance.office, name="Wayan Sari", receives_visitors=True)
    names = [row["name"] for row in hosts(entrance, "wayan putra").json()]
    assert len(names) == 10 and names == sorted(names) and "Wayan Sari" not in names


@pytest.mark.parametrize("q", ["", "a", "x" * 61])
def test_a_query_too_short_or_too_long_is_a_400_in_words(entrance, q):
    response = hosts(entrance, q)
    assert response.status_code == 400
    assert "letters of the name" in response.json()["q"][0]


def test_an_unknown_or_closed_entrance_is_a_404(entrance):
    closed = EntranceFactory(active=False)
    for code in ("no-such-code", closed.code):
        response = Client().get(f"/api/v1/entrances/{code}/hosts/", {"q": "made"})
        assert response.status_code == 404 and response.json()["code"] == "entrance_unknown"


def test_the_short_code_works_too(entrance):
    StaffFactory(office=entrance.office, name="I Made Wirawan", receives_visitors=True)
    response = Client().get(f"/api/v1/entrances/{entrance.short_code.lower()}/hosts/", {"q": "made"})
    assert [row["name"] for row in response.json()] == ["I Made Wirawan"]


def test_it_is_rate_limited_per_client(entrance, settings, require_redis):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_CLIENT = "3/m"
    client = Client()
    answers = [hosts(entrance, "made", client).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert int(hosts(entrance, "made", client)["Retry-After"]) >= 1
