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

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"

CMD ["flowmeter", "up"]
