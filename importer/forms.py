from __future__ import annotations

from django import forms

from importer.models import ImportTarget


class ImportTargetForm(forms.Form):
    api_url = forms.URLField(
        required=False,
        assume_scheme="http",
        max_length=ImportTarget._meta.get_field("api_url").max_length,
        label="Stream-producer API URL",
        help_text="e.g. http://127.0.0.1:8080 — leave blank to import into Vodscope's own hosted API",
        widget=forms.URLInput(attrs={"placeholder": "blank = Vodscope (hosted)", "size": 40}),
    )
    token = forms.CharField(
        required=False, max_length=255, label="API token", widget=forms.PasswordInput(render_value=True, attrs={"size": 40})
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("api_url") and not data.get("token"):
            self.add_error("token", "An external stream-producer needs its API token.")
        return data
