"""Madoguchi (窓口): the open-source 自治体DX platform."""

from madoguchi.celery import app as celery_app

__all__ = ["celery_app"]
