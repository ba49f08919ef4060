import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
application = get_wsgi_application()

# Fail closed: a key that cannot decrypt the stored credentials stops the web process at start.
from connections.crypto import verify_encryption_key  # noqa: E402

verify_encryption_key()
