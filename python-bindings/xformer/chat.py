"""Chat templates rendered as Hugging Face renders them.

Pure Python (Jinja2 only): `xformer.chat_prompt` uses it, and xformer-serve
embeds this file to render /v1/chat/completions requests with the same
code."""

import datetime
import json


def chat_prompt(template, messages, add_generation_prompt=True, bos_token="", eos_token="",
                **variables):
    """A chat rendered by its Jinja template (a model's chat_template), as
    Hugging Face renders it: Jinja2's sandbox, trim_blocks and
    lstrip_blocks, the loop controls, raise_exception, a tojson that keeps
    non-ASCII text, strftime_now. Raises jinja2's TemplateError where the
    template does."""
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    return env.from_string(template).render(messages=messages,
                                            add_generation_prompt=add_generation_prompt,
                                            bos_token=bos_token, eos_token=eos_token, **variables)


def render_json(template, request_json):
    """chat_prompt over a JSON request {"messages", "add_generation_prompt",
    "bos_token", "eos_token"}: the rendered text, or raises ValueError with
    the template's message (the server's entry point)."""
    import jinja2
    r = json.loads(request_json)
    try:
        return chat_prompt(template, r["messages"], r.get("add_generation_prompt", True),
                           r.get("bos_token", ""), r.get("eos_token", ""))
    except jinja2.exceptions.TemplateError as e:
        raise ValueError("the chat template failed: %s" % e) from None
