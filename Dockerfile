# Build stage: compile the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
# The manifest declares the benchmarks as targets, so cargo needs their sources to build at all.
COPY benches ./benches
RUN cargo build --release --locked --bin tandem

# Runtime stage: a small image running as an unprivileged user. curl is what the compose
# health check runs (a test checks the two agree).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/tandem --create-home tandem
COPY --from=build /src/target/release/tandem /usr/local/bin/tandem
USER tandem
WORKDIR /var/lib/tandem
ENV TANDEM_BIND=0.0.0.0:8080 \
    TANDEM_DATA_DIR=/var/lib/tandem
EXPOSE 8080
CMD ["tandem", "serve"]
