from django.contrib import admin

from madoguchi.counter.models import CounterSession, LifeEventRule


@admin.register(LifeEventRule)
class LifeEventRuleAdmin(admin.ModelAdmin):
    """The rules table 管理者 edit: which life event, under which conditions, needs which procedure."""

    list_display = ("event", "procedure", "reason", "order", "is_active", "municipality")
    list_filter = ("municipality", "event", "is_active")
    list_editable = ("order", "is_active")
    search_fields = ("procedure__name", "reason")


@admin.register(CounterSession)
class CounterSessionAdmin(admin.ModelAdmin):
    list_display = ("opened_at", "status", "fields_typed", "fields_total", "municipality")
    list_filter = ("status", "municipality")
    readonly_fields = [f.name for f in CounterSession._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
