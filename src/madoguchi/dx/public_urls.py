from django.urls import path

from madoguchi.dx import public

app_name = "opendata"
urlpatterns = [
    path("", public.catalogue, name="catalogue"),
    path("<str:code>/catalog.json", public.catalog_json, name="catalog"),
    path("<str:code>/<slug:kind>.<str:ext>", public.download, name="download"),
]
