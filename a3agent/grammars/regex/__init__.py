"""Regular expressions as data: a small character-regex algebra, ECMA-262 patterns translated into
it, and finite automata operations (intersection, complement) over it."""
