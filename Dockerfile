# Dockerfile - the suite in a container: a Debian bookworm build stage, then a slim
# runtime stage with only the shared libraries the tools link against (apt brings
# their own dependencies).  compose.yml runs one container per source.
#
#   docker build -t electron-microscopy-ingest .
#   docker run --rm -v "$PWD/data:/work/data" -v "$PWD/logs:/work/logs" \
#       electron-microscopy-ingest em-ingest idr
FROM debian:bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends build-essential pkg-config libcurl4-openssl-dev libtiff-dev \
	libjansson-dev libyaml-dev zlib1g-dev libzstd-dev libblosc-dev liblz4-dev libdeflate-dev libisal-dev \
	libssl-dev libpcre2-dev libxml2-dev libmicrohttpd-dev libjpeg62-turbo-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# PREFIX on both lines: the tools find the schema and the configuration under the
# install prefix, which is compiled in.
RUN make clean && make -j"$(nproc)" PREFIX=/usr WERROR= \
	&& make install PREFIX=/usr DESTDIR=/out

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends ca-certificates libcurl4 libtiff6 libjansson4 libyaml-0-2 \
	zlib1g libzstd1 libblosc1 liblz4-1 libdeflate0 libisal2 libssl3 libpcre2-8-0 libxml2 \
	libmicrohttpd12 libjpeg62-turbo \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
WORKDIR /work
ENV EM_CONFIG=/usr/share/electron-microscopy-ingest/config/config.yaml
VOLUME ["/work/data", "/work/logs"]
CMD ["em-ingest"]
