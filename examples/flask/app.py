"""The square service of hutch's acceptance story: GET /square/7 -> 49.

Every request is appended to /data/requests.log, the bind-mounted data
folder, so the host sees what the container wrote (and that it owns it).
"""
import datetime
import os

from flask import Flask

app = Flask(__name__)
DATA = os.environ.get("DATA_DIR", "/data")


def log(line):
    try:
        with open(os.path.join(DATA, "requests.log"), "a") as f:
            f.write(f"{datetime.datetime.utcnow().isoformat()}Z {line}\n")
    except OSError:
        pass  # no data folder mounted: serve anyway


@app.route("/square/<int:n>")
def square(n):
    log(f"square({n})")
    return str(n * n)


@app.route("/health")
def health():
    return "ok"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
