FROM python:3.6
RUN <<EOT bash
  set -ex
  apt-get update
  apt-get install -y vim
EOT
RUN <<EOT
#!/usr/bin/env python
print("hello world")
EOT
RUN python3 <<EOF > /out.txt
print(1)
EOF
