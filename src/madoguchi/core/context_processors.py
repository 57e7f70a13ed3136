from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def platform(request: HttpRequest) -> dict[str, object]:
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "today": timezone.localdate(),
        # each language named in itself (日本語, やさしい にほんご, English), never translated
        "LANGUAGE_CHOICES": settings.LANGUAGES,
    }
