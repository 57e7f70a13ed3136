"""Synthetic instances for tests and the benchmark (ChilmAI layout when written with ``io``).

* points: a master order with Mallows-like noise — each household's 点数 is its master rank plus a
  small Gaussian jitter (``phi``), rounded to integers so ties occur and the タイブレーク decides;
  siblings share the household's points and タイブレーク (one 世帯 index, as most municipalities);
* ``folded=True`` (the benchmark, for ChilmAI): the whole chain is folded into unique integer points
  written as 点数1…N, with no タイブレーク columns — the same priorities in ChilmAI's layout;
* ~8 % of households are sibling households (2–3 children) spread over the 7 patterns; the
  siblings share most wishes (同保系 always share at least one);
* ~10 % of children are transfer applicants (in 1–5歳), holding a seat at a facility not in their wishes;
* 3–10 wishes per child, drawn with a popularity bias; capacities per age from a 募集 profile.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

from madoguchi.nursery.instance import AGES, Child, Facility, Instance

AGE_WEIGHTS = (0.2, 0.3, 0.2, 0.12, 0.1, 0.08)


def generate_instance(
    *,
    children: int,
    facilities: int,
    seed: int = 0,
    sibling_share: float = 0.08,
    transfer_share: float = 0.10,
    phi: float = 3.0,
    seats_ratio: float = 0.85,
    folded: bool = False,
) -> Instance:
    rng = random.Random(seed)
    fac_ids = [f"{i + 1:04d}" for i in range(facilities)]
    popularity = [rng.random() ** 2 + 0.05 for _ in fac_ids]
    total_seats = max(1, int(children * seats_ratio))
    caps = {f: [0] * 6 for f in fac_ids}
    for _ in range(total_seats):
        f = rng.choice(fac_ids)
        caps[f][rng.choices(AGES, AGE_WEIGHTS)[0]] += 1

    cumulative = list(itertools.accumulate(popularity))

    def wishes(k: int, exclude: str | None = None) -> list[str]:
        out: list[str] = []
        while len(out) < min(k, len(fac_ids) - (exclude is not None)):
            f = rng.choices(fac_ids, cum_weights=cumulative)[0]
            if f not in out and f != exclude:
                out.append(f)
        return out

    kids: list[Child] = []
    household = 0
    while len(kids) < children:
        household += 1
        hid = f"H{household:06d}"
        size = 1
        if rng.random() < sibling_share and children - len(kids) >= 2:
            size = min(rng.choice((2, 2, 2, 3)), children - len(kids))
        base = len(kids)
        pattern = rng.randint(1, 7) if size > 1 else 0
        shared = wishes(rng.randint(3, 10))
        points = round((children - base) / max(1, children) * 100 + rng.gauss(0, phi))
        tiebreak = (rng.randint(0, 1), rng.randint(0, 9))
        for j in range(size):
            n = base + j
            age = rng.choices(AGES, AGE_WEIGHTS)[0]
            current = None
            if age > 0 and rng.random() < transfer_share:
                current = rng.choice(fac_ids)
            own = [f for f in shared if f != current] if size > 1 else wishes(rng.randint(3, 10), current)
            if size > 1 and j > 0 and rng.random() < 0.5:
                own = own[: max(1, len(own) - 1)]
            if not own:
                own = wishes(3, current)
            kids.append(
                Child(
                    id=f"{100000 + n}",
                    household=hid,
                    age=age,
                    points=points,
                    wishes=tuple(own),
                    current=current,
                    pattern=pattern,
                    tiebreak=tiebreak,
                )
            )
    facs = tuple(Facility(f, f"保育所{f}", tuple(caps[f])) for f in fac_ids)  # type: ignore[arg-type]
    instance = Instance(facs, tuple(kids), name=f"generated-{children}-{facilities}-{seed}")
    return fold_priorities(instance) if folded else instance


def fold_priorities(instance: Instance) -> Instance:
    """The same priority order as unique integer points per wish (点数N), without タイブレーク."""
    order = sorted(instance.children, key=instance.base_priority, reverse=True)
    points = {c.id: len(order) - i for i, c in enumerate(order)}
    kids = tuple(
        replace(c, points=points[c.id], tiebreak=(), wish_points=(points[c.id],) * len(c.wishes))
        for c in instance.children
    )
    return Instance(instance.facilities, kids, instance.combinations, name=instance.name)
