"""Staff ranking (the Leiyang model): weighted part-scores → rank → outcome by cut-offs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import DECLARED, STAFF
from .scoring import competition_rank, worst_rank

STAFF_COLUMNS = DECLARED[STAFF].names
PART_NAMES = {"score_test": "知识测试", "score_speech": "竞聘演讲", "score_inspection": "联合考察"}


CONCURRENT = "由市领导或地方领导班子成员兼任，不参与排名（LY-11：除由市领导或地方领导班子成员兼任的）"


def rank_staff(staff: pd.DataFrame, rule: dict) -> pd.DataFrame:
    """综合得分 = Σ wₖ·scoreₖ (weights renormalised); rank ≤ cut-off k → outcomes[k].

    People holding the post concurrently as city or local leaders (是否兼任 = 是) are listed but
    not ranked (LY-11): they take no place from the others."""
    parts = rule["parts"]
    weights = np.array([float(parts[k]) for k in parts])
    weights = weights / weights.sum()
    cols = [pd.to_numeric(staff[k], errors="coerce").to_numpy(dtype=float) if k in staff else np.full(len(staff), np.nan)
            for k in parts]
    x = np.column_stack(cols) if cols else np.zeros((len(staff), 0))
    score = np.round(x @ weights, 6)                       # NaN when any part is missing
    concurrent = (staff["concurrent"].to_numpy(dtype=object) == "是") if "concurrent" in staff else np.zeros(len(staff), bool)
    score = np.where(concurrent, np.nan, score)
    best = competition_rank(score)
    pos = best if rule.get("ties", "include") == "include" else worst_rank(score)
    cut = np.asarray(rule["cutoffs"], dtype=float)
    idx = (pos[:, None] > cut[None, :]).sum(axis=1)
    outcome = np.asarray(rule["outcomes"], dtype=object)[np.minimum(idx, len(cut))]
    outcome = np.where(np.isnan(score), "数据缺失（缺少分项成绩）", outcome)
    outcome = np.where(concurrent, CONCURRENT, outcome)
    out = pd.DataFrame({"姓名": staff["name"], "开发区名称": staff.get("zone"), "综合得分": score,
                        "排名": best, "结果": outcome})
    for k, col in zip(parts, cols):
        out[PART_NAMES.get(k, k)] = col
    if "person_id" in staff:
        out.insert(1, "人员编号", staff["person_id"])
    return out.sort_values(["排名", "姓名"], na_position="last", kind="stable").reset_index(drop=True)
