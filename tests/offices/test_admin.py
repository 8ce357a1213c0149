"""Django admin: office scoping per role, the write-only NIK fields, the QR rotation action and every changelist."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import modelform_factory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import override

from denpasar_checkin.nik import nik_hash, nik_mask, nik_validate
from offices.models import AuditEvent, Entrance, OfficeOccupancy, OfficerAssignment, Staff
from screening.models import HealthStatus, ScreeningPolicy
from tests.factories import (
    EntranceFactory,
    HealthStatusFactory,
    OfficeFactory,
    PersonFactory,
    StaffFactory,
    UserFactory,
    VisitFactory,
    nik_make,
)
from visitors.models import Device, ExposureCase, ExposureNotice, ScanEvent

BAD_PROVINCE_NIK = "0971010101900001"  # 16 digits, but province 09 does not exist


def admin_url(model_label: str, view: str, *args) -> str:
    app_label, model_name = model_label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


@pytest.fixture
def office_a():
    return OfficeFactory(name="Dinas Kesehatan")


@pytest.fixture
def office_b():
    return OfficeFactory(name="Dinas Pendidikan")


@pytest.fixture
def office_admin(office_a):
    return UserFactory(roles=["Admin Kantor"], offices=[office_a])


@pytest.fixture
def city_admin():
    return UserFactory(roles=["Admin Kota"])


@pytest.fixture
def satgas():
    return UserFactory(roles=["Satgas"])


@pytest.fixture
def officer(office_a):
    return UserFactory(roles=["Petugas"], offices=[office_a])


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True)


def nik_error_text(raw: str) -> str:
    """The message nik_validate gives for `raw`, as the admin shows it in its default language (Indonesian)."""
    with override("id"), pytest.raises(ValidationError) as caught:
        nik_validate(raw)
    with override("id"):
        return escape(caught.value.messages[0])


# --- Scoping ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_office_admin_sees_own_office_but_not_another_in_changelist(client, office_admin, office_a, office_b):
    client.force_login(office_admin)

    response = client.get(admin_url("offices.office", "changelist"))

    assert response.status_code == 200
    offices = list(response.context["cl"].result_list)
    assert offices == [office_a]
    assert office_b.name not in response.content.decode()


@pytest.mark.django_db
def test_city_admin_sees_every_office_in_changelist(client, city_admin, office_a, office_b):
    client.force_login(city_admin)

    response = client.get(admin_url("offices.office", "changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {office_a, office_b}


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_office_admin_gets_403_on_another_offices_page(client, office_admin, office_b, view):
    client.force_login(office_admin)

    response = client.get(admin_url("offices.office", view, office_b.pk))

    assert response.status_code == 403


@pytest.mark.django_db
def test_office_admin_opens_own_office_change_page(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.get(admin_url("offices.office", "change", office_a.pk))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model_label", "make"),
    [
        ("offices.entrance", lambda office: EntranceFactory(office=office)),
        ("offices.staff", lambda office: StaffFactory(office=office)),
        ("visitors.visit", lambda office: VisitFactory(entrance_in=EntranceFactory(office=office))),
    ],
    ids=["entrance", "staff", "visit"],
)
def test_office_admin_gets_403_on_another_offices_objects(client, office_admin, office_a, office_b, model_label, make):
    own, other = make(office_a), make(office_b)
    client.force_login(office_admin)

    assert client.get(admin_url(model_label, "change", own.pk)).status_code == 200
    assert client.get(admin_url(model_label, "change", other.pk)).status_code == 403
    assert client.get(admin_url(model_label, "history", other.pk)).status_code == 403
    assert client.get(admin_url(model_label, "delete", other.pk)).status_code == 403
    changelist = client.get(admin_url(model_label, "changelist"))
    assert list(changelist.context["cl"].result_list) == [own]


@pytest.mark.django_db
def test_unknown_id_still_gets_djangos_redirect_not_403(client, office_admin):
    client.force_login(office_admin)

    response = client.get(admin_url("offices.entrance", "change", 999_999))

    assert response.status_code == 302


@pytest.mark.django_db
def test_office_admin_cannot_add_an_entrance_to_another_office(client, office_admin, office_a, office_b):
    client.force_login(office_admin)

    form = client.get(admin_url("offices.entrance", "add"))
    offered = set(form.context["adminform"].form.fields["office"].queryset)
    response = client.post(
        admin_url("offices.entrance", "add"), {"office": office_b.pk, "name": "Pintu Selatan", "active": "on"}
    )

    assert offered == {office_a}
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["office"]
    assert not Entrance.objects.filter(office=office_b).exists()


@pytest.mark.django_db
def test_office_admin_adds_an_entrance_to_own_office(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.post(
        admin_url("offices.entrance", "add"), {"office": office_a.pk, "name": "Pintu Selatan", "active": "on"}
    )

    assert response.status_code == 302
    assert Entrance.objects.filter(office=office_a, name="Pintu Selatan").exists()


@pytest.mark.django_db
def test_office_admin_cannot_move_own_entrance_to_another_office(client, office_admin, office_a, office_b):
    entrance = EntranceFactory(office=office_a, name="Pintu Utama")
    client.force_login(office_admin)

    response = client.post(
        admin_url("offices.entrance", "change", entrance.pk), {"office": office_b.pk, "name": "Pintu Utama"}
    )

    assert response.status_code == 200
    entrance.refresh_from_db()
    assert entrance.office == office_a


@pytest.mark.django_db
def test_saving_into_another_office_is_refused_even_past_the_form(rf, office_admin, office_b):
    # The form's choices already refuse office B; this is the second lock, for forms that do not limit choices.
    request = rf.post("/")
    request.user = office_admin
    form = modelform_factory(Entrance, fields=["office", "name"])({"office": office_b.pk, "name": "Pintu Belakang"})
    assert form.is_valid()

    with pytest.raises(PermissionDenied):
        admin.site.get_model_admin(Entrance).save_form(request, form, change=False)


@pytest.mark.django_db
def test_office_admin_assigns_officers_only_to_own_office(client, office_admin, office_a, office_b):
    door_officer = UserFactory(roles=["Petugas"])
    client.force_login(office_admin)

    refused = client.post(
        admin_url("offices.officerassignment", "add"), {"user": door_officer.pk, "office": office_b.pk}
    )
    accepted = client.post(
        admin_url("offices.officerassignment", "add"), {"user": door_officer.pk, "office": office_a.pk}
    )

    assert refused.status_code == 200
    assert accepted.status_code == 302
    assert list(OfficerAssignment.objects.filter(user=door_officer).values_list("office", flat=True)) == [office_a.pk]


@pytest.mark.django_db
def test_office_admin_sees_only_own_offices_audit_events(client, office_admin, office_a, office_b):
    own = AuditEvent.objects.create(action="entrance.code_rotated", office=office_a)
    AuditEvent.objects.create(action="entrance.code_rotated", office=office_b)
    AuditEvent.objects.create(action="exposure.queried")  # city-wide, no office
    client.force_login(office_admin)

    response = client.get(admin_url("offices.auditevent", "changelist"))

    assert list(response.context["cl"].result_list) == [own]


@pytest.mark.django_db
def test_office_filter_lists_only_offices_in_scope(client, office_admin, office_a, office_b):
    VisitFactory(entrance_in=EntranceFactory(office=office_a))
    VisitFactory(entrance_in=EntranceFactory(office=office_b))
    client.force_login(office_admin)

    response = client.get(admin_url("visitors.visit", "changelist"))

    assert response.status_code == 200
    assert office_a.name in response.content.decode()
    assert office_b.name not in response.content.decode()


# --- Roles --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_satgas_sees_health_statuses(client, satgas):
    HealthStatusFactory(name="Ni Luh Putu Ayu")
    client.force_login(satgas)

    response = client.get(admin_url("screening.healthstatus", "changelist"))

    assert response.status_code == 200
    assert "Ni Luh Putu Ayu" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Admin Kantor", "Petugas", "Admin Kota"])
def test_roles_other_than_satgas_get_403_on_health_statuses(client, office_a, role):
    client.force_login(UserFactory(roles=[role], offices=[office_a]))

    assert client.get(admin_url("screening.healthstatus", "changelist")).status_code == 403
    assert client.get(admin_url("visitors.person", "changelist")).status_code == 403


@pytest.mark.django_db
def test_officer_views_own_office_read_only_and_has_no_staff_roster(client, officer, office_a):
    client.force_login(officer)

    change = client.get(admin_url("offices.office", "change", office_a.pk))
    post = client.post(admin_url("offices.office", "change", office_a.pk), {"name": "Renamed", "capacity": 1})

    assert change.status_code == 200
    assert change.context["has_change_permission"] is False
    assert post.status_code == 403
    assert client.get(admin_url("offices.staff", "changelist")).status_code == 403


@pytest.mark.django_db
def test_satgas_sees_every_offices_visits_but_no_staff_roster(client, satgas, office_a, office_b):
    VisitFactory(entrance_in=EntranceFactory(office=office_a))
    VisitFactory(entrance_in=EntranceFactory(office=office_b))
    client.force_login(satgas)

    visits = client.get(admin_url("visitors.visit", "changelist"))

    assert visits.context["cl"].result_count == 2
    assert client.get(admin_url("offices.staff", "changelist")).status_code == 403


# --- Office list --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_office_changelist_shows_live_occupancy(client, city_admin, office_a):
    OfficeOccupancy.objects.filter(office=office_a).update(staff_inside=2, visitors_inside=5)
    client.force_login(city_admin)

    response = client.get(admin_url("offices.office", "changelist"))

    assert "7 / 100" in response.content.decode()


@pytest.mark.django_db
def test_office_changelist_query_count_does_not_grow_with_offices(client, city_admin, django_assert_max_num_queries):
    OfficeFactory.create_batch(20)
    client.force_login(city_admin)

    with django_assert_max_num_queries(10):
        response = client.get(admin_url("offices.office", "changelist"))

    assert response.context["cl"].result_count == 20


@pytest.mark.django_db
def test_adding_an_office_in_admin_creates_its_occupancy_counter(client, city_admin):
    client.force_login(city_admin)

    response = client.post(
        admin_url("offices.office", "add"),
        {
            "name": "Dinas Pariwisata",
            "address": "Jl. Surapati 7",
            "sector": "esensial",
            "capacity": 40,
            "opens_at": "08:00",
            "closes_at": "15:00",
            **inline_management("entrances"),
            **inline_management("staff"),
        },
    )

    assert response.status_code == 302
    assert OfficeOccupancy.objects.filter(office__name="Dinas Pariwisata").exists()


def office_change_data(office, **changes) -> dict:
    """The office change form as the admin posts it, with no inline rows."""
    return {
        "name": office.name,
        "address": office.address,
        "sector": office.sector,
        "capacity": office.capacity,
        "opens_at": f"{office.opens_at:%H:%M}",
        "closes_at": f"{office.closes_at:%H:%M}",
        **inline_management("entrances"),
        **inline_management("staff"),
        **changes,
    }


@pytest.mark.django_db
def test_office_admin_sees_the_sector_but_cannot_edit_it(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.get(admin_url("offices.office", "change", office_a.pk))

    assert response.status_code == 200
    assert "sector" not in response.context["adminform"].form.fields
    assert 'name="sector"' not in response.content.decode()


@pytest.mark.django_db
def test_office_admin_posting_a_sector_changes_nothing_but_the_rest_saves(client, office_admin, office_a):
    client.force_login(office_admin)
    assert office_a.sector == "non_esensial"

    response = client.post(
        admin_url("offices.office", "change", office_a.pk),
        office_change_data(office_a, sector="kritikal", capacity=55),
    )

    assert response.status_code == 302
    office_a.refresh_from_db()
    assert (office_a.sector, office_a.capacity) == ("non_esensial", 55)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["city_admin", "superuser"])
def test_city_wide_admin_changes_the_sector(client, office_a, who, request):
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        admin_url("offices.office", "change", office_a.pk), office_change_data(office_a, sector="kritikal")
    )

    assert response.status_code == 302
    office_a.refresh_from_db()
    assert office_a.sector == "kritikal"


def inline_management(prefix: str, *, total: int = 0, initial: int = 0) -> dict[str, int]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


# --- Entrance QR rotation -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotate_code_action_changes_the_code_and_writes_an_audit_event(client, office_admin, office_a):
    entrance = EntranceFactory(office=office_a)
    old_code = entrance.code
    client.force_login(office_admin)

    response = client.post(
        admin_url("offices.entrance", "changelist"),
        {"action": "rotate_code", admin.helpers.ACTION_CHECKBOX_NAME: [entrance.pk]},
    )

    assert response.status_code == 302
    entrance.refresh_from_db()
    assert entrance.code != old_code
    assert entrance.code_rotated_at is not None
    event = AuditEvent.objects.get(action="entrance.code_rotated")
    assert (event.actor, event.office, event.object_id) == (office_admin, office_a, str(entrance.pk))


@pytest.mark.django_db
def test_rotate_code_action_ignores_other_offices_entrances(client, office_admin, office_b):
    entrance = EntranceFactory(office=office_b)
    old_code = entrance.code
    client.force_login(office_admin)

    client.post(
        admin_url("offices.entrance", "changelist"),
        {"action": "rotate_code", admin.helpers.ACTION_CHECKBOX_NAME: [entrance.pk]},
    )

    entrance.refresh_from_db()
    assert entrance.code == old_code
    assert not AuditEvent.objects.exists()


# --- Staff NIK ----------------------------------------------------------------------------------------------------


def staff_post(office, *, nik: str, nip: str = "198001012005011001", name: str = "I Made Sudarsana") -> dict:
    return {"office": office.pk, "name": name, "nip": nip, "nik": nik, "active": "on"}


@pytest.mark.django_db
def test_adding_staff_with_a_bad_nik_shows_the_error_and_creates_nothing(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.post(admin_url("offices.staff", "add"), staff_post(office_a, nik=BAD_PROVINCE_NIK))

    assert response.status_code == 200
    body = response.content.decode()
    assert nik_error_text(BAD_PROVINCE_NIK) in body
    assert BAD_PROVINCE_NIK not in body
    assert not Staff.objects.exists()


@pytest.mark.django_db
def test_adding_staff_without_a_nik_is_refused(client, office_admin, office_a):
    client.force_login(office_admin)

    response = client.post(admin_url("offices.staff", "add"), staff_post(office_a, nik=""))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["nik"]
    assert not Staff.objects.exists()


@pytest.mark.django_db
def test_adding_staff_with_a_good_nik_stores_only_its_hash_and_mask(client, office_admin, office_a):
    nik = nik_make(42)
    client.force_login(office_admin)

    response = client.post(admin_url("offices.staff", "add"), staff_post(office_a, nik=f" {nik[:4]} {nik[4:]} "))

    assert response.status_code == 302
    staff = Staff.objects.get()
    assert (staff.office, staff.nik_hash, staff.nik_masked) == (office_a, nik_hash(nik), nik_mask(nik))
    stored = Staff.objects.filter(pk=staff.pk).values().get()
    assert not any(nik in str(value) for value in stored.values())
    assert not any(nik in f"{entry.object_repr} {entry.change_message}" for entry in LogEntry.objects.all())


@pytest.mark.django_db
def test_adding_staff_twice_with_one_nik_in_one_office_is_refused(client, office_admin, office_a):
    nik = nik_make(43)
    StaffFactory(office=office_a, nik=nik)
    client.force_login(office_admin)

    response = client.post(admin_url("offices.staff", "add"), staff_post(office_a, nik=nik, nip="198001012005011999"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["nik"]
    assert Staff.objects.count() == 1


@pytest.mark.django_db
def test_editing_staff_with_a_blank_nik_keeps_it(client, office_admin, office_a):
    nik = nik_make(44)
    staff = StaffFactory(office=office_a, nik=nik, nip="198001012005011002")
    client.force_login(office_admin)

    page = client.get(admin_url("offices.staff", "change", staff.pk))
    response = client.post(
        admin_url("offices.staff", "change", staff.pk), staff_post(office_a, nik="", nip=staff.nip, name="Nama Baru")
    )

    assert nik_mask(nik) in page.content.decode()
    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.name, staff.nik_hash, staff.nik_masked) == ("Nama Baru", nik_hash(nik), nik_mask(nik))


@pytest.mark.django_db
def test_adding_staff_through_the_office_inline_validates_the_nik(client, office_admin, office_a):
    client.force_login(office_admin)
    url = admin_url("offices.office", "change", office_a.pk)
    office_fields = {
        "name": office_a.name,
        "address": office_a.address,
        "sector": office_a.sector,
        "capacity": office_a.capacity,
        "opens_at": "07:30",
        "closes_at": "16:00",
        **inline_management("entrances"),
        **inline_management("staff", total=1),
        "staff-0-name": "Ni Kadek Sari",
        "staff-0-nip": "198501012010012001",
        "staff-0-active": "on",
    }

    refused = client.post(url, {**office_fields, "staff-0-nik": BAD_PROVINCE_NIK})
    nik = nik_make(45, female=True)
    accepted = client.post(url, {**office_fields, "staff-0-nik": nik})

    assert refused.status_code == 200
    assert nik_error_text(BAD_PROVINCE_NIK) in refused.content.decode()
    assert BAD_PROVINCE_NIK not in refused.content.decode()
    assert accepted.status_code == 302
    staff = Staff.objects.get()
    assert (staff.office, staff.nik_hash, staff.nik_masked) == (office_a, nik_hash(nik), nik_mask(nik))


@pytest.mark.django_db
def test_one_nik_twice_in_the_office_inline_is_refused(client, office_admin, office_a):
    nik = nik_make(49)
    client.force_login(office_admin)

    response = client.post(
        admin_url("offices.office", "change", office_a.pk),
        {
            "name": office_a.name,
            "sector": office_a.sector,
            "capacity": office_a.capacity,
            "opens_at": "07:30",
            "closes_at": "16:00",
            **inline_management("entrances"),
            **inline_management("staff", total=2),
            **{
                f"staff-{i}-{field}": value
                for i in (0, 1)
                for field, value in {"name": f"Staf {i}", "nik": nik}.items()
            },
            "staff-0-nip": "198501012010012001",
            "staff-1-nip": "198501012010012002",
        },
    )

    assert response.status_code == 200
    staff_formset = response.context["inline_admin_formsets"][1].formset
    assert staff_formset.forms[1].errors["nik"]
    assert not Staff.objects.exists()


# --- Health statuses (Satgas) -------------------------------------------------------------------------------------


def health_post(*, nik: str, name: str = "Ni Wayan Sri", doses: int = 2, case_status: str = "none") -> dict:
    return {"nik": nik, "name": name, "doses": doses, "case_status": case_status}


@pytest.mark.django_db
def test_satgas_adds_a_health_status_audited_without_the_nik(client, satgas):
    nik = nik_make(46)
    client.force_login(satgas)

    response = client.post(admin_url("screening.healthstatus", "add"), health_post(nik=nik))

    assert response.status_code == 302
    status = HealthStatus.objects.get()
    assert (status.nik_hash, status.nik_masked, status.source) == (nik_hash(nik), nik_mask(nik), "admin")
    event = AuditEvent.objects.get(action="health_status.changed")
    assert event.actor == satgas
    assert event.object_id == str(status.pk)
    assert event.detail["created"] is True
    assert nik not in str(event.detail)
    assert status.nik_hash not in str(event.detail)


@pytest.mark.django_db
def test_satgas_changing_a_health_status_is_audited(client, satgas):
    status = HealthStatusFactory(doses=1)
    client.force_login(satgas)

    response = client.post(
        admin_url("screening.healthstatus", "change", status.pk),
        health_post(nik="", name=status.name, doses=1, case_status="positive"),
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="health_status.changed")
    assert event.detail == {"created": False, "fields": ["case_status"]}


@pytest.mark.django_db
def test_health_status_with_a_bad_nik_is_refused(client, satgas):
    client.force_login(satgas)

    response = client.post(admin_url("screening.healthstatus", "add"), health_post(nik=BAD_PROVINCE_NIK))

    assert response.status_code == 200
    assert nik_error_text(BAD_PROVINCE_NIK) in response.content.decode()
    assert not HealthStatus.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_health_status_for_a_registered_nik_is_refused(client, satgas):
    nik = nik_make(47)
    HealthStatusFactory(nik=nik)
    client.force_login(satgas)

    response = client.post(admin_url("screening.healthstatus", "add"), health_post(nik=nik))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["nik"]
    assert HealthStatus.objects.count() == 1


@pytest.mark.django_db
def test_health_status_and_person_pages_show_only_the_masked_nik(client, satgas):
    nik = nik_make(48)
    status = HealthStatusFactory(nik=nik)
    person = PersonFactory(nik=nik)
    client.force_login(satgas)

    pages = [
        client.get(admin_url("screening.healthstatus", "changelist")),
        client.get(admin_url("screening.healthstatus", "change", status.pk)),
        client.get(admin_url("visitors.person", "changelist")),
        client.get(admin_url("visitors.person", "change", person.pk)),
    ]

    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert nik_mask(nik) in body
        assert nik not in body
        assert status.nik_hash not in body
        assert person.nik_encrypted not in body


# --- Screening policy ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_screening_policy_cannot_be_added_twice_or_deleted(client, superuser):
    client.force_login(superuser)

    assert client.get(admin_url("screening.screeningpolicy", "add")).status_code == 403
    assert client.get(admin_url("screening.screeningpolicy", "delete", 1)).status_code == 403
    assert ScreeningPolicy.objects.count() == 1


# --- Every changelist ---------------------------------------------------------------------------------------------

OUR_APPS = ("offices", "screening", "visitors")
REGISTERED = [
    "offices.office",
    "offices.entrance",
    "offices.staff",
    "offices.officerassignment",
    "offices.officeoccupancy",
    "offices.auditevent",
    "screening.healthstatus",
    "screening.restrictionlevel",
    "screening.screeningpolicy",
    "visitors.person",
    "visitors.visit",
    "visitors.scanevent",
    "visitors.device",
    "visitors.exposurecase",
    "visitors.exposurenotice",
]


def test_every_model_of_our_apps_is_registered_in_admin():
    models = [model for label in OUR_APPS for model in apps.get_app_config(label).get_models()]

    assert sorted(model._meta.label_lower for model in models) == sorted(REGISTERED)
    assert all(admin.site.is_registered(model) for model in models)


@pytest.fixture
def one_of_everything(office_a, superuser):
    entrance = EntranceFactory(office=office_a)
    StaffFactory(office=office_a)
    OfficerAssignment.objects.create(user=superuser, office=office_a)
    visit = VisitFactory(entrance_in=entrance)
    ScanEvent.objects.create(
        entrance=entrance,
        office=office_a,
        person=visit.person,
        visit=visit,
        outcome="admitted",
        reason="ok",
        colour="green",
        kind="visitor",
        created_at=timezone.now(),
    )
    Device.objects.create(token_hash="a" * 64, person=visit.person)
    HealthStatusFactory()
    AuditEvent.objects.create(actor=superuser, action="entrance.code_rotated", office=office_a)
    now = timezone.now()
    case = ExposureCase.objects.create(
        case_person=PersonFactory(), window_from=visit.checked_in_at, window_until=now, created_at=now
    )
    ExposureNotice.objects.create(
        case=case,
        person=visit.person,
        office=office_a,
        window_from=visit.checked_in_at,
        window_until=now,
        message="Anda berada di kantor yang sama dengan kasus positif.",
        created_at=now,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("model_label", REGISTERED)
def test_changelist_renders_for_a_superuser(client, superuser, one_of_everything, model_label):
    client.force_login(superuser)

    response = client.get(admin_url(model_label, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


# --- The audit log in words ---------------------------------------------------------------------------------------


def audit_actions_in_code() -> set[str]:
    """Every action code the code base writes: the literal ones of audit_record(action=...) calls, and those built at
    run time."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    codes: set[str] = set()
    for path in root.glob("*/*.py"):
        if path.parts[-2] in ("tests", "bench", ".venv") or "migrations" in path.parts:
            continue
        for line in re.findall(r"\baction=(.*)", path.read_text(encoding="utf-8")):
            codes |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', line))
    # Codes built at run time: the screening admin's model_name.changed/deleted, the pending sweep's scan.<state>.
    codes |= {f"{model}.{verb}" for model in ("restrictionlevel", "screeningpolicy") for verb in ("changed", "deleted")}
    codes |= {"scan.expired", "scan.superseded"}
    return codes


