from django.urls import path

from madoguchi.dx import views

app_name = "dx"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("refresh/", views.refresh, name="refresh"),
    path("kpis/", views.kpis, name="kpis"),
    path("kpis/<int:pk>/", views.kpi, name="kpi"),
    path("kpis/<int:pk>/<slug:what>/", views.kpi_post, name="kpi_post"),
    path("ooda/", views.ooda, name="ooda"),
    path("opendata/", views.opendata, name="opendata"),
    path("bpr/", views.bpr, name="bpr"),
    path("report.<str:fmt>", views.report, name="report"),
]
