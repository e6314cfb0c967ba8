# syntax=docker/dockerfile:1
# leakwarden container image: a release build copied onto a distroless base
# (no shell, no package manager), running as a non-root user.
#
#   docker build -t leakwarden --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
#
# REVISION ends up in `leakwarden --version` and leakwarden_build_info (the
# build context has no .git, see .dockerignore).

ARG RUST_VERSION=1.95

# Build stage: compile a release binary.
FROM rust:${RUST_VERSION}-bookworm AS build
ARG REVISION=unknown
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
COPY config ./config
ENV LEAKWARDEN_REVISION=${REVISION}
RUN cargo build --release --locked --bin leakwarden \
 && strip target/release/leakwarden

# Runtime stage: glibc and CA certificates only. The binary needs no shell:
# the health check runs it directly (exec form).
FROM gcr.io/distroless/cc-debian12:nonroot
ARG REVISION=unknown
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="leakwarden" \
      org.opencontainers.image.description="A streaming reverse proxy that stops card numbers, personal data and secrets from leaking out of HTTP responses" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/leakwarden/leakwarden" \
      org.opencontainers.image.documentation="https://github.com/leakwarden/leakwarden#deploying"
COPY --from=build /src/target/release/leakwarden /usr/local/bin/leakwarden
COPY config/leakwarden.toml /etc/leakwarden/leakwarden.example.toml
# distroless's "nonroot" user (65532); Kubernetes runAsNonRoot needs the
# numeric form.
USER 65532:65532
# Inside a container the listeners must bind all interfaces; the binary's
# own defaults stay on loopback.
ENV LEAKWARDEN_LISTEN=0.0.0.0:8080 \
    LEAKWARDEN_ADMIN=0.0.0.0:9901
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["leakwarden", "healthcheck"]
ENTRYPOINT ["leakwarden"]
CMD ["run"]
