"""Seeded incidents with their questions and the facts a correct answer rests on (``catalog``), seeded in
moto (``seed``), asked through the real ``ask`` handler and scored (``run``); ``eval`` is ``make eval``."""
