"""Poster downloads and the admin's poster links and QR rotation: login, office scope, headers, what zbar reads."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from PIL import Image

from offices.models import AuditEvent, Entrance
from tests.factories import EntranceFactory, OfficeFactory, UserFactory
from tests.offices.test_posters import pdf_pages, write_png, zbar_decode


@pytest.fixture
def office_a():
    return OfficeFactory(name="Dinas Kesehatan")


@pytest.fixture
def office_b():
    return OfficeFactory(name="Dinas Pendidikan")


@pytest.fixture
def entrance_a(office_a):
    return EntranceFactory(office=office_a, name="Pintu Utama")


@pytest.fixture
def entrance_b(office_b):
    return EntranceFactory(office=office_b, name="Pintu Utama")


@pytest.fixture
def office_admin(office_a):
    return UserFactory(roles=["Admin Kantor"], offices=[office_a])


def png_url(entrance) -> str:
    return reverse("offices:entrance_poster_png", args=[entrance.pk])


def pdf_url(entrance) -> str:
    return reverse("offices:entrance_poster_pdf", args=[entrance.pk])


def office_pdf_url(office) -> str:
    return reverse("offices:office_posters_pdf", args=[office.pk])


# --- Download URLs ------------------------------------------------------------------------------------------------


def test_download_urls_are_the_ones_in_the_design():
    assert reverse("offices:entrance_poster_png", args=[7]) == "/offices/entrances/7/poster.png"
    assert reverse("offices:entrance_poster_pdf", args=[7]) == "/offices/entrances/7/poster.pdf"
    assert reverse("offices:office_posters_pdf", args=[3]) == "/offices/3/posters.pdf"


@pytest.mark.django_db
@pytest.mark.parametrize("url_of", [png_url, pdf_url])
def test_anonymous_visitor_is_sent_to_the_admin_login(client, entrance_a, url_of):
    response = client.get(url_of(entrance_a))

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("admin:login")
    assert url_of(entrance_a) in location.query


@pytest.mark.django_db
def test_anonymous_visitor_gets_no_office_pdf(client, office_a, entrance_a):
    response = client.get(office_pdf_url(office_a))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")


@pytest.mark.django_db
def test_office_admin_downloads_own_entrance_png_that_decodes_to_its_url(client, office_admin, entrance_a, tmp_path):
    client.force_login(office_admin)

    response = client.get(png_url(entrance_a))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="poster-dinas-kesehatan-pintu-utama.png"'
    assert response["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(response.content)).size == (2480, 3508)
    assert zbar_decode(write_png(response.content, tmp_path)) == [entrance_a.url]


@pytest.mark.django_db
def test_office_admin_downloads_own_entrance_pdf(client, office_admin, entrance_a, tmp_path):
    client.force_login(office_admin)

    response = client.get(pdf_url(entrance_a))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="poster-dinas-kesehatan-pintu-utama.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert [zbar_decode(page) for page in pdf_pages(response.content, tmp_path)] == [[entrance_a.url]]


@pytest.mark.django_db
def test_office_admin_downloads_own_office_pdf_with_a_page_per_active_entrance(
    client, office_admin, office_a, entrance_a, tmp_path
):
    side = EntranceFactory(office=office_a, name="Pintu Samping")
    EntranceFactory(office=office_a, name="Pintu Tutup", active=False)
    client.force_login(office_admin)

    response = client.get(office_pdf_url(office_a))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="posters-dinas-kesehatan.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    pages = pdf_pages(response.content, tmp_path)
    assert [zbar_decode(page) for page in pages] == [[side.url], [entrance_a.url]]


@pytest.mark.django_db
@pytest.mark.parametrize("url_of", [png_url, pdf_url])
def test_office_admin_is_refused_another_offices_entrance_poster(client, office_admin, entrance_b, url_of):
    client.force_login(office_admin)

    assert client.get(url_of(entrance_b)).status_code == 403


@pytest.mark.django_db
def test_office_admin_is_refused_another_offices_pdf(client, office_admin, office_b, entrance_b):
    client.force_login(office_admin)

    assert client.get(office_pdf_url(office_b)).status_code == 403


@pytest.mark.django_db
def test_user_without_offices_is_refused(client, entrance_a):
    client.force_login(UserFactory(roles=["Admin Kantor"]))

    assert client.get(png_url(entrance_a)).status_code == 403


@pytest.mark.django_db
def test_city_admin_downloads_any_offices_poster(client, entrance_b):
    client.force_login(UserFactory(roles=["Admin Kota"]))

    response = client.get(png_url(entrance_b))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_missing_entrance_and_office_are_404(client, office_admin):
    client.force_login(office_admin)

    assert client.get(reverse("offices:entrance_poster_png", args=[999999])).status_code == 404
    assert client.get(reverse("offices:entrance_poster_pdf", args=[999999])).status_code == 404
    assert client.get(reverse("offices:office_posters_pdf", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_office_without_active_entrances_has_no_pdf(client, office_admin, office_a):
    EntranceFactory(office=office_a, active=False)
    client.force_login(office_admin)

    assert client.get(office_pdf_url(office_a)).status_code == 404


@pytest.mark.django_db
def test_poster_downloads_refuse_post(client, office_admin, entrance_a):
    client.force_login(office_admin)

    assert client.post(png_url(entrance_a)).status_code == 405


# --- Admin: links and the rotate button ---------------------------------------------------------------------------


def rotate_url(entrance) -> str:
    return reverse("admin:offices_entrance_rotate_code", args=[entrance.pk])


@pytest.mark.django_db
def test_office_change_page_links_to_the_office_pdf(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.get(reverse("admin:offices_office_change", args=[office_a.pk]))

    assert response.status_code == 200
    assert f'href="{office_pdf_url(office_a)}"' in response.content.decode()


@pytest.mark.django_db
def test_entrance_change_page_links_to_both_posters_and_the_rotation(client, office_admin, entrance_a):
    client.force_login(office_admin)

    response = client.get(reverse("admin:offices_entrance_change", args=[entrance_a.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{png_url(entrance_a)}"' in page
    assert f'href="{pdf_url(entrance_a)}"' in page
    assert f'href="{rotate_url(entrance_a)}"' in page


@pytest.mark.django_db
def test_rotate_page_asks_first_and_changes_nothing(client, office_admin, entrance_a):
    old_code = entrance_a.code
    client.force_login(office_admin)

    response = client.get(rotate_url(entrance_a))

    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()
    entrance_a.refresh_from_db()
    assert entrance_a.code == old_code
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_rotate_button_retires_the_old_poster_and_the_new_download_decodes_to_the_new_url(
    client, office_admin, office_a, entrance_a, tmp_path
):
    old_code, old_url = entrance_a.code, entrance_a.url
    client.force_login(office_admin)

    response = client.post(rotate_url(entrance_a), follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:offices_entrance_change", args=[entrance_a.pk])
    assert len(list(response.context["messages"])) == 1
    entrance_a.refresh_from_db()
    assert entrance_a.code != old_code
    assert not Entrance.objects.filter(code=old_code).exists()
    event = AuditEvent.objects.get(action="entrance.code_rotated")
    assert (event.actor, event.office, event.object_id) == (office_admin, office_a, str(entrance_a.pk))
    poster = client.get(png_url(entrance_a))
    assert zbar_decode(write_png(poster.content, tmp_path)) == [entrance_a.url]
    assert entrance_a.url != old_url


@pytest.mark.django_db
def test_rotate_button_is_refused_for_another_offices_entrance(client, office_admin, entrance_b):
    old_code = entrance_b.code
    client.force_login(office_admin)

    response = client.post(rotate_url(entrance_b))

    assert response.status_code == 403
    entrance_b.refresh_from_db()
    assert entrance_b.code == old_code
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_rotate_button_needs_a_login(client, entrance_a):
    old_code = entrance_a.code

    response = client.post(rotate_url(entrance_a))

    assert response.status_code == 302
    entrance_a.refresh_from_db()
    assert entrance_a.code == old_code
