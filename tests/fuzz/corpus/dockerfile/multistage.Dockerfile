FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app

FROM build AS test
RUN go test ./...

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
COPY --from=0 /etc/ssl/certs /etc/ssl/certs
COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf
ENTRYPOINT ["/app"]
