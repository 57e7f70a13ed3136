from django.contrib import admin

from madoguchi.payments.models import Payment, PaymentEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-only: every change goes through the services (and so the audit log)."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class EventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    readonly_fields = ("received_at", "kind", "event_id", "event_type", "outcome", "payload")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("application", "amount", "plugin", "state", "needs_refund", "created_at", "paid_at")
    list_filter = ("municipality", "plugin", "state", "needs_refund")
    search_fields = ("application__reception_number", "provider_reference")
    exclude = ("checkout_url",)
    inlines = [EventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "plugin", "kind", "event_id", "event_type", "outcome", "payment")
    list_filter = ("plugin", "kind", "outcome")
    search_fields = ("event_id", "reference")
