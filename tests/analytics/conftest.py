"""Analytics tests use the data API's Parse clients and close the cloud-code sandbox pool after each test."""

from tests.cloudcode.conftest import _stop_workers  # noqa: F401 - autouse
from tests.datastore.conftest import app_a, app_b  # noqa: F401 - the data API's Parse clients
