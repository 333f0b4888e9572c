"""Central server processes for the kill -9 sync suite (``test_server_kill.py``).

``python server_zygote.py DATABASE_URL PORT`` imports the server stack once (about 2 s, more
than a whole kill cycle), says ``ready``, then for each ``start`` forks a fresh server process:
uvicorn serving ``sync.server.app.create_app`` on 127.0.0.1:PORT with its own engine, exactly
what ``madoguchi server run`` builds (answering ``started PID``). ``wait PID`` reaps one
(``status PID EXITCODE``); ``quit`` ends. The test kills the servers with SIGKILL itself.
Nothing that opens a connection or a thread runs before a fork.
"""

from __future__ import annotations

import os
import sys
import traceback

import uvicorn

from sync.server.app import create_app
from sync.server.db import make_engine, require_migrated


def say(*words: object) -> None:
    print(*words, flush=True)


def serve(database_url: str, port: int) -> None:
    engine = make_engine(database_url)
    require_migrated(engine)
    app = create_app(database_url, engine=engine)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def fork_server(database_url: str, port: int) -> int:
    """Fork one server process; the child never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        serve(database_url, port)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def warm_up() -> None:
    """Import what building the app and starting uvicorn import lazily (0.8 s a start):
    an app over an engine that never connects, and uvicorn's loop and protocol classes."""
    app = create_app("sqlite://", engine=make_engine("sqlite://"))
    uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning").load()


def main() -> int:
    database_url, port = sys.argv[1], int(sys.argv[2])
    warm_up()
    say("ready")
    for line in sys.stdin:
        words = line.split()
        if words[0] == "start":
            say("started", fork_server(database_url, port))
        elif words[0] == "wait":
            _, status = os.waitpid(int(words[1]), 0)
            say("status", words[1], os.waitstatus_to_exitcode(status))
        else:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
