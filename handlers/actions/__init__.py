"""Approved actions: proposal → approval by a second authorised person → execution under the action
role, exactly once (claimed in the shared store) → verification → audit. The model can only propose.
"""
