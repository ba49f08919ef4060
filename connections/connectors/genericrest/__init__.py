"""Generic REST (source): a JSON API described by a spec (JSON or YAML) kept with the connection,
instead of code. spec.py reads and checks the spec, api.py makes the calls, paging.py walks the
pages, connector.py turns answers into batches; examples/ holds worked specs."""

from .connector import GenericRestConnector

__all__ = ["GenericRestConnector"]
