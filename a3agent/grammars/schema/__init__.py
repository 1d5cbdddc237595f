"""JSON Schema to grammar: normalising a schema to shapes, then lark rules for numbers, strings,
arrays and objects over compact or default-separator JSON text."""
