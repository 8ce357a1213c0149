"""The officer's way in: a door officer lands on /door/ after logging in, "View site" leads there, and the admin home
and each entrance's admin page link the door screen, kiosk and posters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser import chromium_context
from tests.factories import EntranceFactory, UserFactory

PASSWORD = "Sandi-Rahasia-123"  # UserFactory's
LOGIN = "/admin/login/"


def log_in(client, user, *, next_url: str | None = None):
    query = f"?next={next_url}" if next_url else ""
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN + query, data, REMOTE_ADDR="198.51.100.20")


@pytest.fixture
def entrance():
    return EntranceFactory(office__name="Dinas Kesehatan", name="Pintu Utama", live_qr=True)


@pytest.fixture
def officer(entrance):
    return UserFactory(username="petugas.pintu", roles=["Petugas"], offices=[entrance.office])


# --- where each role lands ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_officer_logging_in_at_the_admin_form_lands_on_the_door_list(client, officer):
    response = log_in(client, officer)

    assert response.status_code == 302
    assert response["Location"] == "/door/"


@pytest.mark.django_db
def test_officer_sent_to_the_login_by_the_admin_home_still_lands_on_the_door_list(client, officer):
    # /admin/ sends a logged-out visitor to /admin/login/?next=/admin/: that is the admin home, not a chosen page.
    assert client.get("/admin/")["Location"] == f"{LOGIN}?next=/admin/"

    response = log_in(client, officer, next_url="/admin/")

    assert response["Location"] == "/door/"


@pytest.mark.django_db
def test_officer_keeps_a_deeper_next_such_as_a_door_screen(client, officer, entrance):
    screen = f"/door/{entrance.pk}/"

    response = log_in(client, officer, next_url=screen)

    assert response["Location"] == screen


@pytest.mark.django_db
def test_logged_in_officer_opening_the_login_form_goes_to_the_door_list(client, officer):
    client.force_login(officer)

    assert client.get(LOGIN)["Location"] == "/door/"


@pytest.mark.django_db
@pytest.mark.parametrize("roles", [["Petugas", "Admin Kantor"], ["Admin Kantor"], ["Admin Kota"], ["Satgas"]])
def test_anyone_with_an_admin_role_lands_in_the_admin(client, entrance, roles):
    user = UserFactory(roles=roles, offices=[entrance.office])

    response = log_in(client, user)

    assert response["Location"] == "/admin/"


@pytest.mark.django_db
def test_superuser_lands_in_the_admin(client):
    response = log_in(client, UserFactory(is_superuser=True))

    assert response["Location"] == "/admin/"


@pytest.mark.django_db
def test_wrong_password_stays_on_the_form(client, officer):
    response = client.post(LOGIN, {"username": officer.username, "password": "salah"}, REMOTE_ADDR="198.51.100.21")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- "View site" -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_view_site_leads_an_officer_to_the_door_list(client, officer):
    client.force_login(officer)

    response = client.get(reverse("admin:index"))

    assert response.context["site_url"] == "/door/"
    assert '<a href="/door/">' in response.content.decode()


@pytest.mark.django_db
def test_view_site_leads_an_office_admin_to_the_site(client, entrance):
    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[entrance.office]))

    response = client.get(reverse("admin:index"))

    assert response.context["site_url"] == "/"


# --- links to the door from the admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_home_links_each_door_screen_kiosk_and_poster(client, entrance):
    poster_door = EntranceFactory(office=entrance.office, name="Pintu Samping", live_qr=False)
    EntranceFactory(name="Pintu Kantor Lain")  # another office: not in this admin's scope
    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[entrance.office]))

    html = client.get(reverse("admin:index")).content.decode()

    assert f'href="/door/{entrance.pk}/"' in html
    assert f'href="/door/{entrance.pk}/kiosk/"' in html
    assert f'href="/offices/entrances/{entrance.pk}/poster.pdf"' in html
    assert f'href="/door/{poster_door.pk}/"' in html
    assert f'href="/door/{poster_door.pk}/kiosk/"' not in html  # a poster door has no live QR to show
    assert "Pintu Kantor Lain" not in html


@pytest.mark.django_db
def test_admin_home_shows_no_doors_to_satgas(client, entrance):
    client.force_login(UserFactory(roles=["Satgas"]))

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="doors-module"' not in html
    assert f'href="/door/{entrance.pk}/"' not in html


@pytest.mark.django_db
def test_admin_home_lists_a_dozen_doors_then_links_them_all(client):
    for n in range(13):
        EntranceFactory(name=f"Pintu {n:02d}")
    client.force_login(UserFactory(is_superuser=True))

    response = client.get(reverse("admin:index"))

    assert len(response.context["door_entrances"]) == 12
    assert response.context["door_more"] is True


@pytest.mark.django_db
def test_entrance_admin_page_links_its_door_screen_kiosk_and_posters(client, entrance):
    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[entrance.office]))

    html = client.get(reverse("admin:offices_entrance_change", args=[entrance.pk])).content.decode()

    assert f'href="/door/{entrance.pk}/"' in html
    assert f'href="/door/{entrance.pk}/kiosk/"' in html
    assert f'href="/offices/entrances/{entrance.pk}/poster.png"' in html
    assert f'href="/offices/entrances/{entrance.pk}/poster.pdf"' in html


@pytest.mark.django_db
def test_poster_entrance_admin_page_has_no_kiosk_link(client, entrance):
    poster_door = EntranceFactory(office=entrance.office, live_qr=False)
    client.force_login(UserFactory(roles=["Admin Kantor"], offices=[entrance.office]))

    html = client.get(reverse("admin:offices_entrance_change", args=[poster_door.pk])).content.decode()

    assert f'href="/door/{poster_door.pk}/"' in html
    assert "/kiosk/" not in html


# --- in a real browser, through the real form -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_officer_logs_in_through_the_admin_form_in_chromium_and_ends_on_the_door_list(
    chromium_path, live_server, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    entrance = EntranceFactory(office__name="Dinas Kesehatan", name="Pintu Utama")
    officer = UserFactory(username="petugas.browser", roles=["Petugas"], offices=[entrance.office])
    with chromium_context(chromium_path, viewport={"width": 1280, "height": 800}, locale="id") as context:
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("input[name=username]", officer.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")

        expect(page.locator(f'[data-entrance="{entrance.pk}"]')).to_be_visible()
        assert page.url == f"{live_server.url}/door/"
