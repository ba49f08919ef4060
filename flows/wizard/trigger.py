"""The trigger sub-form of step 2 (helper 5c replaces this with the full one: schedule, event,
incremental transfer). This minimal version offers "Run on demand" only, with the same interface:

    TriggerForm(data=None, *, document, source_connector_cls, source_fields)
    .is_valid()
    .apply(document) -> document with triggerConfig (and no incrementalPullConfig)
"""

from __future__ import annotations

import copy

from django import forms


class TriggerForm(forms.Form):
    trigger_type = forms.ChoiceField(
        label="Flow trigger", widget=forms.RadioSelect, choices=[("OnDemand", "Run on demand")],
        initial="OnDemand",
    )

    def __init__(self, data=None, *, document: dict, source_connector_cls=None, source_fields=None):
        super().__init__(data, initial={"trigger_type": "OnDemand"})
        self.document = document
        self.source_connector_cls = source_connector_cls
        self.source_fields = list(source_fields or [])

    def apply(self, document: dict) -> dict:
        document = copy.deepcopy(document)
        document["triggerConfig"] = {"triggerType": "OnDemand"}
        source = document.get("sourceFlowConfig")
        if isinstance(source, dict):
            source.pop("incrementalPullConfig", None)
        return document
