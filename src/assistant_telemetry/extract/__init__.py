"""Pure functions that turn request arguments, responses, headers and errors into attributes.

Every function here reads named, allowlisted fields only and writes into a plain dict:
"never content" holds by construction, and each function is trivial to unit-test.
"""
