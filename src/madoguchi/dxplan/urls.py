from django.urls import path

from madoguchi.dxplan import views

app_name = "dxplan"
urlpatterns = [
    path("", views.projects, name="projects"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("timeline/", views.timeline, name="timeline"),
    path("migration/", views.migration, name="migration"),
    path("migration/export.xlsx", views.migration_export, {"fmt": "xlsx"}, name="migration_xlsx"),
    path("migration/export.csv", views.migration_export, {"fmt": "csv"}, name="migration_csv"),
    path("migration/evidence/<int:evidence_id>/", views.evidence_file, name="evidence_file"),
    path("migration/<slug:business>/", views.migration_business, name="migration_business"),
    path("migration/<slug:business>/<int:item>/", views.cell, name="cell"),
    path("cardrate/", views.cardrate, name="cardrate"),
    path("cardrate/<int:pk>/", views.cardrate_table, name="cardrate_table"),
]
