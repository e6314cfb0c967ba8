# Build stage: compile a release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY config ./config
RUN cargo build --release --locked --bin leakwarden \
 && strip target/release/leakwarden

# Runtime stage: small image, non-root, no shell tools needed.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin leakwarden
COPY --from=build /src/target/release/leakwarden /usr/local/bin/leakwarden
COPY config/leakwarden.toml /etc/leakwarden/leakwarden.example.toml
USER 10001:10001
# Inside a container the listeners must bind all interfaces; the binary's
# own defaults stay on loopback.
ENV LEAKWARDEN_LISTEN=0.0.0.0:8080 \
    LEAKWARDEN_ADMIN=0.0.0.0:9901
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["leakwarden", "healthcheck"]
ENTRYPOINT ["leakwarden"]
CMD ["run"]
