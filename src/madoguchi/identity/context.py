from django.http import HttpRequest

from madoguchi.identity.api import current_identity
from madoguchi.identity.pki import bridge_url


def portal_identity(request: HttpRequest) -> dict[str, object]:
    if not hasattr(request, "session"):
        return {"portal_identity": None, "JPKI_BRIDGE_URL": bridge_url()}
    return {"portal_identity": current_identity(request), "JPKI_BRIDGE_URL": bridge_url()}
