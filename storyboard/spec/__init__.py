"""Owns the storyboard language: YAML with positions, templating, variables, models, rules, load, schema.

Owns everything between a storyboard file and a validated, frozen ``Storyboard``: parsing with
source positions, sandboxed Jinja2 per string value, the pydantic models, effective shot
settings, the model-aware rules and the JSON Schema. Every problem becomes one located
``Issue``. Must not import ``storyboard.store``, ``storyboard.engine``, ``storyboard.assemble``,
``storyboard.emulator`` or ``storyboard.cli``, nor the HTTP side of ``storyboard.seedance``
(only its capability table, which is data).
"""
