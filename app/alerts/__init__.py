"""Alerting's shell: evaluation inside ``flowmeter up`` (or ``flowmeter alerts run``) and
notifications through Alertmanager, webhooks, Slack-compatible hooks and e-mail."""
