# Portico container image: a static binary on a distroless base, run as a
# non-root user. Build: docker build -t portico --build-arg VERSION=v0.1.0 .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/portico ./cmd/portico

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portico /usr/local/bin/portico
# The development setup keeps its SQLite database here; production
# configurations point backend.database at PostgreSQL.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 7007
ENTRYPOINT ["/usr/local/bin/portico"]
CMD ["serve"]
