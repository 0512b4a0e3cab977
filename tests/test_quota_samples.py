"""The planted violations of the Qingdao and Ningxia samples: each reported, nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import python_calamine as pc

from xltools.engine.quota import FAIL, MISSING, OK, WARN, check_quota, city_label
from xltools.intake import read_book, tables_of
from xltools.profiles import load_profile

QD_CITY = city_label(load_profile("qingdao"))

# Written by hand from the PLANTED list in xltools/samples.py.
EXPECTED = {
    "青岛开发区.xlsx": {
        ("青岛经济技术开发区", "QD-09", FAIL),
        ("青岛高新技术产业开发区", "QD-25", FAIL),
        ("董家口经济区", "QD-03", FAIL),
        ("青岛即墨经济开发区", "QD-06", WARN),
        ("青岛平度经济开发区", "QD-19", FAIL),
        ("青岛城阳经济开发区", "QD-20", FAIL),
        (QD_CITY, "QD-29", WARN),        # 高端装备制造 leads in 4 zones (k = 3, 推断口径)
    },
    "宁夏开发区.xlsx": {
        ("贺兰工业园区", "NX-20", FAIL),
        ("中卫工业园区", "NX-05", FAIL),
        ("吴忠金积工业园区", "NX-04", WARN),      # 「一县一区」is a direction: 预警
        ("吴忠太阳山开发区", "NX-04", WARN),
    },
}
# 宁夏苏银产业园 shares 银川经开区's body and has no 规格 of its own: the 厅级/处级 ranges cannot be judged.
EXPECTED_MISSING = {"宁夏开发区.xlsx": {("宁夏苏银产业园", "NX-19"), ("宁夏苏银产业园", "NX-20")},
                    "青岛开发区.xlsx": set()}


def test_planted_violations_and_nothing_else(samples):
    for name, expected in EXPECTED.items():
        d = check_quota(tables_of(read_book(samples / name))).details
        found = {(z, r, s) for z, r, s in zip(d["开发区名称"], d["规则编号"], d["结论"]) if s in (FAIL, WARN)}
        assert found == expected, name
        missing = {(z, r) for z, r, s in zip(d["开发区名称"], d["规则编号"], d["结论"]) if s == MISSING}
        assert missing == EXPECTED_MISSING[name]
        assert set(d["结论"]) <= {OK, FAIL, WARN, MISSING, "信息"}
        assert (d["依据"].str.len() > 10).all() and d["规则编号"].str.match(r"^(QD|NX)-\d\d$").all()


@pytest.mark.slow
def test_check_cli_writes_formatted_sheets(samples, tmp_path):
    out = tmp_path / "合规.xlsx"
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(samples / "青岛开发区.xlsx"),
                           "-o", str(out), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "合规检查" in json.loads(proc.stdout)["结果工作表"]
    wb = pc.CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["数据校验", "合规检查", "合规汇总", "图表", "计算说明"]   # 图表: 不合规项数
    head = wb.get_sheet_by_name("合规检查").to_python()[0]
    assert head[:8] == ["开发区名称", "规则编号", "规则", "实际值", "限值", "结论", "说明", "依据"]
    summary = wb.get_sheet_by_name("合规汇总").to_python()
    assert summary[0][:6] == ["开发区名称", "级别", "检查项数", "不合规项数", "预警项数", "结论"]
    rows = {r[0]: r for r in summary[1:]}
    assert rows["青岛经济技术开发区"][5] == FAIL and rows["胶州经济技术开发区"][5] == OK
    notes = dict(r[:2] for r in wb.get_sheet_by_name("计算说明").to_python()[1:])
    assert "青岛口径" in notes["政策口径"] and notes["工具"].startswith("xltools ")


@pytest.mark.slow
def test_profiles_cli():
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "profiles"], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": ""})
    assert proc.returncode == 0 and "宁夏口径" in proc.stdout and "青岛口径" in proc.stdout
    for name in ("qingdao", "青岛", "青岛口径"):
        proc = subprocess.run([sys.executable, "-m", "xltools.cli", "profiles", "show", name],
                              capture_output=True, text=True, env={"COLUMNS": "250", "PATH": ""})
        assert proc.returncode == 0 and "QD-16" in proc.stdout and "《聚焦关键节点统筹推进开发区体制机制改革创新》" in proc.stdout
        assert "000_772b24d4fb950dc7.txt" not in proc.stdout and "{'" not in proc.stdout and "['" not in proc.stdout
        assert "推断口径" in proc.stdout and "适用范围" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "xltools.cli", "profiles", "show", "nosuch"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "找不到政策口径" in proc.stderr


def test_udf_quota_uses_the_engine():
    from xltools.udfs import XT_QUOTA
    assert XT_QUOTA("国家级", 9.0, 1.0, 4.0, "qingdao")[0] == [FAIL, "QD-09：内设机构数 9，超过上限 8"]
    assert XT_QUOTA("自治区级", "5", 1.0, 3.0, "qingdao")[0][0] == WARN
    assert XT_QUOTA("国家级", 8.0, 1.0, 4.0, "qingdao")[0][0] == OK
    assert XT_QUOTA("县级", 8.0, 1.0, 4.0)[0][0] == "错误"
