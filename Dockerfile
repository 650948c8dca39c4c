# rackplan: the HTTP service (and the solver's command line) in a slim, non-root image.
#
#   docker build -t rackplan .
#   docker run -p 8000:8000 -v rackplan-data:/data \
#       -e RACKPLAN_API_KEYS='a-long-planner-key-000:planner,a-long-viewer-key-0000:viewer' \
#       rackplan
#
# RACKPLAN_API_KEYS is REQUIRED: the service listens on 0.0.0.0 here, and rackplan refuses
# to listen on any address but 127.0.0.1 without API keys (it exits with a message naming
# the variable). Keys are `key:role` pairs, comma-separated, each key 16+ characters,
# roles viewer, mes, planner. The database is an SQLite file on the /data volume unless
# RACKPLAN_DATABASE_URL names another (e.g. postgresql+psycopg://user:pass@db/rackplan).
# On an empty database the sample factory and orders are loaded (RACKPLAN_LOAD_SAMPLE=false
# turns that off). Logs are JSON lines on stderr, one per request, with a request id.
FROM python:3.11-slim

LABEL org.opencontainers.image.title="rackplan" \
      org.opencontainers.image.description="Production scheduling for AI data-center rack factories; needs RACKPLAN_API_KEYS"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RACKPLAN_DATABASE_URL=sqlite:////data/rackplan.db \
    RACKPLAN_LOG_JSON=true

RUN useradd --create-home --uid 10001 rackplan \
    && mkdir -p /data && chown rackplan:rackplan /data

# a plain install: the sample and the pages' assets are package data, so the source
# tree is not needed at run time
WORKDIR /src
COPY pyproject.toml README.md ./
COPY solver ./solver
COPY app ./app
RUN pip install --no-cache-dir . && cd / && rm -rf /src /root/.cache

WORKDIR /data

USER rackplan
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["rackplan"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
