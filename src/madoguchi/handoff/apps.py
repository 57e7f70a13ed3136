from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "madoguchi.handoff"
    label = "handoff"
    verbose_name = "基幹システム連携"
