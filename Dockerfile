# The compiled executable in a minimal image: glibc and libgcc (which a deno compile binary needs),
# no shell, no package manager, run as the image's unprivileged user (nonroot, 65532).
#
#   deno task compile        # dist/portico, for Linux on the image's architecture
#   docker build -t portico .
#   docker run --rm -p 8000:8000 -v "$PWD/site:/srv/www:ro" portico
#
# The working directory is /srv: a site at /srv/www (mounted, or copied in by an image built
# FROM this one) is served; without one, the copy of www/ inside the binary is.
FROM gcr.io/distroless/cc-debian12:nonroot

COPY dist/portico /portico

WORKDIR /srv
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/portico", "--host", "0.0.0.0"]
