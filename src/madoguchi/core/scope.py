"""Who is acting, and what they may see: every staff query and page is scoped through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser

from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.models import Municipality, Role, StaffAssignment

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Roles that read every department's applications. DX推進 is deliberately absent: it steers with
# aggregate figures (issue 7), never with residents' applications (need-to-know).
WHOLE_MUNICIPALITY_ROLES = {Role.ADMIN.value, Role.CLERK.value}


@dataclass(frozen=True)
class Actor:
    """The one acting: a staff member (with scope), the system (an intake channel) or a resident."""

    label: str
    user: AbstractBaseUser | None = None
    municipality: Municipality | None = None
    # department id -> roles held there; key None = roles held for the whole municipality
    roles_by_department: dict[int | None, frozenset[str]] = field(default_factory=dict)
    is_system: bool = False
    is_resident: bool = False
    # department code -> id, for the departments in roles_by_department (read with the assignments)
    department_codes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=label, is_system=True)

    @classmethod
    def resident(cls, label: str) -> Actor:
        return cls(label=f"resident:{label}", is_resident=True)

    @property
    def is_staff(self) -> bool:
        return self.user is not None

    def roles_for(self, department_id: int | None) -> frozenset[str]:
        return self.roles_by_department.get(None, frozenset()) | self.roles_by_department.get(
            department_id, frozenset()
        )

    @property
    def all_roles(self) -> frozenset[str]:
        roles: frozenset[str] = frozenset()
        for r in self.roles_by_department.values():
            roles |= r
        return roles

    @property
    def sees_whole_municipality(self) -> bool:
        whole = self.roles_by_department.get(None, frozenset())
        return bool(whole & WHOLE_MUNICIPALITY_ROLES)

    @property
    def department_ids(self) -> list[int]:
        return [d for d in self.roles_by_department if d is not None]

    @property
    def opens_dx(self) -> bool:
        """DX推進 or 管理者 for the whole municipality: the aggregate pages under /dx/."""
        return bool(self.roles_by_department.get(None, frozenset()) & {Role.DX.value, Role.ADMIN.value})

    def works_in(self, department_code: str) -> bool:
        """Holds a role in that department (by code), or is 管理者 for the whole municipality."""
        return Role.ADMIN.value in self.roles_by_department.get(None, frozenset()) or (
            department_code in self.department_codes
        )

    @property
    def sees_applications(self) -> bool:
        return self.sees_whole_municipality or bool(self.department_ids)

    def can_see_department(self, department_id: int) -> bool:
        return self.sees_whole_municipality or department_id in self.roles_by_department


def staff_actor(user: AbstractBaseUser | AnonymousUser, *, municipality: Municipality | None = None) -> Actor:
    """Build the Actor for a logged-in staff user. A user with no assignment may do nothing."""
    if not user.is_authenticated:
        raise PermissionDeniedError("ログインしてください。", code="auth.required")
    assignments = list(
        StaffAssignment.objects.filter(user_id=user.pk).select_related("municipality", "department")
    )
    if municipality is None:
        municipalities = {a.municipality_id: a.municipality for a in assignments}
        if not municipalities:
            raise PermissionDeniedError(
                "職員の役割が設定されていません。管理者に連絡してください。", code="auth.no_assignment"
            )
        municipality = municipalities[min(municipalities)]
    roles: dict[int | None, set[str]] = {}
    codes: dict[str, int] = {}
    for a in assignments:
        # a department of another municipality (a mis-set assignment) never widens the scope
        if a.role == Role.DX and a.department_id is not None:
            continue  # DX推進 works with aggregates only: a department never opens applications to it
        if a.municipality_id == municipality.pk and (
            a.department is None or a.department.municipality_id == municipality.pk
        ):
            roles.setdefault(a.department_id, set()).add(a.role)
            if a.department is not None:
                codes[a.department.code] = a.department.pk
    return Actor(
        label=user.get_username(),
        user=user,
        municipality=municipality,
        roles_by_department={k: frozenset(v) for k, v in roles.items()},
        department_codes=codes,
    )
