"""The import form (one flow document, pasted or uploaded, as AppFlow JSON or CloudFormation) and
the delete confirmation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from flows.document import DocumentInvalid, from_cloudformation, looks_like_cloudformation, parse_flow_json

MAX_DOCUMENT_BYTES = 1024 * 1024  # a flow document is a few KB; 1 MB leaves room for huge task lists


def too_large(size: int) -> str:
    return (
        f"The document is {size / 1024 / 1024:.1f} MB; the limit is 1 MB. "
        "A flow document is normally a few KB: check that this is the right file."
    )


class ImportFlowForm(forms.Form):
    document = forms.CharField(
        label="Paste the flow JSON",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 18, "spellcheck": "false", "autocomplete": "off", "class": "code",
                   "maxlength": MAX_DOCUMENT_BYTES}
        ),
    )
    file = forms.FileField(
        label="or upload a .json file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean(self) -> dict[str, Any]:
        """Read the text from whichever was given, parse it, and turn CloudFormation into a
        create-flow document. Every problem is a non-field error naming its JSON path."""
        cleaned = super().clean()
        text = self.read_text(cleaned.get("document") or "", cleaned.get("file"))
        if isinstance(text, str):
            self.text = text
        try:
            document = parse_flow_json(text)
            if looks_like_cloudformation(document):
                document = from_cloudformation(document)
        except DocumentInvalid as exc:
            raise ValidationError([str(error) for error in exc.errors]) from None
        cleaned["parsed"] = document
        return cleaned

    def read_text(self, pasted: str, upload) -> str | bytes:
        if upload is not None and pasted.strip():
            raise ValidationError("Paste the JSON or upload a file, not both.")
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                raise ValidationError(too_large(upload.size))
            data = upload.read()
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                # parse_flow_json says where the bad byte is; the textarea gets a readable copy.
                self.text = data.decode("utf-8", errors="replace")
                return data
        if not pasted.strip():
            raise ValidationError("Paste a flow document (JSON) or choose a file to upload.")
        if len(pasted.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise ValidationError(too_large(len(pasted.encode("utf-8"))))
        return pasted


CONFIRM_WORD = "delete"


class DeleteFlowForm(forms.Form):
    """Typing the word makes deleting a deliberate act; forcing also stops runs in progress."""

    confirm = forms.CharField(
        label=f'Type "{CONFIRM_WORD}" to confirm', max_length=32,
        error_messages={"required": f'Type the word "{CONFIRM_WORD}" to confirm; nothing was deleted.'},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
    )
    force = forms.BooleanField(required=False)

    def clean_confirm(self) -> str:
        typed = (self.cleaned_data.get("confirm") or "").strip()
        if typed.lower() != CONFIRM_WORD:
            raise ValidationError(f'Type the word "{CONFIRM_WORD}" to confirm; nothing was deleted.')
        return typed
