from django.contrib import admin

from madoguchi.core.models import AuditEvent, ClosedDay, Department, Municipality, Resident, StaffAssignment


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("code", "prefecture", "name")
    search_fields = ("code", "name")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("municipality", "code", "name", "short_name")
    list_filter = ("municipality",)


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "municipality", "department", "role")
    list_filter = ("municipality", "role")
    autocomplete_fields = ("user",)


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ("municipality", "date", "reason")
    list_filter = ("municipality",)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("resident_code", "name", "name_kana", "birth_date", "address")
    list_filter = ("municipality",)
    search_fields = ("resident_code", "name_search")
    readonly_fields = ("name_search",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only and hash-chained."""

    list_display = ("seq", "at", "actor", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("actor", "object_id")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
