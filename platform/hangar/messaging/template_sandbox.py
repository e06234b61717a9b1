"""Rendering a tenant's message templates: Django's template language, and nothing else of the platform.

A template is written by a tenant, so it is rendered by an ``Engine`` of its own: no loaders (no
``{% include %}`` or ``{% extends %}`` can read a file of the project), no tag libraries (no
``{% load %}``), no context processors (``{{ settings }}``, ``{{ request }}`` do not exist: a
template sees only the context it is given), and the built-in tags and filters minus the ones
that reach outside the context (``debug`` prints ``sys.modules``, ``url`` the project's routes)
or can make one small template produce gigabytes (``center``/``ljust``/``rjust`` with a huge
width). Loops share an iteration budget, so nested ``{% for %}`` over a large context ends
with an error instead of a worker pinned for minutes. HTML is autoescaped; text is not.
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Engine, Library, Node, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Parser, Token
from django.template.defaulttags import ForNode
from django.template.exceptions import TemplateDoesNotExist

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
MAX_LOOP_ITERATIONS = 10_000
_BUDGET_KEY = "hangar_loop_iterations"
_LEFT_OUT_TAGS = {"debug", "url", "load", "csrf_token", "now"}  # ``now`` would read settings.TIME_ZONE
_LEFT_OUT_FILTERS = {"center", "ljust", "rjust", "pprint"}


class TemplateRenderError(Exception):
    """A template that does not parse or render; the message says why, for the template's author."""


class _BudgetedForNode(ForNode):
    """``{% for %}`` that counts its iterations against one budget for the whole render."""

    def render(self, context: Context) -> str:
        values = self.sequence.resolve(context, ignore_failures=True)  # type: ignore[union-attr]
        count = len(values) if hasattr(values, "__len__") else 0
        spent = int(context.render_context.get(_BUDGET_KEY) or 0) + count
        if spent > MAX_LOOP_ITERATIONS:
            raise TemplateRenderError(f"the template loops more than {MAX_LOOP_ITERATIONS} times")
        context.render_context[_BUDGET_KEY] = spent
        return str(super().render(context))


register = Library()
for _name, _tag in defaulttags.register.tags.items():
    if _name not in _LEFT_OUT_TAGS:
        register.tags[_name] = _tag
for _name, _filter in defaultfilters.register.filters.items():
    if _name not in _LEFT_OUT_FILTERS:
        register.filters[_name] = _filter


@register.tag("for")
def _for(parser: Parser, token: Token) -> Node:
    node = defaulttags.do_for(parser, token)
    node.__class__ = _BudgetedForNode
    return node


class _SandboxEngine(Engine):
    default_builtins = ["hangar.messaging.template_sandbox"]


def _engine(*, autoescape: bool) -> Engine:
    return _SandboxEngine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=autoescape, debug=False)


_TEXT_ENGINE = _engine(autoescape=False)
_HTML_ENGINE = _engine(autoescape=True)


def template_check(source: str, *, html: bool = False) -> None:
    """Raise TemplateRenderError when ``source`` is not a template this sandbox accepts."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateRenderError(f"a template is at most {MAX_TEMPLATE_CHARS} characters")
    try:
        (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(source)
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise TemplateRenderError(str(exc)) from exc


def template_render(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Render one template with only ``context``; TemplateRenderError for a bad template or one that runs away."""
    template_check(source, html=html)
    engine = _HTML_ENGINE if html else _TEXT_ENGINE
    try:
        output = engine.from_string(source).render(Context(dict(context), autoescape=html))
    except TemplateRenderError:
        raise
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise TemplateRenderError(str(exc)) from exc
    except (ValueError, TypeError, ArithmeticError, AttributeError, LookupError) as exc:
        # A filter given a value it cannot take (``{{ x|divisibleby:0 }}``): the author's mistake, not ours.
        raise TemplateRenderError(f"the template failed to render: {exc}") from exc
    if len(output) > MAX_OUTPUT_CHARS:
        raise TemplateRenderError(f"the rendered message is longer than {MAX_OUTPUT_CHARS} characters")
    # Django marks a render "safe" (SafeString); a tenant's output is data to every page that shows it
    # (the dashboard's preview), so it leaves here as a plain str that those pages escape.
    return str.__str__(output)
