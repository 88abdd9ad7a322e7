"""Document templates: the starting content of a new document, with prompts for the cohort."""

from __future__ import annotations

from dataclasses import dataclass

from crdt.content import Block


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    title: str
    description: str
    blocks: tuple[Block, ...]


def _p(text: str) -> Block:
    return ("paragraph", {}, text)


def _h(level: int, text: str) -> Block:
    return ("heading", {"level": level}, text)


def _bullets(*items: str) -> Block:
    return ("bulletList", {}, [("listItem", {}, [_p(item)]) for item in items])


def _tasks(*items: str) -> Block:
    return ("taskList", {}, [("taskItem", {"checked": False}, [_p(item)]) for item in items])


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            "best-practices",
            "Best-practices guide",
            "What the cohort has learned works, with the reasons and examples.",
            (
                _h(1, "Best-practices guide"),
                _p("What is this guide for, and who will use it? Write one or two sentences."),
                _h(2, "Practice 1"),
                _p("What do we do? Say it as an instruction."),
                _h(3, "Why it works"),
                _p("The reason, from your experience or the material."),
                _h(3, "Example"),
                _p("A real case where this practice made a difference."),
                _h(2, "Practice 2"),
                _p("Copy the structure above for each practice the cohort agrees on."),
                _h(2, "Open questions"),
                _bullets("What are we still unsure about? Ask it here, or comment on a passage."),
            ),
        ),
        Template(
            "style-guide",
            "Style guide",
            "How we write: voice, words to use and avoid, formatting.",
            (
                _h(1, "Style guide"),
                _h(2, "Voice and tone"),
                _p("Describe how we sound in three words, and what each means in practice."),
                _h(2, "Words we use"),
                _bullets("Preferred term — instead of — why"),
                _h(2, "Words we avoid"),
                _bullets("Term to avoid — what to say instead"),
                _h(2, "Formatting"),
                _bullets("Headings", "Lists", "Numbers and dates", "Links"),
                _h(2, "Examples"),
                ("blockquote", {}, [_p("A short passage that shows the style done well.")]),
            ),
        ),
        Template(
            "action-plan",
            "Action plan",
            "One learner's goals and steps, with a check-in log a chosen mentor follows.",
            (
                _h(1, "Action plan"),
                _p("Mentor: who follows this plan and comments on the check-ins."),
                _h(2, "Goals"),
                _bullets("What will be different, and by when? Make each goal observable."),
                _h(2, "Steps"),
                _tasks(
                    "The first small step, this week",
                    "The next step",
                    "How I will know the goal is reached",
                ),
                _h(2, "Support I need"),
                _p("People, time or resources, and from whom."),
                _h(2, "Check-in log"),
                _h(3, "Check-in 1 — date"),
                _bullets("What I did", "What I learned", "What I will do next"),
            ),
        ),
    )
}
