from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "madoguchi.portal"
    label = "portal"
    verbose_name = "住民ポータル（行かない窓口）"
