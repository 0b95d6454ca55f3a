FROM scratch
FROM debian:12
FROM registry.example.org:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
FROM --platform=linux/arm64 alpine:3.19 AS Builder
from ubuntu as runner
FROM --platform=$BUILDPLATFORM golang:1.22 AS cross
