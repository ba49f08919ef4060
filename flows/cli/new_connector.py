"""`sluice new-connector NAME`: write a connector package skeleton (a Sluice extension, no
cookiecutter): pyproject with the `sluice.connectors` entry point, the connector module, a local
test server of a made-up API and the contract test wired to it, all passing from the start. The
files are flows/cli/connector_template/*.tmpl with {{placeholders}} filled in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from console.errors import UserError

TEMPLATE = Path(__file__).with_name("connector_template")
# A label AppFlow accepts ([a-zA-Z0-9][\w!@#.-]+) that is also a Python identifier's start.
NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{1,62}")


def names(name: str) -> dict[str, str]:
    """HelpScout -> label HelpScout, package sluice-connector-helpscout, module sluice_connector_helpscout."""
    if not NAME.fullmatch(name or ""):
        raise UserError("NAME: letters and digits only, starting with a letter (e.g. HelpScout): it becomes "
                        "the connectorLabel and the Python package's name.")
    slug = name.lower()
    display = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return {"label": name, "Class": f"{name}Connector", "display": display,
            "package": f"sluice-connector-{slug}", "module": f"sluice_connector_{slug}"}


def render(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def new_connector(options: dict[str, Any]) -> dict[str, Any]:
    values = names(options.get("name") or "")
    root = Path(options.get("directory") or ".").resolve() / values["package"]
    if root.exists():
        raise UserError(f"{root} exists already: choose another --directory, or remove it first.")
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")  # drop .tmpl
        parts = [values["module"] if part == "module" else part for part in relative.parts]
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
        written.append(str(target.relative_to(root)))
    return {"directory": str(root), "connectorLabel": values["label"], "files": written,
            "next": f"cd {root} && PYTHONPATH={Path(__file__).resolve().parents[2]} python -m pytest; "
                    f"pip install {root}; python manage.py sluice register-connector --connector-label "
                    f"{values['label']}"}
