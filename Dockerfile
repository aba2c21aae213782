FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FLOWMETER_DATA_DIR=/data \
    FLOWMETER_BIND=0.0.0.0

RUN useradd --create-home --uid 10001 flowmeter \
    && mkdir -p /data /app \
    && chown flowmeter:flowmeter /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY collectors ./collectors
COPY models ./models
COPY orchestrator ./orchestrator
COPY sql ./sql
RUN pip install .

USER flowmeter
VOLUME ["/data"]
EXPOSE 4317 4318 8501

# Liveness from the OTLP/HTTP listener's /healthz, over TLS when FLOWMETER_TLS_CERT is set
# (the certificate names the public host, not 127.0.0.1: the probe does not verify it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os,ssl,sys,urllib.request as u; s='https' if os.environ.get('FLOWMETER_TLS_CERT') else 'http'; p=os.environ.get('FLOWMETER_OTLP_HTTP_PORT','4318'); sys.exit(0 if u.urlopen(f'{s}://127.0.0.1:{p}/healthz', timeout=4, context=ssl._create_unverified_context() if s=='https' else None).status == 200 else 1)"

CMD ["flowmeter", "up"]
