from django.urls import path

from madoguchi.counter import views

app_name = "counter"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("stats/", views.stats, name="stats"),
    path("paper/", views.blank_index, name="blank_index"),
    path("paper/<slug:code>/", views.blank, name="blank"),
    path("kiosk/", views.kiosk, name="kiosk"),
    path("kiosk/<uuid:token>/sign/", views.kiosk_sign, name="kiosk_sign"),
    path("s/<uuid:token>/", views.session, name="session"),
    path("s/<uuid:token>/card/", views.card, name="card"),
    path("s/<uuid:token>/members/", views.members, name="members"),
    path("s/<uuid:token>/interview/", views.interview, name="interview"),
    path("s/<uuid:token>/items/<int:item_id>/", views.item, name="item"),
    path("s/<uuid:token>/items/<int:item_id>/toggle/", views.item_toggle, name="item_toggle"),
    path("s/<uuid:token>/missing/", views.missing, name="missing"),
    path("s/<uuid:token>/ready/", views.ready, name="ready"),
    path("s/<uuid:token>/cancel/", views.cancel, name="cancel"),
    path("s/<uuid:token>/forms.pdf", views.print_pdf, name="print"),
]
