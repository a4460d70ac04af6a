"""Staff see only their own tasks: another's task id answers 404 on every screen and endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huitouke.accounts.tokens import create_api_token
from huitouke.followups.models import FollowUpTask, TaskStatus
from tests.followups.conftest import make_task
from tests.helpers import make_customer


@pytest.fixture
def tasks(org, other_org, store1, store2, manager, staff_a, staff_b, staff_c, other_owner):
    def task_for(user, store, org=org):
        return make_task(make_customer(org, owner=user, home_store=store), user)

    return {
        "a": task_for(staff_a, store1),
        "b": task_for(staff_b, store1),
        "c": task_for(staff_c, store2),
        "m": task_for(manager, store1),
        "x": task_for(other_owner, None, other_org),
    }


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("staff_a", {"a"}),
        ("staff_b", {"b"}),
        ("manager", {"a", "b", "m"}),
        ("owner", {"a", "b", "c", "m"}),
        ("other_owner", {"x"}),
    ],
)
def test_who_sees_which_tasks(request, tasks, persona, visible):
    user = request.getfixturevalue(persona)
    got = set(FollowUpTask.objects.visible_to(user).values_list("pk", flat=True))
    assert got == {tasks[k].pk for k in visible}


def test_another_staff_members_task_is_404_everywhere(client, tasks, staff_a):
    theirs = tasks["b"]
    client.force_login(staff_a)
    assert client.get(reverse("followups:detail", args=[theirs.pk])).status_code == 404
    assert (
        client.post(reverse("followups:complete", args=[theirs.pk]), {"outcome": "x"}).status_code
        == 404
    )
    assert (
        client.post(reverse("followups:skip", args=[theirs.pk]), {"reason": "x"}).status_code == 404
    )
    token = create_api_token(staff_a, "t", actor=staff_a)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/tasks/{theirs.pk}", headers=headers).status_code == 404
    response = client.post(
        f"/api/v1/tasks/{theirs.pk}/complete",
        "{}",
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 404
    inbox = client.get(reverse("followups:inbox")).content.decode()
    assert f'id="task-{tasks["a"].pk}"' in inbox and f'id="task-{theirs.pk}"' not in inbox
    theirs.refresh_from_db()
    assert theirs.status == TaskStatus.OPEN


def test_manager_cannot_reach_another_stores_task(client, tasks, manager):
    client.force_login(manager)
    assert client.get(reverse("followups:detail", args=[tasks["c"].pk])).status_code == 404
    assert client.get(reverse("followups:detail", args=[tasks["b"].pk])).status_code == 200
