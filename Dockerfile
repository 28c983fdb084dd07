# syntax=docker/dockerfile:1

# --- Build ------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build

COPY Cargo.toml Cargo.lock ./
# sqlx's migrate! embeds the migrations at compile time: they must be here before building.
COPY migrations ./migrations
COPY src ./src
# The console's HTML, JS and CSS are embedded in the binary (include_str!).
COPY console ./console

# The cache mounts keep downloaded crates and compiled dependencies between builds;
# the binary is copied out of the cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked \
    && cp target/release/integrations-core /usr/local/bin/integrations-core

# --- Run --------------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin integrations \
    && mkdir -p /data \
    && chown integrations:integrations /data

COPY --from=builder /usr/local/bin/integrations-core /usr/local/bin/integrations-core

# SQLite by default; the generated master key lands in /data/master.key (back it up).
# Set DATABASE_URL=postgres://... and MASTER_KEY for Postgres.
ENV DATABASE_URL=sqlite:///data/integrations.db \
    LISTEN_ADDR=0.0.0.0:8080

USER integrations
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# No curl in the image: bash's /dev/tcp sends a plain HTTP/1.0 request to /healthz
# on the port of LISTEN_ADDR.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${LISTEN_ADDR##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# `serve` is the default command; other subcommands run as
# `docker run --rm -v ...:/data IMAGE customer create --name ... --email ...`.
ENTRYPOINT ["/usr/local/bin/integrations-core"]
CMD ["serve"]
