from __future__ import annotations

from django import template

from importer.selectors import last_import_job

register = template.Library()

register.simple_tag(last_import_job, name="last_import_job")
