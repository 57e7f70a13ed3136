from django.http import HttpRequest

from madoguchi.identity.api import current_identity


def portal_identity(request: HttpRequest) -> dict[str, object]:
    if not hasattr(request, "session"):
        return {"portal_identity": None}
    return {"portal_identity": current_identity(request)}
