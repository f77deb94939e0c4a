"""The application object each command receives through `ctx.obj` (no globals)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Awaitable, Callable, Iterator, Mapping, TypeVar

import typer

from glcr.errors import AbortedError, GlcrError
from glcr.settings import Settings

T = TypeVar("T")


class Interrupted(GlcrError):
    """Ctrl-C during journaled work. The journal holds every finished outcome; the hint says
    which command finishes the rest."""

    exit_code = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C


class AppContext:
    """The run's frozen Settings, its environment, and the helpers every command shares."""

    def __init__(self, settings: Settings | None = None, *, env: Mapping[str, str] | None = None,
                 **fields: Any) -> None:
        """AppContext(settings) or AppContext(url=..., token=..., jobs=...) (fields of Settings)."""
        self.env = dict(os.environ if env is None else env)
        self.settings = replace(settings or Settings(), env=self.env, **fields)
        self._session: Any = None
        self._session_settings: Any = None
        self._runner: Any = None

    # Read-only views of the settings, for commands that only read one value.
    url = property(lambda self: self.settings.url)
    token = property(lambda self: self.settings.token)
    gitlab_section = property(lambda self: self.settings.gitlab_section)
    jobs = property(lambda self: self.settings.jobs)
    registry_jobs = property(lambda self: self.settings.registry_jobs)
    debug = property(lambda self: self.settings.debug)
    insecure_registry = property(lambda self: self.settings.insecure_registry)

    def credentials(self, *, require: bool = True):
        from glcr.credentials import CredentialRequest, require_token, resolve

        settings = self.settings
        creds = resolve(CredentialRequest(token_flag=settings.token, url_flag=settings.url,
                                          config_section=settings.gitlab_section, insecure=settings.insecure),
                        self.env)
        return require_token(creds) if require else creds

    def run(self, work: Callable[[Any], Awaitable[T]], *, settings: Settings | None = None,
            require_token: bool = True, http: Any = None) -> T:
        """Run async work on this command's one Session and event loop.

        Both are made on first use and stay open until `close` (called when the command ends),
        so a command that reads, asks for confirmation, then deletes uses one set of connections,
        one registry token cache and one lookup of the user. `settings` (a command's own copy,
        e.g. another --jobs), `require_token` and `http` (a command's own HTTP policy, see
        Session) apply to that first use; a later call may not ask for others.
        """
        import asyncio

        wanted = (settings or self.settings, require_token, http)
        if self._session is None:
            from glcr.session import Session

            self._session = Session(self.credentials(require=require_token), wanted[0], http=http)
            self._session.memo.say = self.note
            self._session_settings = wanted
        elif wanted != self._session_settings:
            raise ValueError("one session per command: every run() of it takes the same settings")
        if self._runner is None:
            self._runner = asyncio.Runner()
        session = self._session

        async def runner() -> T:
            from glcr.transport.concurrency import end_strays

            try:
                return await work(session)
            finally:
                # Ctrl-C cancels this task only; a task the work started and left behind would
                # run on, or fail unseen, while the journal and the session close.
                await end_strays()

        loop = self._runner.get_loop()
        main = runner()
        try:
            return self._runner.run(main)
        except asyncio.CancelledError:
            # The Runner answers Ctrl-C with KeyboardInterrupt only when the task's cancel count
            # comes back to 0; a cancellation that reaches here is that Ctrl-C all the same.
            raise KeyboardInterrupt from None
        finally:
            import inspect

            # Ctrl-C before the Runner made a task of it: close it, or Python warns at exit that
            # it was "never awaited". (A task that holds it is cancelled when the loop closes.)
            if inspect.getcoroutinestate(main) == inspect.CORO_CREATED and \
                    not any(t.get_coro() is main for t in asyncio.all_tasks(loop)):
                main.close()

    def close(self) -> None:
        """Close the command's session and event loop (a no-op when nothing ran).

        Ctrl-C while closing (milliseconds: sockets close, nothing is sent) waits for the close,
        then counts: when the command is already ending with an error (Ctrl-C in the work
        gives `Interrupted`, which names the resume command), that error stays the answer;
        otherwise the command ends as interrupted. A second Ctrl-C stops the close at once.
        """
        runner, session = self._runner, self._session
        self._runner = self._session = None
        if runner is None:
            return
        # Called from the root context's exit: the error ending the command, if any (click ends
        # a command that succeeded with Exit(0)).
        ending = sys.exc_info()[1]
        if isinstance(ending, typer.Exit) and not ending.exit_code:
            ending = None
        with _ctrl_c_deferred() as pressed:
            try:
                if session is not None:
                    runner.run(session.__aexit__(None, None, None))
            except Exception:
                if ending is None:
                    raise
                # A client that fails to close after the work failed must not hide why it failed.
            finally:
                runner.close()
        if pressed and ending is None:
            raise KeyboardInterrupt

    def command_line(self, *args: object) -> str:
        """`glcr ARGS...` as a shell would need it, with this run's --url/--gitlab (never a token)."""
        import shlex

        parts = ["glcr"]
        if self.settings.url:
            parts += ["--url", self.settings.url]
        if self.settings.gitlab_section:
            parts += ["--gitlab", self.settings.gitlab_section]
        return shlex.join(parts + [str(a) for a in args if a is not None and a is not False])

    @contextmanager
    def resumable(self, *resume_args: object, journal: object = None) -> Iterator[None]:
        """Turn Ctrl-C inside into `Interrupted` naming the command that resumes (`glcr RESUME_ARGS`).

        The event loop cancels the running work first, so journal writers close on the way out.
        `journal`: its path; or, for work that starts journaling part-way through, a function that
        gives it, None before that (a plain Ctrl-C then: there is nothing to resume). A single
        callable RESUME_ARGS is asked for the arguments likewise.
        """
        try:
            yield
        except KeyboardInterrupt:
            if callable(journal):
                journal = journal()
                if journal is None:
                    raise
            if len(resume_args) == 1 and callable(resume_args[0]):
                resume_args = tuple(resume_args[0]())
            kept = f"; the journal {journal} keeps every finished step" if journal else ""
            raise Interrupted(f"interrupted{kept}",
                              hint=f"resume with: {self.command_line(*resume_args)}") from None

    def stderr(self):
        from rich.console import Console

        return Console(stderr=True, highlight=False, no_color="NO_COLOR" in self.env)

    def say(self, message: str) -> None:
        """A message to stderr, printed as it is (paths and regexes may hold `[`)."""
        self.stderr().print(message, markup=False)

    def note(self, message: str) -> None:
        """`note: ...` to stderr, as it is: what the library says once per run (SessionMemo.say)."""
        sys.stderr.write(f"note: {message}\n")

    def warn(self, message: object) -> None:
        """`warning: ...` to stderr; the message is text, not markup."""
        from rich.markup import escape

        self.stderr().print(f"[yellow]warning:[/yellow] {escape(str(message))}")

    def confirm(self, question: str, yes: bool) -> None:
        """Ask on a terminal; refuse in scripts unless --yes was given. Nothing changes on 'no'."""
        if yes:
            return
        if not sys.stdin.isatty():
            raise AbortedError("refusing to change anything without confirmation",
                               hint="stdin is not a terminal: pass --yes to confirm in scripts")
        try:
            with _ctrl_c_interrupts():
                answer = typer.confirm(question, default=False, err=True)
        except typer.Abort:  # Ctrl-C or end of input at the prompt: a "no"
            answer = False
        if not answer:
            raise AbortedError("nothing changed")


@contextmanager
def _ctrl_c_interrupts() -> Iterator[None]:
    """Python's own Ctrl-C handling while a prompt waits, also inside `AppContext.run`: the event
    loop's handler only asks the task to stop at its next await, which a prompt blocked in
    input() never reaches, so the first Ctrl-C would go unnoticed until Enter."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _ctrl_c_deferred() -> Iterator[list[int]]:
    """Record a first Ctrl-C instead of raising it (the list it gives is not empty then); a
    second raises KeyboardInterrupt at once. asyncio.Runner keeps a handler it finds installed,
    so this also covers event loops run inside."""
    import signal
    import threading

    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def handler(signum: int, frame: object) -> None:
        pressed.append(signum)
        if len(pressed) > 1:
            raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def app_context(ctx: typer.Context) -> AppContext:
    """The run's AppContext (made here when a command group runs without glcr's root); its
    session closes when the root context does."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):
        obj = root.obj = AppContext()
        root.call_on_close(obj.close)
    return obj
