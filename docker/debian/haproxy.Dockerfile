# HAProxy 2.6 from Debian's packages, for machines without an image registry.
ARG BASE_IMAGE=localhost/strangler-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        haproxy >/dev/null && rm -rf /var/lib/apt/lists/* && mkdir -p /usr/local/etc/haproxy
USER haproxy
