"""factory_boy factories for the domain model; NIKs are valid Denpasar NIKs built from a sequence."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from denpasar_checkin.nik import nik_encrypt, nik_hash, nik_mask
from offices.models import Entrance, Office, OfficeOccupancy, OfficerAssignment, Staff
from screening.models import HealthStatus
from screening.vocabulary import PersonKind
from visitors.models import Person, Visit


def nik_make(n: int, *, female: bool = False, born: datetime.date = datetime.date(1990, 1, 1)) -> str:
    """A valid NIK from Denpasar (51 71 01) with the given birth date and serial n (1-9999)."""
    day = born.day + (40 if female else 0)
    return f"517101{day:02d}{born.month:02d}{born.year % 100:02d}{n % 9999 + 1:04d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@denpasarkota.go.id")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "Sandi-Rahasia-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()

    @factory.post_generation
    def offices(self, create, extracted, **kwargs):
        for office in extracted or ():
            OfficerAssignment.objects.create(user=self, office=office)


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Kantor Dinas {n} Kota Denpasar")
    address = "Jl. Gajah Mada No. 1, Denpasar"
    sector = "non_esensial"
    capacity = 100

    @factory.post_generation
    def occupancy(self, create, extracted, **kwargs):
        if create:
            OfficeOccupancy.objects.get_or_create(office=self)


class EntranceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entrance

    office = factory.SubFactory(OfficeFactory)
    name = factory.Sequence(lambda n: f"Pintu {n}")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        exclude = ("nik",)

    office = factory.SubFactory(OfficeFactory)
    nik = factory.Sequence(lambda n: nik_make(5000 + n))
    name = factory.Faker("name", locale="id_ID")
    nip = factory.Sequence(lambda n: f"19800101200501{n % 10000:04d}")
    nik_hash = factory.LazyAttribute(lambda s: nik_hash(s.nik))
    nik_masked = factory.LazyAttribute(lambda s: nik_mask(s.nik))


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        exclude = ("nik",)

    nik = factory.Sequence(lambda n: nik_make(n))
    name = factory.Faker("name", locale="id_ID")
    phone = "081234567890"
    nik_hash = factory.LazyAttribute(lambda p: nik_hash(p.nik))
    nik_encrypted = factory.LazyAttribute(lambda p: nik_encrypt(p.nik))
    nik_masked = factory.LazyAttribute(lambda p: nik_mask(p.nik))


class HealthStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthStatus
        exclude = ("nik",)

    nik = factory.Sequence(lambda n: nik_make(n))
    name = factory.Faker("name", locale="id_ID")
    doses = 2
    nik_hash = factory.LazyAttribute(lambda h: nik_hash(h.nik))
    nik_masked = factory.LazyAttribute(lambda h: nik_mask(h.nik))
    refreshed_at = factory.LazyFunction(timezone.now)


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    person = factory.SubFactory(PersonFactory)
    entrance_in = factory.SubFactory(EntranceFactory)
    office = factory.SelfAttribute("entrance_in.office")
    kind = PersonKind.VISITOR
    checked_in_at = factory.LazyFunction(timezone.now)


# --- exposure notices and a person's own data (visitors.own_data) ----------------------------------------------------


def _device_token_hash(token: str) -> str:
    from visitors.selectors import device_token_hash

    return device_token_hash(token)


class DeviceFactory(factory.django.DjangoModelFactory):
    """A remembered phone; the cookie's value is `token` (tests set it as the dc_device cookie)."""

    class Meta:
        model = "visitors.Device"
        exclude = ("token",)

    person = factory.SubFactory(PersonFactory)
    token = factory.Sequence(lambda n: f"device-token-{n:06d}-abcdefghijklmnop")
    token_hash = factory.LazyAttribute(lambda d: _device_token_hash(d.token))


class ScanEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "visitors.ScanEvent"

    entrance = factory.SubFactory(EntranceFactory)
    office = factory.SelfAttribute("entrance.office")
    person = factory.SubFactory(PersonFactory)
    outcome = "admitted"
    reason = "ok"
    colour = "green"
    created_at = factory.LazyFunction(timezone.now)


class ExposureCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "visitors.ExposureCase"

    case_person = factory.SubFactory(PersonFactory)
    window_from = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))
    window_until = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=2))
    created_at = factory.LazyFunction(timezone.now)


class ExposureNoticeFactory(factory.django.DjangoModelFactory):
    """One contact told about one case, as the sending side writes it."""

    class Meta:
        model = "visitors.ExposureNotice"

    case = factory.SubFactory(ExposureCaseFactory)
    person = factory.SubFactory(PersonFactory)
    office = factory.SubFactory(OfficeFactory)
    window_from = factory.SelfAttribute("case.window_from")
    window_until = factory.SelfAttribute("case.window_until")
    phone = "081234567890"
    message = "Anda berada di tempat yang sama dengan kasus positif COVID-19. Pantau gejala dan lakukan tes."
    created_at = factory.LazyFunction(timezone.now)
