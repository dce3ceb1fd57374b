"""One LLM-written section: run a prompt, and record the result or why there is none."""

from __future__ import annotations

from digest.llm.client import ContextOverflow, LLMClient, LLMError
from digest.llm.prompts import load_prompt
from digest.models import C, InputKind, Provenance, Section


async def write_section(
    llm: LLMClient,
    prompt_id: str,
    model: str,
    schema: type[C],
    input_kind: InputKind,
    shorter: dict | None = None,
    **values,
) -> Section[C]:
    """Run prompt `prompt_id` on `model`; a Section with status ok, or unavailable and the error.

    When the input overflows the model's context window and `shorter` is given (the values of a
    shorter, abstract-only input), the section is written once more from those. Never raises for
    model failures: they become the section's visible state.
    """
    prompt = load_prompt(prompt_id)
    try:
        done = await llm.complete(model, prompt, schema, **values)
    except LLMError as exc:
        if isinstance(exc, ContextOverflow) and shorter is not None:
            return await write_section(llm, prompt_id, model, schema, "abstract", **shorter)
        return Section[schema](
            status="unavailable",
            error=str(exc),
            provenance=Provenance(models=[model], prompt=prompt.ref, input_kind=input_kind),
        )
    return Section[schema](
        status="ok",
        content=done.value,
        provenance=Provenance(
            models=[done.model],
            prompt=prompt.ref,
            input_kind=input_kind,
            cached=done.cached,
            prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens,
        ),
    )
