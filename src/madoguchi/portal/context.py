from django.http import HttpRequest

from madoguchi.portal.selectors import portal_municipality


def portal(request: HttpRequest) -> dict[str, object]:
    if request.path.startswith(("/staff/", "/admin/", "/api/")):
        return {}
    return {"PORTAL_MUNICIPALITY": portal_municipality()}
