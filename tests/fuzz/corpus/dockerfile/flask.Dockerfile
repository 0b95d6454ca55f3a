# syntax=docker/dockerfile:1
FROM localhost:5000/debian:12
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-flask && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY app.py .
EXPOSE 5000
ENV FLASK_APP=app.py
CMD ["python3", "-m", "flask", "run", "--host=0.0.0.0"]
