"""Alerting's pure core and its tables: rules, measures, the state machine, state and history.

rules.py ──▶ evaluate.py ──▶ measures.py (models functions on the store)
                 └────────▶ state.py (pure transitions) ──▶ history.py (ClickHouse)
"""
