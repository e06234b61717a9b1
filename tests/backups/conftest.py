from tests.datastore.conftest import app_a, app_b  # noqa: F401 - the data API's Parse clients
from tests.files.conftest import moto_server  # noqa: F401 - S3 on loopback
