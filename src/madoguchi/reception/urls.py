from django.urls import path

from madoguchi.reception import views

app_name = "reception"
urlpatterns = [
    # residents: online booking (portal login)
    path("", views.book_index, name="book_index"),
    path("book/<slug:code>/", views.book_service, name="book_service"),
    path("my/<str:number>/change/", views.my_change, name="my_change"),
    path("my/<str:number>/cancel/", views.my_cancel, name="my_cancel"),
    # the floor: kiosk and called-numbers display (no login)
    path("kiosk/", views.kiosk, name="kiosk"),
    path("kiosk/issue/", views.kiosk_issue, name="kiosk_issue"),
    path("kiosk/checkin/", views.kiosk_checkin, name="kiosk_checkin"),
    path("kiosk/ticket/<int:pk>/", views.kiosk_ticket, name="kiosk_ticket"),
    path("display/", views.display, name="display"),
    path("display/board/", views.display_board, name="display_board"),
    # staff
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/reservations/", views.staff_reservations, name="staff_reservations"),
    path("staff/counter/<int:number>/", views.staff_counter, name="staff_counter"),
    path("staff/counter/<int:number>/queue/", views.staff_counter_queue, name="staff_counter_queue"),
    path("staff/counter/<int:number>/call-next/", views.staff_call_next, name="staff_call_next"),
    path(
        "staff/counter/<int:number>/tickets/<int:pk>/transfer/", views.staff_transfer, name="staff_transfer"
    ),
    path("staff/counter/<int:number>/tickets/<int:pk>/fee/", views.staff_fee, name="staff_fee"),
    path(
        "staff/counter/<int:number>/tickets/<int:pk>/<slug:action>/",
        views.staff_ticket_action,
        name="staff_ticket_action",
    ),
    path("floor/", views.floor, name="floor"),
]
