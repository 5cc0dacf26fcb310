"""The default customer notifier: renders the notification's Jinja template in the order's
language and records the e-mail as a `notification.email` outbox message, in the transaction of
the action that notified (SPEC §9). Sending is someone else's job, after commit: the relay
publishes the message to the broker, or the `smtp_notifier` plugin sends it.

Templates are `templates/<language>/<name>.txt` beside this module. A deployment puts its own
first with the option `templates`, a folder of the same shape::

    plugins:
      outbox_notifier: {templates: /etc/postsales/mail, default_language: en}

A template has two blocks, `subject` and `body`. Its variables are the action's data (for
`order_shipped`: `carrier`, `tracking_number`, `tracking_link`) plus `order_id`,
`customer_name`, `to`, `language`, `sales_channel`, `currency`, `template` and `subject` (the
action's English default). The order's language is tried first (`de_DE`), then its first part
(`de`), then `default_language`; a name without a file in any of them uses `generic.txt`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from postsales.core import EMAIL, ConfigError, Notification, Notifier, hookimpl

PLUGIN = "outbox_notifier"
BUILT_IN = Path(__file__).resolve().parent / "templates"
OPTIONS = ("templates", "default_language")
GENERIC = "generic"

if TYPE_CHECKING:
    import jinja2


@attrs.frozen
class Email:
    subject: str
    body: str
    language: str  # the language of the template used


class Renderer:
    """Finds and renders a notification's template; one per plugin manager (no globals).

    Jinja is imported, and each template compiled, on first use: a command that sends no
    e-mail does not pay for 27 templates (issue 18 item 1). `check_all` compiles them all at
    once; `postsales config check`, the web app and the consumer call it at start-up.
    """

    def __init__(self, folders: list[Path], default_language: str) -> None:
        self.default_language = default_language
        self.folders = folders
        self._env: jinja2.Environment | None = None

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2

            self._env = jinja2.Environment(
                loader=jinja2.FileSystemLoader([str(f) for f in self.folders]),
                autoescape=False,  # plain-text e-mail
                keep_trailing_newline=True,
                trim_blocks=True,
                lstrip_blocks=True,
                # Templates are part of the deployment; checking each file's mtime on every
                # render is a stat per template per message for nothing. Restart to pick up
                # edits.
                auto_reload=False,
            )
        return self._env

    def languages(self, language: str) -> list[str]:
        tried = [language, language.split("_")[0].split("-")[0], self.default_language]
        return list(dict.fromkeys(t for t in tried if t))

    def find(self, name: str, language: str) -> tuple[jinja2.Template, str]:
        import jinja2

        for candidate in (name, GENERIC):
            for lang in self.languages(language):
                path = f"{lang}/{candidate}.txt"
                try:
                    return self.env.get_template(path), lang
                except jinja2.TemplateNotFound:
                    continue
                except jinja2.TemplateSyntaxError as exc:
                    raise ConfigError([_syntax_error(path, exc)]) from None
        raise ConfigError([f"{PLUGIN}: no template {name!r} nor {GENERIC!r} for {language!r}"])

    def render(self, n: Notification) -> Email:
        template, lang = self.find(n.template, n.language)
        variables = {
            **n.data,
            "order_id": n.order_id,
            "customer_name": n.customer_name,
            "to": n.to,
            "language": n.language,
            "sales_channel": n.sales_channel,
            "template": n.template,
            "subject": n.subject,
            "currency": n.currency,
            "data": n.data,
        }
        context = template.new_context(variables)
        subject = (
            "".join(template.blocks["subject"](context)) if "subject" in template.blocks else ""
        )
        body = "".join(template.blocks["body"](context)) if "body" in template.blocks else ""
        # One line, as a mail header must be.
        subject = " ".join(subject.split()) or n.subject
        return Email(subject=subject, body=body.strip() + "\n", language=lang)

    def check_all(self) -> None:
        """Compile every template now, so a syntax error stops start-up, not an action."""
        import jinja2

        problems = []
        for name in self.env.list_templates(extensions=["txt"]):
            try:
                self.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(_syntax_error(name, exc))
        if problems:
            raise ConfigError(problems)


def _syntax_error(name: str, exc: jinja2.TemplateSyntaxError) -> str:
    return f"{PLUGIN}: template {name} line {exc.lineno}: {exc.message}"


def make_renderer(options: Mapping[str, Any]) -> Renderer:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = ", ".join(OPTIONS)
        raise ConfigError([f"unknown option {unknown[0]!r} @ $.plugins.{PLUGIN} (known: {known})"])
    folders = [BUILT_IN]
    if options.get("templates"):
        custom = Path(str(options["templates"])).expanduser()
        if not custom.is_dir():
            raise ConfigError([f"{PLUGIN}: templates folder {custom} does not exist"])
        folders.insert(0, custom)
    return Renderer(folders, str(options.get("default_language") or "en"))


def payload(n: Notification, email: Email) -> dict[str, Any]:
    """The `notification.email` payload: who, what was rendered, and the data it came from."""
    return {
        "order_id": n.order_id,
        "to": n.to,
        "customer_name": n.customer_name,
        "language": n.language,
        "template": n.template,
        "template_language": email.language,
        "currency": n.currency,
        "subject": email.subject,
        "body": email.body,
        # JSON-safe whatever an outside action passed (amounts are strings already).
        "data": json.loads(json.dumps(dict(n.data), default=str)),
    }


@hookimpl
def postsales_register_notifiers(settings: Any) -> list[Notifier]:
    renderer = make_renderer(settings.plugin_options(PLUGIN))

    def record(notification: Notification, order: Any, ctx: Any) -> None:
        ctx.emit(EMAIL, payload(notification, renderer.render(notification)), order=order)

    return [
        Notifier(
            name="outbox",
            record=record,
            check=renderer.check_all,
            description="Renders the e-mail and records it as notification.email in the outbox.",
        )
    ]
