"""Content negotiation: one renderer answers without reading Accept; several are negotiated as DRF does."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from denpasar_checkin.negotiation import SingleRendererNegotiation


def _request(accept: str) -> Request:
    return Request(APIRequestFactory().get("/", HTTP_ACCEPT=accept))


def test_a_single_renderer_answers_whatever_accept_says():
    renderer, media_type = SingleRendererNegotiation().select_renderer(_request("text/html"), [JSONRenderer()])
    assert isinstance(renderer, JSONRenderer) and media_type == "application/json"


def test_several_renderers_are_negotiated_as_drf_does():
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]
    renderer, _media_type = SingleRendererNegotiation().select_renderer(_request("text/html"), renderers)
    assert isinstance(renderer, BrowsableAPIRenderer)
    with pytest.raises(NotAcceptable):
        SingleRendererNegotiation().select_renderer(_request("image/png"), renderers)


def test_the_api_views_use_it():
    from visitors.api import checkin_create

    assert checkin_create.cls.content_negotiation_class is SingleRendererNegotiation
