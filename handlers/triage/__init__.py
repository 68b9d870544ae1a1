"""Triage before reasoning: a question or an alarm becomes a plan (entities → resources → evidence jobs),
run without the model, so the model starts from the evidence and an answer never depends on tool calling.

``mentions`` reads what the text names, ``resolve`` maps it onto the inventory read in the first round,
``plan`` runs the capabilities' triage hooks in one parallel round into a ``Bundle``, ``causes`` ranks
likely causes from time and resource correlation, ``citations`` flags ids an answer invents.
"""
