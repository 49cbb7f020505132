"""The ceiling: a bare Flask "hello world" served under the same gunicorn settings as the app."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
