FROM nginx
HEALTHCHECK NONE
HEALTHCHECK --interval=5m --timeout=3s \
  CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m30s --start-interval=500ms --retries=5 CMD ["curl", "-f", "http://localhost/"]
healthcheck cmd /bin/check-running
