"""a3agent.collect: L2 prototyping. Image tasks run through the agent into trajectories, the good ones
exported as training rows (artemis-vlm's collator form) or preference pairs, and the card's defects
measured with and without the constraint.

    tasks.py       the tasks file, checked line by line
    options.py     a collection's options, one table
    episode.py     one task run once through an Agent, recorded whatever happens
    runner.py      collect_trajectories(): every task, sample and mode; resumable
    trajectory.py  the episode record (a line of trajectories.jsonl); store.py the folder
    checks.py      the task's expectations, checked
    chat.py        an episode as chat turns; length.py a row's length; export.py rows; pairs.py pairs
    metrics.py     the rates; report.py tables; plot.py the PNG
    examples.py    the example task set and its images

Over the agent room only (Agent, Conversation, events, steps): nothing here decodes or parses.
"""

from a3agent.collect.checks import Checks
from a3agent.collect.examples import write_examples
from a3agent.collect.export import ExportSummary, artemis_rows, export_artemis
from a3agent.collect.metrics import GroupMetrics, summarize
from a3agent.collect.options import CollectOptions
from a3agent.collect.pairs import export_pairs, preference_pairs
from a3agent.collect.runner import CollectProgress, CollectSummary, collect_trajectories
from a3agent.collect.store import TrajectoryStore
from a3agent.collect.tasks import Task, TaskFile, read_tasks
from a3agent.collect.trajectory import Episode, StepNotes

__all__ = [
    "Checks",
    "CollectOptions",
    "CollectProgress",
    "CollectSummary",
    "Episode",
    "ExportSummary",
    "GroupMetrics",
    "StepNotes",
    "Task",
    "TaskFile",
    "TrajectoryStore",
    "artemis_rows",
    "collect_trajectories",
    "export_artemis",
    "export_pairs",
    "preference_pairs",
    "read_tasks",
    "summarize",
    "write_examples",
]
