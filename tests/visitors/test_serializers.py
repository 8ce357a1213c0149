"""Request serializers: fields shared by shallow copy still validate each request on its own."""

from __future__ import annotations

import threading

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


def test_checkout_requires_nik_without_a_device():
    serializer = CheckoutRequestSerializer(data={"entrance": "E1"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"nik"}


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
