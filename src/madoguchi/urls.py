from django.contrib import admin
from django.urls import include, path

from madoguchi.api.v1 import api as api_v1
from madoguchi.core.views import healthz
from madoguchi.handoff.api import api as handoff_api

admin.site.site_header = "Madoguchi 管理"
admin.site.site_title = "Madoguchi 管理"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("staff/intake/", include("madoguchi.intake.urls")),
    path("staff/nursery/", include("madoguchi.nursery.urls")),
    path("staff/", include("madoguchi.staff.urls")),
    path("api/v1/", api_v1.urls),
    path("api/handoff/v1/", handoff_api.urls),
    path("staff/handoff/", include("madoguchi.handoff.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("madoguchi.identity.urls")),
    path("counter/", include("madoguchi.counter.urls")),
    path("reception/", include("madoguchi.reception.urls")),
    path("pay/", include("madoguchi.payments.urls")),
    path("dx/plan/", include("madoguchi.dxplan.urls")),
    path("dx/", include("madoguchi.dx.urls")),
    path("opendata/", include("madoguchi.dx.public_urls")),
    path("", include("madoguchi.portal.urls")),
]
