"""Synthetic instances for tests and the benchmark (ChilmAI layout when written with ``io``).

* points: a master order with Mallows-like noise — each child's 点数 is its master rank plus a small
  Gaussian jitter (``phi``), rounded to integers so ties occur and the タイブレーク decides;
* ~8 % of households are sibling households (2–3 children) spread over the 7 patterns; the
  siblings share most wishes (同保系 always share at least one);
* ~10 % of children are transfer applicants (in 1–5歳), holding a seat at a facility not in their wishes;
* 3–10 wishes per child, drawn with a popularity bias; capacities per age from a 募集 profile.
"""

from __future__ import annotations

import random

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
) -> Instance:
    rng = random.Random(seed)
    fac_ids = [f"{i + 1:04d}" for i in range(facilities)]
    popularity = [rng.random() ** 2 + 0.05 for _ in fac_ids]
    total_seats = max(1, int(children * seats_ratio))
    caps = {f: [0] * 6 for f in fac_ids}
    for _ in range(total_seats):
        f = rng.choice(fac_ids)
        caps[f][rng.choices(AGES, AGE_WEIGHTS)[0]] += 1

    def wishes(k: int, exclude: str | None = None) -> list[str]:
        pool = [f for f in fac_ids if f != exclude]
        weights = [popularity[fac_ids.index(f)] for f in pool]
        out: list[str] = []
        while len(out) < min(k, len(pool)):
            f = rng.choices(pool, weights)[0]
            if f not in out:
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
            master = children - n
            points = round(master / max(1, children) * 100 + rng.gauss(0, phi))
            kids.append(
                Child(
                    id=f"{100000 + n}",
                    household=hid,
                    age=age,
                    points=points,
                    wishes=tuple(own),
                    current=current,
                    pattern=pattern,
                    tiebreak=(rng.randint(0, 1), rng.randint(0, 9)),
                )
            )
    facs = tuple(Facility(f, f"保育所{f}", tuple(caps[f])) for f in fac_ids)  # type: ignore[arg-type]
    return Instance(facs, tuple(kids), name=f"generated-{children}-{facilities}-{seed}")
