"""The LiveQuery matcher: does an object (wire form) match a subscription's ``where``?

Shares the operator semantics of the SQL query compiler (hangar.datastore.query); see
docs/realtime.md, "Matching".
"""

from hangar.realtime.matching.compiler import UnsupportedQuery, compile_matcher, where_fields

__all__ = ["UnsupportedQuery", "compile_matcher", "where_fields"]
