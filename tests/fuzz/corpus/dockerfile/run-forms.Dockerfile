FROM debian
RUN apt-get update
RUN ["/bin/bash", "-c", "echo hello"]
RUN [ "echo", "spaced" ]
RUN [ -f /etc/os-release ] && cat /etc/os-release
RUN ["c:\\windows\\system32\\tasklist.exe"]
RUN --mount=type=cache,target=/root/.cache --mount=type=bind,source=.,target=/src pip install .
RUN --network=none --security=insecure make
RUN --network=host --device=nvidia.com/gpu=all nvidia-smi
RUN --mount="type=secret,id=token" cat /run/secrets/token
RUN -- --not-a-flag
