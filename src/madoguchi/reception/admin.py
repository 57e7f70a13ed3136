"""Django admin for 待たない窓口: 管理者 edit services, counters and opening hours as data."""

from django.contrib import admin

from madoguchi.reception.models import Counter, CounterFee, OpeningHours, Reservation, Service, Ticket


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "prefix",
        "municipality",
        "slot_minutes",
        "capacity_per_slot",
        "fee",
        "bookable",
        "active",
        "sort_order",
    )
    list_filter = ("municipality", "active", "bookable")
    list_editable = ("slot_minutes", "capacity_per_slot", "active", "sort_order")


@admin.register(Counter)
class CounterAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "municipality", "active")
    list_filter = ("municipality", "active")
    filter_horizontal = ("services",)


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ("municipality", "weekday", "opens", "closes", "break_start", "break_end")
    list_filter = ("municipality",)


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("number", "day", "start", "service", "counter", "status", "reminded_at")
    list_filter = ("municipality", "service", "status", "day")
    search_fields = ("number",)
    readonly_fields = ("number", "seat", "owner", "application", "reminded_at", "created_at", "updated_at")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "day", "service", "status", "priority", "counter", "issued_at", "called_at")
    list_filter = ("municipality", "service", "status", "day")
    readonly_fields = [f.name for f in Ticket._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(CounterFee)
class CounterFeeAdmin(admin.ModelAdmin):
    list_display = ("ticket", "amount", "method", "payment", "received_by", "received_at")
    readonly_fields = ("ticket", "amount", "method", "payment", "received_by", "received_at", "municipality")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
