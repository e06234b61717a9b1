"""The query compiler: a Parse ``where``/``order`` → one parameterised SQL condition and ORDER BY.

See docs/datastore.md ("How ``where`` becomes SQL") and the protocol reference §8.
"""

from hangar.datastore.query.compiler import compile_query
from hangar.datastore.query.context import MAX_DEPTH, MAX_NODES, CompiledQuery, QueryContext

__all__ = ["MAX_DEPTH", "MAX_NODES", "CompiledQuery", "QueryContext", "compile_query"]
