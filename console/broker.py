"""The embedded broker: kombu's filesystem transport, with messages published atomically.

kombu writes a message file in place (create, then write), while a worker polling the folder moves
and reads any file it sees: it can take one that is still empty, and the JSONDecodeError that
follows is an "unrecoverable error" that stops the worker (seen in CI). Here the message is written
to a hidden file first and renamed into place; a rename within one folder is atomic, so a worker
sees either no message or the whole message."""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot: kombu's reader takes files whose name after the first dot is
        # "<queue>.msg", which ".<name>.part" never is.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to the broker folder {self.data_folder_out!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel
