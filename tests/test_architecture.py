"""The code's direction (docs/architecture.md), checked on the source itself.

1. Screens, API handlers, forms and management commands never write a model themselves: every
   save, delete, create, queryset update and bulk write goes through a do_* action (actor and
   audit entry in the same transaction). An AST scan of those files finds the calls.
2. Every job queued with core.tasks.enqueue_on_commit names a huey task that exists.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from huey.api import TaskWrapper

from huitouke.core.tasks import task_named

SRC = Path(__file__).resolve().parent.parent / "src" / "huitouke"

WRITES = {"save", "delete", "bulk_create", "bulk_update"}
MANAGER_WRITES = {"create", "get_or_create", "update_or_create"}
QUERYSET_STEPS = {"objects", "filter", "exclude", "all", "select_for_update", "_default_manager"}

# (file, call) pairs allowed to write, each with its reason. Keep it short: a new entry needs one.
ALLOWED = {
    # Not a model: the demo command's own helper that deletes the SQLite files on --reset.
    ("web/management/commands/demo.py", "self.delete"),
    # issue 14 helper ("security") moves these into accounts actions with their audit entries:
    # the password change, the staff form's create and edit (role, store, active).
    ("accounts/views.py", "form.save"),
    ("accounts/views.py", "user.save"),
}


def _renders_pages(path: Path) -> bool:
    """A module that imports django.shortcuts (render, redirect) is a screen whatever its name
    (loyalty/quick_order.py, web/customer_page.py, segments/customer_list.py)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "django.shortcuts":
            return True
    return False


def _screen_files() -> list[Path]:
    """views*.py, *_views.py, api*.py, forms*.py, *_forms.py, management commands, and every
    other module that renders pages."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        name = path.stem
        command = "management" in parts and "commands" in parts and name != "__init__"
        screen = (
            name.startswith(("views", "api", "forms"))
            or name.endswith(("_views", "_forms"))
            or name == "api"
            or _renders_pages(path)
        )
        if "migrations" not in parts and (command or screen):
            found.append(path)
    return found


def _chain(node: ast.expr) -> list[str]:
    """The attribute and call names a call's receiver is built from (Product.objects.filter → …)."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names
        else:
            return names


def _is_write(call: ast.Call) -> bool:
    if not isinstance(call.func, ast.Attribute):
        return False
    method, receiver = call.func.attr, call.func.value
    if method == "save":
        # form.save(commit=False) builds the object for an action to save.
        return not any(
            k.arg == "commit" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in call.keywords
        )
    if method in WRITES:
        return True
    steps = set(_chain(receiver))
    if method in MANAGER_WRITES:
        return "objects" in steps or "_default_manager" in steps
    # .update() of a queryset (a dict's update is no write).
    return method == "update" and bool(steps & QUERYSET_STEPS)


def writes_outside_actions(paths: list[Path]) -> list[str]:
    """`file:line: call` for every model write in the given files that is not allow-listed."""
    found = []
    for path in paths:
        relative = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _is_write(node):
                call = ast.unparse(node.func)
                if (relative, call) not in ALLOWED:
                    found.append(f"{relative}:{node.lineno}: {call}(…)")
    return found


def test_screens_api_forms_and_commands_write_only_through_actions() -> None:
    files = _screen_files()
    assert len(files) > 40  # the scan sees the screens (a broken glob would pass vacuously)
    assert writes_outside_actions(files) == []


def test_the_scan_finds_each_kind_of_write() -> None:
    """The scanner itself: every write form is caught, and the non-writes are not."""
    source = """
def view(request, form, ctx, segment):
    form.save()
    segment.delete()
    Product.objects.create(name="x")
    Product.objects.filter(pk=1).update(name="y")
    Tag.objects.bulk_create([])
    Category._default_manager.get_or_create(name="z")
    form.save(commit=False)
    ctx.update({"a": 1})
    Product.objects.filter(pk=1).exists()
"""
    tree = ast.parse(source)
    flagged = [
        ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_write(n)
    ]
    assert sorted(flagged) == sorted(
        [
            "form.save",
            "segment.delete",
            "Product.objects.create",
            "Product.objects.filter(pk=1).update",
            "Tag.objects.bulk_create",
            "Category._default_manager.get_or_create",
        ]
    )
    screens = {p.relative_to(SRC).as_posix() for p in _screen_files()}
    assert {"sales/views.py", "sales/api.py", "sales/forms.py"} <= screens
    assert "accounts/management/commands/createowner.py" in screens
    assert "customers/account_views.py" in screens
    assert {
        "loyalty/quick_order.py",
        "analytics/products_page.py",
        "web/customer_page.py",
        "segments/customer_list.py",
    } <= screens


def _queued_task_names() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "enqueue_on_commit"
            ):
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path}: name the task with a literal"
                names.append(first.value)
    return names


@pytest.mark.parametrize("name", sorted(set(_queued_task_names())))
def test_every_queued_job_is_a_huey_task(name: str) -> None:
    assert isinstance(task_named(name), TaskWrapper)


def test_the_former_cycles_queue_by_name() -> None:
    """engine.py ↔ tasks.py, loyalty.program ↔ tasks.py, webhooks.py ↔ tasks.py were cycles."""
    assert {
        "huitouke.automation.tasks.run_automation_now",
        "huitouke.loyalty.tasks.reevaluate_organisation_tiers",
        "huitouke.integrations.tasks.send_webhooks_now",
    } <= set(_queued_task_names())
