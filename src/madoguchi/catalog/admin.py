from django.contrib import admin

from madoguchi.catalog.models import FormVersion, Procedure, StatusType, Transition, Workflow


class StatusInline(admin.TabularInline):
    model = StatusType
    extra = 0


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    inlines = [StatusInline, TransitionInline]


class FormVersionInline(admin.TabularInline):
    model = FormVersion
    extra = 0
    fields = ("version", "published", "created_at")
    readonly_fields = ("version", "created_at")


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "department", "standard_days", "fee", "is_active")
    list_filter = ("municipality", "category", "department", "is_active")
    search_fields = ("code", "name")
    inlines = [FormVersionInline]
