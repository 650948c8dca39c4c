# rackplan: the solver and its CLI (the HTTP service comes with its own issue).
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 rackplan
WORKDIR /app
COPY pyproject.toml README.md ./
COPY solver ./solver
COPY data ./data
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER rackplan
ENTRYPOINT ["rackplan"]
CMD ["solve", "data/sample.json", "--time-limit", "30"]
