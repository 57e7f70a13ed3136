from django.contrib import admin

from madoguchi.applications.models import Application, ApplicationEvent


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "actor_label", "from_status", "to_status", "reason")
    fields = readonly_fields


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-only here: every change goes through the services (and so the history and audit)."""

    list_display = ("reception_number", "procedure", "status", "channel", "submitted_at", "deadline")
    list_filter = ("municipality", "channel", "status__name")
    search_fields = ("reception_number",)
    inlines = [EventInline]
    exclude = ("data",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
