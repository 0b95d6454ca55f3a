FROM alpine
ARG FOO=bar
COPY <<EOF greeting.txt
hello world
EOF
COPY <<-EOT /script.sh
	echo "hello ${FOO}" 'single $FOO' \$escaped
EOT
COPY --chmod=755 <<A <<B /bin/
#!/bin/sh
echo a
A
#!/bin/sh
echo b
B
ENTRYPOINT ash /script.sh
