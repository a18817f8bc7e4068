"""A visitor of the app without a browser: Streamlit's own websocket protocol, for load tests.

A browser loads the page over HTTP, opens `ws://host/_stcore/stream` and sends `BackMsg` protobufs; the server
answers with `ForwardMsg`s (a new session, one delta per element, the end of each script run). `Visitor` does
the same in a few kilobytes of Python instead of a Chromium tab, so that a load test measures the server:

    visitor = Visitor("http://127.0.0.1:8501")
    await visitor.open("Training_lab", "lab_seed=3")        # the page drawn, like a deep link
    await visitor.press("Run")                                # the button clicked, its rerun finished
    visitor.metrics["Steps"], visitor.metrics["Loss"]         # what the page now shows

What it does as the frontend does (streamlit's `frontend/app/src/App.tsx` and `WidgetStateManager.ts`): the
first rerun request names the page and carries the query string; a click sends the button's trigger value in
`widget_states` with the `fragment_id` of the fragment that drew it (a fragment's button reruns only the
fragment); an `auto_rerun` message (a fragment with `run_every`, the lab's Play) starts a timer that asks for
the fragment's rerun every interval with `is_auto_rerun`, until `stop_auto_rerun` or a full run starts; the
query string the app writes (`page_info_changed`) goes with every later request; the hashes of cacheable
messages it holds go back with every request, and a `ref_hash` message is resolved from that cache. Widgets it
did not touch are not sent: the server keeps their values from the previous run.

Behind a load balancer it first loads the page over HTTP, keeps the cookies it is given (the balancer's sticky
cookie) and sends them with the websocket handshake, as a browser does; `replica` is the `X-Replica` header of
the handshake's answer where the balancer adds one (scripts/serve_replicas.py does).
"""

from __future__ import annotations

import asyncio
import collections
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

FRAGMENT_DONE = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
SCRIPT_DONE = ForwardMsg.FINISHED_SUCCESSFULLY


@dataclass
class Widget:
    id: str
    kind: str
    label: str
    fragment_id: str
    disabled: bool


