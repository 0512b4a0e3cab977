"""Native, editable charts of a result workbook (XlsxWriter), on one sheet 「图表」 (results.CHARTS).

Each chart reads a small table written on 「图表」 itself (sorted, one block of columns per chart),
so an official can edit the data or restyle the chart in Excel/WPS/LibreOffice:
- composite scores by zone, sorted (bar), one chart per 考核范围;
- grade distribution (column), one series per 考核范围;
- one zone's indicator profile against its group average (radar, normalised values of 得分分析);
- rank trajectory over the years of 历年排名 of the zones under sanction (line, 排名轨迹);
- 不合规项数 of the zones with any (bar).
Count axes step by whole numbers. Each result sheet's entry in results.py says what is charted from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..results import ANALYSIS, CHARTS, COMPLIANCE, RANKING, SANCTIONS, TRAJECTORY
from .sheets import plain_header

MAX_ZONES = 300            # more bars than this cannot be read in one chart
MAX_SCOPES = 4
WIDTH = 720


@dataclass
class _Block:
    title: str
    kind: str                                  # bar | column | radar | line
    columns: dict[str, list]                   # header → values (first: categories)
    count_axis: bool = False
    reverse_values: bool = False               # ranks: 1 at the top
    series_from: int = 1                       # first value column


@dataclass
class ChartPlan:
    """The chart data (one frame, blocks side by side) and how to draw each chart from it."""
    blocks: list[_Block] = field(default_factory=list)
    data: pd.DataFrame | None = None
    at: list[int] = field(default_factory=list)      # first column of each block
    rows: list[int] = field(default_factory=list)    # data rows of each block

    def build(self) -> None:
        cols: dict[str, list] = {}
        height = max(len(next(iter(b.columns.values()))) for b in self.blocks)
        for i, b in enumerate(self.blocks):
            self.at.append(len(cols))
            n = len(next(iter(b.columns.values())))
            self.rows.append(n)
            for header, values in b.columns.items():
                cols[header] = list(values) + [None] * (height - n)
            cols[" " * (i + 1)] = [None] * height                  # a blank column between blocks
        self.data = pd.DataFrame(cols)

    def draw(self, wb, ws) -> None:
        """Insert every chart on 「图表」, stacked right of the data, and print the charts only."""
        first_col = len(self.data.columns) + 1
        y = 0
        for b, at, n in zip(self.blocks, self.at, self.rows):
            chart = wb.add_chart({"type": b.kind} if b.kind != "radar" else {"type": "radar", "subtype": "with_markers"})
            headers = list(b.columns)
            for k in range(b.series_from, len(headers)):
                series = {"name": [CHARTS, 0, at + k], "categories": [CHARTS, 1, at, n, at],
                          "values": [CHARTS, 1, at + k, n, at + k]}
                if b.kind in ("bar", "column") and len(headers) == 2:
                    series.update({"fill": {"color": "#5B9BD5"}, "gap": 60})
                if b.kind == "line":
                    series["marker"] = {"type": "circle", "size": 6}
                chart.add_series(series)
            chart.set_title({"name": b.title, "name_font": {"size": 12}})
            if len(headers) == 2:
                chart.set_legend({"none": True})
            else:
                chart.set_legend({"position": "bottom"})
            value_axis = {"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
            if b.count_axis:
                value_axis.update({"min": 0 if not b.reverse_values else 1, "major_unit": 1, "num_format": "0"})
            if b.reverse_values:
                value_axis["reverse"] = True
            category_axis = {"num_font": {"size": 8}}
            if b.kind == "bar":
                category_axis["reverse"] = True                  # the first row at the top
                chart.set_x_axis(value_axis)
                chart.set_y_axis(category_axis)
            elif b.kind != "radar":
                chart.set_x_axis(category_axis)
                chart.set_y_axis(value_axis)
            height = max(320, min(1500, 18 * n + 100)) if b.kind == "bar" else 380
            chart.set_size({"width": WIDTH, "height": height})
            ws.insert_chart(0, first_col, chart, {"y_offset": y + 10, "object_position": 3})
            y += height + 20
        ws.print_area(0, first_col, y // 20 + 2, first_col + WIDTH // 64 + 1)


def _scopes(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "考核范围" in frame and frame["考核范围"].notna().any():
        return [(str(k), g) for k, g in frame.groupby("考核范围", sort=False)][:MAX_SCOPES]
    return [("", frame)]


def _named(text: str, scope: str) -> str:
    return f"{text}（{scope}）" if scope else text


def _numbers(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce")


def _plain(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """A result table read back from a workbook has units in its headers: back to plain names."""
    if frame is None:
        return None
    return frame.rename(columns={c: plain_header(str(c)) for c in frame.columns})


def chart_sheet(sheets: dict[str, pd.DataFrame]) -> ChartPlan | None:
    """What to chart from the result tables, or None when there is nothing."""
    plan = ChartPlan()
    ranking = _plain(sheets.get(RANKING))
    if ranking is not None and {"开发区名称", "综合得分"} <= set(ranking.columns) and len(ranking):
        grade_rows: dict[str, pd.Series] = {}
        for scope, part in _scopes(ranking):
            scored = part.assign(_s=_numbers(part, "综合得分")).dropna(subset=["_s"])
            cut = len(scored) > MAX_ZONES
            scored = scored.sort_values("_s", ascending=False, kind="stable").head(MAX_ZONES)
            if len(scored):
                plan.blocks.append(_Block(_named("综合得分" + (f"（前 {MAX_ZONES} 名）" if cut else ""), scope), "bar",
                                          {_named("开发区名称", scope): scored["开发区名称"].astype(str).tolist(),
                                           _named("综合得分", scope): scored["_s"].tolist()}))
            if "等次" in part and part["等次"].notna().any():
                order = part.assign(_s=_numbers(part, "综合得分")).sort_values("_s", ascending=False)["等次"].dropna()
                grade_rows[scope] = order.astype(str).value_counts(sort=False).reindex(pd.unique(order.astype(str)))
        if grade_rows:
            labels = list(dict.fromkeys(g for counts in grade_rows.values() for g in counts.index))
            cols = {"等次": labels}
            for scope, counts in grade_rows.items():
                cols[_named("个数", scope)] = [int(counts.get(g, 0)) for g in labels]
            plan.blocks.append(_Block("等次分布（开发区个数）", "column", cols, count_axis=True))
    analysis = _plain(sheets.get(ANALYSIS))
    profile = _radar(analysis, _plain(sheets.get(SANCTIONS)), ranking)
    if profile is not None:
        plan.blocks.append(profile)
    trail = _plain(sheets.get(TRAJECTORY))
    if trail is not None and len(trail) and {"开发区名称", "年度", "组内排名"} <= set(trail.columns):
        wide = trail.assign(_r=_numbers(trail, "组内排名")).pivot_table(index="年度", columns="开发区名称", values="_r",
                                                                         aggfunc="first", sort=True)
        wide = wide[[z for z in pd.unique(trail["开发区名称"]) if z in wide.columns]]
        cols = {"年度": [str(int(y)) for y in wide.index]}
        cols.update({f"{z}·组内排名": [None if np.isnan(v) else int(v) for v in wide[z]] for z in wide.columns})
        plan.blocks.append(_Block("受奖惩开发区历年组内排名", "line", cols, count_axis=True, reverse_values=True))
    summary = _plain(sheets.get(COMPLIANCE))
    if summary is not None and "不合规项数" in summary and len(summary):
        bad = summary.assign(_n=_numbers(summary, "不合规项数"))
        bad = bad[bad["_n"] > 0].sort_values("_n", ascending=False, kind="stable").head(MAX_ZONES)
        if len(bad):
            plan.blocks.append(_Block("不合规项数", "bar", {f"开发区名称（{COMPLIANCE}）": bad["开发区名称"].astype(str).tolist(),
                                                        "不合规项数": bad["_n"].astype(int).tolist()}, count_axis=True))
    if not plan.blocks:
        return None
    plan.build()
    return plan


def _radar(analysis, sanctions, ranking) -> _Block | None:
    """Indicator profile (标准化值) of one zone against its group's average: the first zone under
    sanction (奖惩建议, 类别 约束) when there is one, else the first-ranked zone."""
    if analysis is None or not len(analysis) or not {"开发区名称", "指标", "标准化值"} <= set(analysis.columns):
        return None
    zones = list(pd.unique(analysis["开发区名称"]))
    zone = zones[0]
    if ranking is not None and "总排名" in ranking:
        ranked = ranking.assign(_r=_numbers(ranking, "总排名")).sort_values("_r", kind="stable")
        zone = next((z for z in ranked["开发区名称"] if z in zones), zone)
    if sanctions is not None and len(sanctions) and "类别" in sanctions:
        hit = [z for z in sanctions.loc[sanctions["类别"] == "约束", "开发区名称"] if z in zones]
        zone = hit[0] if hit else zone
    rows = analysis[analysis["开发区名称"] == zone]
    keys = [c for c in ("考核范围", "分组") if c in analysis]
    peers = analysis
    for k in keys:
        peers = peers[peers[k].astype(str) == str(rows[k].iloc[0])]
    values = _numbers(rows, "标准化值")
    if len(rows) < 3 or values.isna().all():               # a radar needs three spokes
        return None
    mean = peers.assign(_v=_numbers(peers, "标准化值")).groupby("指标", sort=False)["_v"].mean()
    group = str(rows["分组"].iloc[0]) if "分组" in rows else "全部"
    return _Block(f"{zone}：各指标标准化值与「{group}」组平均", "radar",
                  {"指标（雷达图）": rows["指标"].astype(str).tolist(),
                   f"标准化值（{zone}）": values.round(6).tolist(),
                   "组平均": [round(float(mean.get(i, np.nan)), 6) for i in rows["指标"]]})
