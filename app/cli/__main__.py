"""``python -m app.cli`` runs the flowmeter command."""

from app.cli import main

main()
