# PgBouncer from Debian (1.18 on bookworm: the version `make test-pgbouncer` runs), configured by
# the mounted docker/pgbouncer.ini and docker/pgbouncer-userlist.txt. pg_isready is for the health check.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends pgbouncer postgresql-client \
    && rm -rf /var/lib/apt/lists/*
USER postgres
EXPOSE 6432
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
