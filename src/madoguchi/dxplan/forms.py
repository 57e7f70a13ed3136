"""Input forms: they only turn POST data into typed values; the rules live in ``services``."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.dxplan.models import Priority, ProjectStatus, TaskStatus
from madoguchi.dxplan.services import ProjectFields, TaskFields

T = TypeVar("T")


def _typed(cls: type[T], data: dict[str, Any]) -> T:
    """The service's input dataclass from a form's cleaned data (the fields of the same names)."""
    return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})  # type: ignore[arg-type]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ProjectForm(forms.Form):
    priority = forms.ChoiceField(label=_("重点取組事項"), choices=Priority.choices)
    title = forms.CharField(label=_("取組名"), max_length=120)
    owner_department = forms.CharField(label=_("担当課"), max_length=60, required=False)
    owner_person = forms.CharField(label=_("担当者"), max_length=60, required=False)
    status = forms.ChoiceField(label=_("状況"), choices=ProjectStatus.choices)
    start_date = forms.DateField(label=_("開始日"), widget=DateInput())
    end_date = forms.DateField(label=_("終了予定日"), widget=DateInput())
    description = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def fields_value(self) -> ProjectFields:
        return _typed(ProjectFields, self.cleaned_data)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("マイルストーン"), max_length=120)
    due_date = forms.DateField(label=_("期日"), widget=DateInput())


class TaskForm(forms.Form):
    status = forms.ChoiceField(label=_("状況"), choices=TaskStatus.choices, widget=forms.RadioSelect)
    planned_start = forms.DateField(label=_("開始予定日"), widget=DateInput(), required=False)
    planned_end = forms.DateField(label=_("完了予定日"), widget=DateInput(), required=False)
    actual_start = forms.DateField(label=_("着手日"), widget=DateInput(), required=False)
    actual_end = forms.DateField(label=_("完了日"), widget=DateInput(), required=False)
    note = forms.CharField(label=_("備考"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def fields_value(self) -> TaskFields:
        return _typed(TaskFields, self.cleaned_data)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("証跡ファイル (PDF・JPEG・PNG)"))


class CardRateForm(forms.Form):
    file = forms.FileField(label=_("交付枚数の表 (CSV または Excel .xlsx)"))
    as_of = forms.DateField(
        label=_("基準日 (表題に「令和N年M月D日現在」があれば省略可)"), widget=DateInput(), required=False
    )