@dataclass
class Visitor:
    url: str  # http://host:port of the app (or of the balancer in front of it)
    cookies: dict[str, str] = field(default_factory=dict)
    replica: str | None = None
    session_id: str = ""
    page_hash: str = ""
    query: str = ""
    page: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # by label
    metrics: dict[str, str] = field(default_factory=dict)  # by label: the value shown
    exceptions: list[str] = field(default_factory=list)  # a traceback drawn on the page
    runs_finished: int = 0  # script or fragment runs that ended successfully
    updates: list[tuple[float, str, str]] = field(default_factory=list)  # (time, Steps, Loss) when a run drew both
    _fresh: set = field(default_factory=set)  # metrics drawn since the last run ended
    recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=200))  # (time, message kind)
    _ws: object = None
    _reader: asyncio.Task | None = None
    _timers: dict[str, asyncio.Task] = field(default_factory=dict)
    _cache: dict[str, tuple[ForwardMsg, int]] = field(default_factory=dict)  # hash: (message, run last used)
    _max_age: int = 2
    _finished: asyncio.Condition | None = None
    _closed: bool = False

    async def open(self, page: str, query: str = "", timeout: float = 300) -> None:
        """Load `/page?query` as a browser does and wait until its first run has finished."""
        self.page, self.query = page, query
        await asyncio.to_thread(self._http_get, f"/{page}" + (f"?{query}" if query else ""))
        await self._connect()
        await self._rerun(page_name=page)
        await self.wait_runs(1, timeout)

    async def reconnect(self, timeout: float = 300) -> None:
        """Drop the websocket and open a new one that asks for the same session (as the frontend does after a
        network blip): the server keeps a disconnected session for a while, in the process that holds it."""
        await self._close_socket()
        runs = self.runs_finished
        await self._connect(existing=self.session_id)
        await self._rerun()
        await self.wait_runs(runs + 1, timeout)

    async def press(self, label: str, timeout: float = 300) -> float:
        """Click a button and wait until the rerun it asked for has finished; returns the seconds it took."""
        widget = self.widgets[label]
        if widget.disabled:
            raise RuntimeError(f"{label!r} is disabled")
        runs = self.runs_finished
        start = time.perf_counter()
        await self._rerun(trigger=widget.id, fragment_id=widget.fragment_id)
        await self.wait_runs(runs + 1, timeout)
        return time.perf_counter() - start

    async def wait_runs(self, count: int, timeout: float = 300) -> None:
        """Wait until `count` runs in all have finished."""
        async with self._finished:
            await asyncio.wait_for(self._finished.wait_for(lambda: self.runs_finished >= count or self._closed),
                                   timeout)
        if self.runs_finished < count:
            raise ConnectionError("the server closed the connection")

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self._close_socket()

    # -- the protocol ---------------------------------------------------------------------------------------

    def _http_get(self, path: str) -> None:
        request = urllib.request.Request(self.url + path, headers=self._cookie_header())
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            self._keep_cookies(answer.headers.get_all("Set-Cookie") or [])

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            jar = SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})

    async def _connect(self, existing: str = "") -> None:
        # The frontend's subprotocols: "streamlit", an auth token (a placeholder without one), the session to resume.
        protocols = ["streamlit", self.cookies.get("_streamlit_xsrf", "PLACEHOLDER_AUTH_TOKEN")] + ([existing] if existing else [])
        ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/_stcore/stream"
        self._ws = await connect(ws_url, subprotocols=protocols, additional_headers=self._cookie_header(),
                                 max_size=None, open_timeout=120, ping_interval=None)
        self.replica = self._ws.response.headers.get("X-Replica", self.replica)
        self._keep_cookies(self._ws.response.headers.get_all("Set-Cookie"))
        self._closed = False
        if self._finished is None:
            self._finished = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _close_socket(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self._ws = self._reader = None

    async def _rerun(self, trigger: str = "", fragment_id: str = "", page_name: str = "", auto: bool = False) -> None:
        self.recent.append((time.perf_counter(), f"sent rerun {'auto' if auto else trigger[-12:]} {fragment_id[:6]}"))
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        if self.page_hash and not page_name:
            state.page_script_hash = self.page_hash
        else:
            state.page_name = page_name or self.page
        if trigger:
            widget = state.widget_states.widgets.add()
            widget.id = trigger
            widget.trigger_value = True
        if fragment_id:
            state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.cached_message_hashes.extend(self._cache)
        await self._ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                await self._handle(msg)
        except Exception:  # noqa: BLE001 - a dropped connection ends the reader; waiters are told below
            pass
        finally:
            self._closed = True
            if self._finished is not None:
                async with self._finished:
                    self._finished.notify_all()

    async def _handle(self, msg: ForwardMsg) -> None:
        if msg.WhichOneof("type") == "ref_hash":
            if msg.ref_hash not in self._cache:  # forgotten after the request listed it: cannot happen by design
                self.recent.append((time.perf_counter(), f"unknown ref_hash {msg.ref_hash}"))
                return
            msg = self._cache[msg.ref_hash][0]
        if msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = (msg, self.runs_finished)
        kind = msg.WhichOneof("type")
        if kind != "delta":
            self.recent.append((time.perf_counter(), kind if kind != "script_finished" else f"finished {msg.script_finished}"))
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            self._max_age = msg.new_session.config.max_cached_message_age or self._max_age
            if not msg.metadata.run.fragment_ids:  # a full run: its fragments ask for their timers again
                for timer in self._timers.values():
                    timer.cancel()
                self._timers.clear()
        elif kind == "page_info_changed":  # the app wrote the address bar: later requests carry it
            self.query = msg.page_info_changed.query_string
        elif kind == "navigation":  # the page that ran: later reruns name it by its hash, as the frontend does
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, msg.delta.fragment_id)
        elif kind == "auto_rerun":
            fragment = msg.auto_rerun.fragment_id
            if fragment not in self._timers:
                self._timers[fragment] = asyncio.create_task(self._timer(fragment, msg.auto_rerun.interval))
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                if (timer := self._timers.pop(fragment, None)) is not None:
                    timer.cancel()
        elif kind == "script_finished" and {"Steps", "Loss"} <= self._fresh:
            # What a browser now shows: both numbers of this run arrived. A run whose end message was still
            # queued when the next run started is reported FINISHED_EARLY_FOR_RERUN, but its drawn elements were
            # sent and stay on screen; one whose elements were dropped before they were sent counts for nothing.
            self.updates.append((time.perf_counter(), self.metrics.get("Steps", ""), self.metrics.get("Loss", "")))
        if kind == "script_finished":
            self._fresh.clear()
        if kind == "script_finished" and msg.script_finished in (SCRIPT_DONE, FRAGMENT_DONE):
            async with self._finished:
                self.runs_finished += 1
                # The frontend forgets cached messages no run has used for max_cached_message_age runs.
                self._cache = {h: e for h, e in self._cache.items() if self.runs_finished - e[1] <= self._max_age + 1}
                self._finished.notify_all()

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "metric":
            self.metrics[element.metric.label] = element.metric.body
            self._fresh.add(element.metric.label)
        elif kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind in ("button", "number_input", "slider", "selectbox", "checkbox", "text_input"):
            body = getattr(element, kind)
            self.widgets[body.label] = Widget(body.id, kind, body.label, fragment_id, bool(body.disabled))

    async def _timer(self, fragment_id: str, interval: float) -> None:
        """The frontend's setInterval for a fragment's run_every: a rerun request every interval, whether or not
        the previous one has finished (the server folds requests that arrive while one is pending)."""
        while True:
            await asyncio.sleep(interval)
            if self._ws is None:
                return
            try:
                await self._rerun(fragment_id=fragment_id, auto=True)
            except Exception:  # noqa: BLE001 - the socket closed: the timer ends with it
                return
