"""Fast start: the console entry point, and command groups that load their module on first use.

`glcr` runs in terminals all day, on every TAB, and in CI jobs, so start-up time is a feature:

* `glcr --version` is answered here before Typer is imported (Typer and its click copy cost
  about 40 ms; this module costs nothing beyond the interpreter).
* The root group lists its sub-commands from a table of module paths and one-line helps
  (`LazyCommand`), so `glcr --help` and completing `glcr ta<TAB>` import no command module,
  and with it no httpx, python-gitlab, rich table or re2. A module is imported only when its
  command runs, when its own `--help` is asked for, or when completion descends into it.

This module must stay free of imports at module level beyond the standard library: it is the
first thing the entry point loads. `LazyGroup` (which needs Typer) is built on first access
through the module's `__getattr__` (PEP 562).
"""

from __future__ import annotations

import sys

# Neither `typing` nor `dataclasses` at run time: together they cost ~15 ms, more than the
# rest of `glcr --version`. Annotations are strings (PEP 563) and never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Sequence


class LazyCommand:
    """A sub-command known by where it lives, not by its object.

    target: "package.module:attribute", the attribute being a `typer.Typer` (a group, or an app
        with exactly one command, which becomes a plain command) or a click command.
    help: the one line shown in `glcr --help` and in completion menus without importing the
        module. tests/cli/test_startup.py checks that it matches the loaded command's help.
    imports: modules that add commands to the target when imported (e.g. glcr.cli.plan_cmds
        adds `plan` and `apply` to the `tags` group); imported before the target is built.
    """

    __slots__ = ("target", "help", "hidden", "imports")

    def __init__(self, target: str, help: str, *, hidden: bool = False, imports: tuple[str, ...] = ()) -> None:
        self.target = target
        self.help = help
        self.hidden = hidden
        self.imports = tuple(imports)

    def __repr__(self) -> str:
        return f"LazyCommand({self.target!r}, {self.help!r})"

    def load(self, name: str) -> Any:
        """Import the target and turn it into a click command named `name`."""
        import importlib

        module_name, _, attribute = self.target.partition(":")
        for extra in self.imports:
            importlib.import_module(extra)
        obj = getattr(importlib.import_module(module_name), attribute or "app")
        return to_click(obj, name)


def to_click(obj: Any, name: str) -> Any:
    """A Typer app or click command as the click command `name`, built as `add_typer` would.

    Uses Typer's public `get_command` (a group, or a plain command when the app has exactly one
    command and no callback), so it works across Typer releases. The sub-app keeps its own
    rich_markup_mode; help texts are plain text, so they are escaped here for rich's markup.
    """
    import typer
    import typer.main

    if isinstance(obj, typer.Typer):
        obj = typer.main.get_command(obj)
        # A sub-app made with Typer's defaults carries --install-completion/--show-completion;
        # they belong to the root command only.
        obj.params = [p for p in obj.params if p.name not in ("install_completion", "show_completion")]
    obj.name = name
    escape_help(obj)
    _install_cheap_coercion(obj)
    return obj


def escape_help(command: Any) -> None:
    """Make every help text of `command` (and its sub-commands) literal under rich markup.

    glcr's help texts are plain text: `group/project[/image]` or `[default: ~/.local/...]` mean
    brackets. Under rich markup mode rich would read them as tags (a MarkupError, or text that
    silently disappears), so commands that render with rich get them escaped, once.
    """
    if getattr(command, "_glcr_escaped", False):
        return
    command._glcr_escaped = True
    if getattr(command, "rich_markup_mode", None) == "rich":
        for attribute in ("help", "epilog", "short_help"):
            text = getattr(command, attribute, None)
            if text:
                setattr(command, attribute, escape_markup(text))
        for param in getattr(command, "params", ()):
            if getattr(param, "help", None):
                param.help = escape_markup(param.help)
    for sub in getattr(command, "commands", {}).values():
        escape_help(sub)


