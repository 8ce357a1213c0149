"""DRF content negotiation that skips parsing Accept when a view has a single renderer (production: JSON only)."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class SingleRendererNegotiation(DefaultContentNegotiation):
    """With one renderer there is nothing to choose: answer with it.

    DRF's default builds every request header into a dict and parses the Accept list even then: about a quarter of
    the framework's own time on a check-in. A client whose Accept excludes JSON gets JSON rather than a 406, which
    HTTP allows (RFC 9110, 12.5.1); with several renderers (the browsable API under DEBUG, the schema view) DRF's
    negotiation runs as before.
    """

    def select_renderer(self, request, renderers, format_suffix=None):  # noqa: ANN001, ANN201 - DRF's signature
        if len(renderers) == 1:
            renderer = renderers[0]
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
