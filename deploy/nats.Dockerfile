# nats-server built from the nats-server/v2 module winnow depends on, on an
# empty base, non-root; natsprobe is its shell-less health check.
FROM scratch
COPY nats-server /nats-server
COPY natsprobe /natsprobe
COPY --chown=65532:65532 data/ /data/
USER 65532:65532
VOLUME /data
EXPOSE 4222 6222 8222
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 CMD ["/natsprobe"]
ENTRYPOINT ["/nats-server"]