def escape_markup(text: str) -> str:
    """rich.markup.escape without importing rich: a backslash before what rich reads as a tag."""
    import re

    def escape(match: Any) -> str:
        backslashes, tag = match.groups()
        return f"{backslashes}{backslashes}\\{tag}"

    text = re.sub(r"(\\*)(\[[a-z#/@][^[]*?])", escape, text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        text += "\\"
    return text


def lazy_group(commands: dict[str, LazyCommand]) -> type:
    """A `LazyGroup` subclass that knows these sub-commands; pass it as `typer.Typer(cls=...)`.

    Typer builds the click group itself (`cls(name=..., commands=...)`), so the table travels
    on the class.
    """
    base = __getattr__("LazyGroup")  # a bare name would not reach the module __getattr__
    return type("GlcrLazyGroup", (base,), {"lazy_commands": dict(commands)})


def main(argv: Sequence[str] | None = None) -> None:
    """The console entry point (`glcr = "glcr.cli.entry:main"`).

    `glcr --version` alone is answered without importing Typer; everything else goes to
    glcr.cli.main.main, which owns the error edge.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from glcr import __version__

        sys.stdout.write(f"glcr {__version__}\n")
        return
    try:
        from glcr.cli.main import main as run
    except KeyboardInterrupt:  # Ctrl-C while the command's modules load: nothing has started yet
        sys.stderr.write("glcr: interrupted\n")
        raise SystemExit(130) from None
    run(None if argv is None else args)


def unescape_markup(text: str) -> str:
    """The plain text of a help string escaped by `escape_markup` (for the man pages)."""
    import re

    return re.sub(r"(\\*)\\(\[[a-z#/@][^[]*?])", lambda m: m.group(1)[: len(m.group(1)) // 2] + m.group(2), text)


def _build_lazy_group() -> type:
    from difflib import get_close_matches

    from typer.core import TyperCommand, TyperGroup

    def placeholder(name: str, spec: LazyCommand) -> Any:
        """Stands in for an unloaded sub-command in help listings and completion menus."""
        # help, not short_help: the listing shortens it exactly as it shortens the real one.
        return TyperCommand(name, help=spec.help, hidden=spec.hidden, rich_markup_mode=None)

    cheap_coercion = _cheap_coercion_for_this_typer()

    class LazyGroup(TyperGroup):
        """A Typer group whose sub-commands are imported on first use.

        `get_command` loads the real command, except while the group only *lists* its
        sub-commands (its own help page, or completing a sub-command name), when a placeholder
        with the one-line help is enough.
        """

        lazy_commands: dict[str, LazyCommand] = {}

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._listing = 0

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if cheap_coercion is not None:
                for param in self.get_params(ctx):  # with -h/--help, which is added per context
                    cheap_coercion(param)
            try:
                return super().parse_args(ctx, args)
            except Exception as exc:
                # A bad value from the environment is invalid input, not a bad command line:
                # one line and exit 3 (glcr.cli.main's edge), like every other invalid input.
                invalid = _from_environment(ctx, exc)
                if invalid is None:
                    raise
                raise invalid from None

        def list_commands(self, ctx: Any) -> list[str]:
            # Eager commands first, then the lazy ones in table order, loaded or not.
            eager = [n for n in super().list_commands(ctx) if n not in self.lazy_commands]
            return eager + list(self.lazy_commands)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            command = self.commands.get(cmd_name)
            if command is not None:
                return command
            spec = self.lazy_commands.get(cmd_name)
            if spec is None:
                return None
            if self._listing:
                return placeholder(cmd_name, spec)
            command = self.commands[cmd_name] = spec.load(cmd_name)
            return command

        def resolve_command(self, ctx: Any, args: list[str]) -> Any:
            # Typer suggests "Did you mean ...?" from the loaded commands only (and older Typer
            # releases not at all): suggest from the whole table, lazy commands included.
            name = args[0] if args else ""
            if (name and not name.startswith("-") and not ctx.resilient_parsing
                    and getattr(self, "suggest_commands", True) and self.get_command(ctx, name) is None):
                matches = get_close_matches(name, self.list_commands(ctx))
                if matches:
                    ctx.fail(f"No such command {name!r}. Did you mean {', '.join(repr(m) for m in matches)}?")
            return super().resolve_command(ctx, args)

        def load_all(self) -> dict[str, Any]:
            """Every sub-command, loaded (for scripts/gen_docs.py and tests)."""
            for name in self.lazy_commands:
                self.get_command(None, name)
            return {name: self.commands[name] for name in self.list_commands(None)}

        def _listing_only(self, method: Any, *args: Any) -> Any:
            self._listing += 1
            try:
                return method(*args)
            finally:
                self._listing -= 1

        def format_help(self, ctx: Any, formatter: Any) -> None:
            return self._listing_only(super().format_help, ctx, formatter)

        def shell_complete(self, ctx: Any, incomplete: str) -> Any:
            # Completing a sub-command *name* lists; descending into a sub-command goes through
            # resolve_command, which is not wrapped and loads the real one.
            return self._listing_only(super().shell_complete, ctx, incomplete)

    return LazyGroup


def _from_environment(ctx: Any, exc: Exception) -> Exception | None:
    """glcr's InvalidInputError for a click error about a value read from an environment variable."""
    param = getattr(exc, "param", None)
    if param is None or not getattr(param, "envvar", None):
        return None
    source = ctx.get_parameter_source(param.name) if param.name else None
    if getattr(source, "name", None) != "ENVIRONMENT":
        return None
    import os

    from glcr.errors import InvalidInputError

    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
    envvar = next((n for n in names if n in os.environ), names[0])
    value = os.environ.get(envvar, "")
    message = str(getattr(exc, "message", "") or exc).rstrip(".")
    option = max(getattr(param, "opts", None) or [param.name], key=len)
    return InvalidInputError(f"{envvar}={value!r}: {message}",
                             hint=f"fix or unset {envvar}; it sets the default of {option}")


def _cheap_coercion_for_this_typer() -> Any:
    """Typer 0.2x coerces every parameter, defaults included, through a pydantic TypeAdapter:
    ~80 ms of imports (pydantic, its plugin scan) before a command runs, on every TAB inside a
    group. The usual values need none of it: None and empty lists (Typer passes them through
    unchanged), and str/int/bool/Enum values that already have the parameter's type. Returns a
    function that installs such a direct coercion on a parameter, building Typer's own the first
    time a value needs it; or None on Typer releases without that machinery (they convert
    through click's types, which cost nothing).
    """
    if "coercion" in _built:
        return _built["coercion"]
    try:
        from typer._coercion import build_runtime_param
    except ImportError:
        _built["coercion"] = None
        return None
    import types
    import typing
    from enum import Enum

    class Deferred:
        """A direct coercion for the trivial cases; Typer's pydantic one for the rest."""

        def __init__(self, base: type | None) -> None:
            self.base = base

        def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
            multi = param.multiple or param.nargs == -1
            if value is None:
                return () if multi else None
            if multi and isinstance(value, (list, tuple)) and not value:
                return []
            base = self.base
            if base is not None and (type(value) is base or (issubclass(base, Enum) and isinstance(value, base))):
                low, high = getattr(param, "min", None), getattr(param, "max", None)
                in_range = not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
                if in_range:
                    return value
            param._runtime_param = build_runtime_param(param.type_descriptor)
            return param._runtime_param.coerce(value, param=param, ctx=ctx)

    def install(param: Any) -> None:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", 0) is not None:
            return  # not a Typer parameter, or its coercion is already built
        try:
            plain = not (descriptor.is_file or descriptor.is_list or descriptor.is_tuple
                         or getattr(descriptor.parameter_info, "clamp", False))
            base = descriptor.annotation
        except AttributeError:
            return  # a Typer release whose descriptor looks otherwise: keep its own coercion
        options = typing.get_args(base)
        if typing.get_origin(base) in (typing.Union, types.UnionType) and len(options) == 2 and type(None) in options:
            base = next(o for o in options if o is not type(None))
        direct = plain and isinstance(base, type) and (base in (str, int, bool) or issubclass(base, Enum))
        param._runtime_param = Deferred(base if direct else None)

    _built["coercion"] = install
    return install


def _install_cheap_coercion(command: Any) -> None:
    """The cheap coercion on every parameter of `command` and its sub-commands, including the
    help option, which click makes per context (hence through `get_params`)."""
    install = _cheap_coercion_for_this_typer()
    if install is None or not hasattr(command, "get_params"):
        return
    get_params = command.get_params

    def get_params_cheaply(ctx: Any) -> list[Any]:
        params = get_params(ctx)
        for param in params:
            install(param)
        return params

    command.get_params = get_params_cheaply
    for sub in getattr(command, "commands", {}).values():
        _install_cheap_coercion(sub)


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name == "LazyGroup":
        if name not in _built:
            _built[name] = _build_lazy_group()
        return _built[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
