"""The HTTP API (``/api/v1``) served by the process that holds the store.

``flowmeter up`` and ``flowmeter collect`` run it as one more service
(``app.api.service.ApiService``); the CLI finds it through a file in the data directory
(``app.api.discovery``) and talks to it with ``app.api.client.ApiClient`` while that process
runs. The routes (``reads``, ``writes``) call the same ``models`` and ``app.actions``
functions as the CLI and the dashboard; nothing here holds SQL.

Nothing is imported here: the CLI imports the client on every command and must not pay for
FastAPI and uvicorn.
"""
