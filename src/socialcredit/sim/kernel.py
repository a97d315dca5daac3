"""The simulator's daily step, compiled: every region stepped in parallel, nothing per agent.

Random numbers come from a counter-based stream per (seed, region, day): SplitMix64 over a key
mixed from the three, advanced by one counter per draw. A region's draws depend on nothing but
its key and its own events, so the result is the same on any number of threads.

A record's whole future is drawn when it is made (objection filed? upheld? when is the debt
performed?), so its end is known at once; counts of future ends go into per-group queues
(``exits``) and per-region queues (``due``: fulfilled, objections filed, objections upheld).

Groups run region-major, ``per_region`` to a region: the income tiers, then (if the run has
them) the region's organisations. A listed organisation's restrictions reach its legal
representative, so the organisation group's "tier" values for travel are the representative's.

Deterrence: a region's refusal rate is divided by ``1 + deterrence * D``, where ``D`` is the
region's flight and train denials over the past 365 days per 1,000 of its agents (a ring of
daily counts per region, so this stays inside the region's partition).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from socialcredit.daycount import add_months
from socialcredit.sim.streams import below, geometric, poisson, stream_key, thin, uniform

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

# metric columns (engine.METRICS has the names, in this order)
RECORDS, FALSE, NEWLY, LISTED, EVER, INNOCENTS, FLIGHTS, TRAINS, INNOCENT_DENIALS = range(9)
FULFILLED, FILED, UPHELD = 9, 10, 11
ORG_NEWLY, ORG_LISTED, ORG_EVER = 12, 13, 14
REPAIRS_APPLIED, REPAIRS_GRANTED = 15, 16
N_METRICS = 17
N_DUE = 5  # per region and day: fulfilled, filed, upheld, repair applied, repair granted
MEMORY = 365  # days of denials that deterrence remembers

# trace row columns
TRACE_COLS = 10  # agent, day, innocent, filed, decided, upheld, fulfilled, repair applied,
# repair decided, repair granted (-1 = none)
TRACED = np.uint8(4)


@njit(cache=True)
def step_days(  # noqa: PLR0913  # pragma: no cover - compiled
    d0: int,
    abs0: int,
    seed: int,
    region0: int,  # global index of the first region (keys the random streams)
    rates: F64,  # per day of the block
    tier_factor: F64,
    tier_flights: F64,
    tier_trains: F64,
    false_attribution: float,
    fulfil_hazard: F64,  # per day of the block (listing in force or not)
    objection: F64,  # p_innocent, p_debtor, upheld_innocent, upheld_debtor
    filed_after: int,
    decided_after: int,
    objection_voids: bool,
    repair: F64,  # p_apply, p_granted, applied_after (days from eligibility), decided_after
    repair_months: int,  # -1: repair is no way off this list
    fulfilment_ends: bool,
    list_months: int,
    effect_months: int,
    end_cap: int,
    flights_on: npt.NDArray[np.bool_],  # per day of the block
    trains_on: npt.NDArray[np.bool_],
    travel_factor: float,
    deterrence: float,
    group_start: I64,
    per_region: int,
    has_orgs: bool,
    listed_until: I32,
    flags: U8,
    exits: I32,
    innocent_exits: I32,
    listed_now: I64,
    innocent_now: I64,
    due: I32,  # (regions, 3, days): fulfilled, filed, upheld
    ever: I64,  # (regions, 2): persons, organisations
    recent: I64,  # (regions, MEMORY): denials per day, a ring
    recent_sum: I64,  # (regions,)
    rows: I64,  # (days, regions, N_METRICS) out
    trace: I64,  # (days, regions, capacity, TRACE_COLS) out
    trace_count: I64,  # (days, regions) out
) -> None:
    """Step days ``d0 .. d0 + len(rates) - 1``, every region in parallel each day."""
    for i in range(rates.shape[0]):
        _one_day(
            d0 + i, abs0, seed, region0, rates[i], tier_factor, tier_flights, tier_trains,
            false_attribution, fulfil_hazard[i], objection, filed_after, decided_after,
            objection_voids, repair, repair_months, fulfilment_ends, list_months, effect_months,
            end_cap, flights_on[i], trains_on[i], travel_factor, deterrence, group_start,
            per_region, has_orgs, listed_until, flags, exits, innocent_exits, listed_now,
            innocent_now, due, ever, recent, recent_sum, rows[i], trace[i], trace_count[i],
        )  # fmt: skip


@njit(parallel=True, cache=True)
def _one_day(  # noqa: PLR0913  # pragma: no cover - compiled
    d: int,
    abs0: int,
    seed: int,
    region0: int,
    rate: float,
    tier_factor: F64,
    tier_flights: F64,
    tier_trains: F64,
    false_attribution: float,
    fulfil_hazard: float,
    objection: F64,
    filed_after: int,
    decided_after: int,
    objection_voids: bool,
    repair: F64,  # p_apply, p_granted, applied_after (days from eligibility), decided_after
    repair_months: int,  # -1: repair is no way off this list
    fulfilment_ends: bool,
    list_months: int,
    effect_months: int,
    end_cap: int,
    flights_on: bool,
    trains_on: bool,
    travel_factor: float,
    deterrence: float,
    group_start: I64,
    per_region: int,
    has_orgs: bool,
    listed_until: I32,
    flags: U8,
    exits: I32,
    innocent_exits: I32,
    listed_now: I64,
    innocent_now: I64,
    due: I32,
    ever: I64,
    recent: I64,
    recent_sum: I64,
    rows: I64,
    trace: I64,
    trace_count: I64,
) -> None:
    n_regions = rows.shape[0]
    width = due.shape[2]
    absolute = abs0 + d
    base_end = end_cap
    if list_months >= 0:
        base_end = min(base_end, add_months(absolute, list_months) - abs0)
    if effect_months >= 0:
        base_end = min(base_end, add_months(absolute, effect_months) - abs0)
    repairable = add_months(absolute, repair_months) - abs0 if repair_months >= 0 else -1
    for r in prange(n_regions):
        state = np.empty(1, np.uint64)
        state[0] = stream_key(seed, region0 + r, d)
        row = rows[r]
        row[:] = 0
        trace_count[r] = 0
        g0 = r * per_region
        org_g = g0 + per_region - 1 if has_orgs else -1
        for g in range(g0, g0 + per_region):
            listed_now[g] -= exits[g, d]
            innocent_now[g] -= innocent_exits[g, d]
        r0 = group_start[g0]
        n_region = group_start[g0 + per_region] - r0
        deterred = rate
        if deterrence > 0.0 and n_region > 0:
            deterred = rate / (1.0 + deterrence * recent_sum[r] * 1000.0 / n_region)
        true_k = 0
        for t in range(per_region):
            g = g0 + t
            n = group_start[g + 1] - group_start[g]
            if n == 0 or deterred <= 0.0:
                continue
            k = poisson(state, n * deterred * tier_factor[t])
            true_k += k
            for _ in range(k):
                a = group_start[g] + below(state, n)
                _record(
                    state, d, a, g, g == org_g, False, base_end, fulfil_hazard, objection,
                    filed_after, decided_after, objection_voids, repair, repairable,
                    fulfilment_ends, width,
                    listed_until, flags, exits, innocent_exits, listed_now, innocent_now, due[r],
                    ever, r, row, trace[r], trace_count,
                )  # fmt: skip
        false_k = poisson(state, true_k * false_attribution) if true_k > 0 else 0
        for _ in range(false_k):
            a = r0 + below(state, n_region)
            g = g0
            while group_start[g + 1] <= a:
                g += 1
            _record(
                state, d, a, g, g == org_g, True, base_end, fulfil_hazard, objection,
                filed_after, decided_after, objection_voids, repair, repairable, fulfilment_ends,
                width, listed_until,
                flags, exits, innocent_exits, listed_now, innocent_now, due[r], ever, r, row,
                trace[r], trace_count,
            )  # fmt: skip
        row[RECORDS] = true_k + false_k
        row[FALSE] = false_k
        listed = 0
        innocents = 0
        denials = 0
        for t in range(per_region):
            g = g0 + t
            listed += listed_now[g]
            innocents += innocent_now[g]
            if listed_now[g] == 0:
                continue
            share = innocent_now[g] / listed_now[g]
            if flights_on:
                denied = poisson(state, listed_now[g] * tier_flights[t] * travel_factor)
                row[FLIGHTS] += denied
                row[INNOCENT_DENIALS] += thin(state, denied, share)
                denials += denied
            if trains_on:
                denied = poisson(state, listed_now[g] * tier_trains[t] * travel_factor)
                row[TRAINS] += denied
                row[INNOCENT_DENIALS] += thin(state, denied, share)
                denials += denied
        slot = (abs0 + d) % MEMORY
        recent_sum[r] += denials - recent[r, slot]
        recent[r, slot] = denials
        row[LISTED] = listed
        row[INNOCENTS] = innocents
        row[EVER] = ever[r, 0] + ever[r, 1]
        if has_orgs:
            row[ORG_LISTED] = listed_now[org_g]
            row[ORG_EVER] = ever[r, 1]
        row[FULFILLED] = due[r, 0, d]
        row[FILED] = due[r, 1, d]
        row[UPHELD] = due[r, 2, d]
        row[REPAIRS_APPLIED] = due[r, 3, d]
        row[REPAIRS_GRANTED] = due[r, 4, d]


@njit(cache=True, nogil=True)
def _record(  # noqa: PLR0913  # pragma: no cover - compiled
    state: npt.NDArray[np.uint64],
    d: int,
    a: int,
    g: int,
    organisation: bool,
    innocent: bool,
    end: int,
    fulfil_hazard: float,
    objection: F64,
    filed_after: int,
    decided_after: int,
    objection_voids: bool,
    repair: F64,
    repairable: int,
    fulfilment_ends: bool,
    width: int,
    listed_until: I32,
    flags: U8,
    exits: I32,
    innocent_exits: I32,
    listed_now: I64,
    innocent_now: I64,
    due: I32,
    ever: I64,
    r: int,
    row: I64,
    trace: I64,
    trace_count: I64,
) -> None:
    """Draw one record's future, schedule its events, and apply it to its agent."""
    u_object = uniform(state)
    u_upheld = uniform(state)
    perform = geometric(state, fulfil_hazard)
    u_apply = uniform(state)
    u_granted = uniform(state)
    files = u_object < (objection[0] if innocent else objection[1])
    upheld = files and u_upheld < (objection[2] if innocent else objection[3])
    filed_on = d + filed_after
    decided_on = filed_on + decided_after
    if upheld and objection_voids:
        end = min(end, decided_on)
    performs = (not innocent) and fulfilment_ends and d + perform < end
    if performs:
        end = d + perform
    # repair: applied once the minimum period is over, if the record is still in effect then
    applied_on = repairable + int(repair[2])
    repair_decided = applied_on + int(repair[3])
    applies = repairable >= 0 and u_apply < repair[0] and applied_on < end
    granted = applies and u_granted < repair[1]
    repaired = granted and repair_decided < end
    if repaired:
        end = repair_decided
        performs = False  # the listing ended before the debt was paid
    if performs:
        due[0, min(end, width - 1)] += 1
    if files:
        due[1, min(filed_on, width - 1)] += 1
        if upheld and objection_voids:
            due[2, min(decided_on, width - 1)] += 1
    if applies:
        due[3, min(applied_on, width - 1)] += 1
        if repaired:
            due[4, min(repair_decided, width - 1)] += 1
    if flags[a] & 4:
        c = trace_count[r]
        if c < trace.shape[0]:
            trace[c, 0] = a
            trace[c, 1] = d
            trace[c, 2] = 1 if innocent else 0
            trace[c, 3] = filed_on if files else -1
            trace[c, 4] = decided_on if files else -1
            trace[c, 5] = 1 if (upheld and objection_voids) else 0
            trace[c, 6] = end if performs else -1
            trace[c, 7] = applied_on if applies else -1
            trace[c, 8] = repair_decided if applies else -1
            trace[c, 9] = 1 if granted else 0
        trace_count[r] = c + 1
    if end <= d:
        return  # voided the same day: it never took effect
    cur = listed_until[a]
    if cur <= d:
        listed_until[a] = end
        exits[g, end] += 1
        listed_now[g] += 1
        row[NEWLY] += 1
        if organisation:
            row[ORG_NEWLY] += 1
        if flags[a] & 1 == 0:
            ever[r, 1 if organisation else 0] += 1
        if innocent:
            flags[a] = flags[a] | 3
            innocent_exits[g, end] += 1
            innocent_now[g] += 1
        else:
            flags[a] = (flags[a] | 1) & 0xFD
        return
    was_innocent = flags[a] & 2 != 0
    if end > cur:
        exits[g, cur] -= 1
        exits[g, end] += 1
        listed_until[a] = end
    if was_innocent:
        if innocent:
            if end > cur:
                innocent_exits[g, cur] -= 1
                innocent_exits[g, end] += 1
        else:
            innocent_exits[g, cur] -= 1
            innocent_now[g] -= 1
            flags[a] = flags[a] & 0xFD
