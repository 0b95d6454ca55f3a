#!/bin/sh
# The square service of the Flask example, as a CGI script for busybox
# httpd: GET /cgi-bin/square?7 answers 49.
n=${QUERY_STRING:-0}
case $n in ''|*[!0-9]*) printf 'Status: 400 Bad Request\r\n\r\nnot a number\n'; exit 0 ;; esac
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$((n * n))"
echo "$(date -u +%FT%TZ) square($n)" >>/data/requests.log