def test_every_audit_action_the_code_writes_has_words():
    from offices.admin import AUDIT_ACTION_LABELS

    assert audit_actions_in_code() - set(AUDIT_ACTION_LABELS) == set()


@pytest.mark.django_db
def test_audit_list_shows_actions_in_indonesian_words_not_codes(client, superuser, office_a):
    from offices.admin import AUDIT_ACTION_LABELS

    AuditEvent.objects.create(action="office.day_closed", office=office_a)
    AuditEvent.objects.create(action="entrance.code_rotated", office=office_a)
    client.force_login(superuser)

    html = client.get(admin_url("offices.auditevent", "changelist"), HTTP_ACCEPT_LANGUAGE="id").content.decode()

    cells = [cell.split("</td>")[0] for cell in html.split('<td class="field-action_label">')[1:]]
    assert any(">Ganti kode QR<" in cell for cell in cells)
    with override("id"):
        day_closed = escape(str(AUDIT_ACTION_LABELS["office.day_closed"]))
    assert any(f'data-action="office.day_closed">{day_closed}<' in cell for cell in cells)
    # The code stays only in attributes (a tooltip), never as the text people read.
    assert not any(">office.day_closed<" in cell for cell in cells)


@pytest.mark.django_db
def test_audit_list_speaks_english_to_an_english_browser(client, superuser, office_a):
    AuditEvent.objects.create(action="office.day_closed", office=office_a)
    client.force_login(superuser)

    html = client.get(admin_url("offices.auditevent", "changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-action="office.day_closed">Day closed at the door<' in html


@pytest.mark.django_db
def test_audit_entry_page_gives_the_words_and_the_code(client, superuser, office_a):
    event = AuditEvent.objects.create(action="scan.approved", office=office_a, detail={"entrance": "Pintu Utama"})
    client.force_login(superuser)

    html = client.get(admin_url("offices.auditevent", "change", event.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-action="scan.approved">Pending case approved</span> <code>scan.approved</code>' in html


@pytest.mark.django_db
def test_unknown_audit_action_shows_its_code(client, superuser):
    AuditEvent.objects.create(action="something.new")
    client.force_login(superuser)

    html = client.get(admin_url("offices.auditevent", "changelist")).content.decode()

    assert 'data-action="something.new">something.new<' in html


@pytest.mark.django_db
def test_audit_action_filter_offers_words_for_the_actions_in_the_log(client, superuser, office_a):
    AuditEvent.objects.create(action="office.day_closed", office=office_a)
    AuditEvent.objects.create(action="scan.denied", office=office_a)
    client.force_login(superuser)

    response = client.get(
        admin_url("offices.auditevent", "changelist"), {"action": "scan.denied"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert [event.action for event in response.context["cl"].result_list] == ["scan.denied"]
    html = response.content.decode()
    assert "?action=office.day_closed" in html and "Day closed at the door" in html


# --- Changelists fit a 1280 x 800 screen ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_main_changelists_have_no_horizontal_overflow_at_1280(
    chromium_path, live_server, client, monkeypatch, superuser, one_of_everything
):
    """The admin in Indonesian (its longer words), with the filter beside each list."""
    from tests.browser import chromium_context, session_cookie_add

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Long values, as real ones are: an office and a person with long names, a long audit action.
    OfficeFactory(name="Dinas Kependudukan dan Pencatatan Sipil Kota Denpasar (Gedung Sewaka Dharma Lumbung Kota)")
    HealthStatusFactory(name="Ni Luh Putu Ayu Kusumawardhani Pratiwi Saraswati Dewi", case_status="close_contact")
    AuditEvent.objects.create(action="visit.checked_out_by_officer", actor=superuser, object_type="visitors.visit")
    client.force_login(superuser)
    overflowing = {}
    with chromium_context(chromium_path, viewport={"width": 1280, "height": 800}, locale="id") as context:
        session_cookie_add(context, client=client, live_server=live_server)
        page = context.new_page()
        for model_label in REGISTERED:
            page.goto(live_server.url + admin_url(model_label, "changelist"))
            page.wait_for_selector("#result_list")
            sizes = page.evaluate(
                """() => {
                    const results = document.querySelector('#changelist-form .results');
                    return {
                        results: [results.scrollWidth, results.clientWidth],
                        page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
                    };
                }"""
            )
            if sizes["results"][0] > sizes["results"][1] or sizes["page"][0] > sizes["page"][1]:
                overflowing[model_label] = sizes
    assert overflowing == {}
