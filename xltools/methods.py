"""The ranking methods: every normalisation, weighting and aggregation, once.

Each entry is an id with its Chinese label, what it computes (for the docs), what data it
needs and how it behaves. Everything that names a method reads this table: the ranking and
the UDF dispatch, the CLI's choices and help, 计算说明's Chinese names (profiles/display.py) and
the generated docs/评价方法.md. The kernels are in engine/scoring.py, one small function per id;
it refuses to load when an id here has no kernel. Ground floor: data only, no numpy (the CLI's
help reads it before anything heavy is imported).

A new method is one entry here plus its kernel in engine/scoring.py.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMALIZE, WEIGHTS, AGGREGATE = "normalize", "weights", "aggregate"
# the 参数 item (and 计算说明 line) that chooses a method of each kind
KIND_NAMES = {NORMALIZE: "标准化方法", WEIGHTS: "赋权方法", AGGREGATE: "评价方法"}     # in the order they apply
# the command-line option and the worksheet function that take a method of each kind
FLAGS = {AGGREGATE: "--method", WEIGHTS: "--weights", NORMALIZE: "--normalize"}
UDF_OF = {AGGREGATE: "XT_SCORE", WEIGHTS: "XT_WEIGHTS", NORMALIZE: "XT_NORMALIZE"}


@dataclass(frozen=True)
class Method:
    id: str
    kind: str
    label: str                      # 计算说明, profiles show, the 通报 and the docs say this
    formula: str                    # what it computes, in Chinese (docs/评价方法.md)
    # normalisation: depends on the zones normalised together, so it runs per group where the
    # profile asks (normalize_within = "group"); the others treat every value on its own
    group_aware: bool = False
    needs_benchmark: bool = False   # a 标杆值 per indicator (peer mean when not given)
    anchors: bool = False           # takes 满意值/不允许值 when given
    points: float = 0.0             # values are points out of this (功效分): the composite counts them
    #                                 as fractions of it, a value beyond it earns the full points
    absolute: str = ""              # the fixed standard a score meets when its parameters are all stated
    needs_weights: bool = False     # weighting: uses the stated (subjective) weights
    needs_pairwise: bool = False    # weighting: an AHP pairwise matrix
    needs_alpha: bool = False       # weighting: the 组合系数 α
    directional: bool = True        # weighting: uses the indicators' directions (fixed and AHP need none)
    relative: bool = False          # weighting / aggregation: the result depends on the other zones' data
    additive: bool = False          # aggregation: the composite is a sum of per-indicator points
    default_normalize: str = ""     # aggregation: the normalisation used when none is chosen
    normalizations: tuple[str, ...] = ()   # aggregation: the normalisations it takes (others → default)
    score: str = ""                 # 计算说明's 综合得分 formula ({scale} = 满分); a normalisation's
    #                                 own formula replaces an additive aggregation's

    @property
    def in_udf(self) -> bool:
        """A worksheet function takes only the matrix (and, for AHP, the pairwise matrix)."""
        return not (self.needs_benchmark or self.needs_weights or self.needs_alpha)

    def needs(self) -> list[str]:
        """The data it takes besides the indicator values, in Chinese."""
        return [text for flag, text in (
            (self.needs_benchmark, "各指标的标杆值（「指标体系」表；未给出的取参评开发区平均值）"),
            (self.anchors, "可选：各指标的满意值、不允许值（「指标体系」表）"),
            (self.needs_weights, "各指标的权重（「指标体系」表、预设或政策口径；都未给出时等权）"),
            (self.needs_pairwise, "判断矩阵（「参数」表「AHP判断矩阵」）"),
            (self.needs_alpha, "组合系数 α（「参数」表「组合系数」，默认 0.5）"),
            (self.kind == NORMALIZE or self.directional and self.kind == WEIGHTS, "各指标的方向（正向/负向）"),
        ) if flag]


METHODS: dict[str, Method] = {m.id: m for m in (
    # ---------------------------------------------------------------- aggregation (评价方法)
    Method("wsum", AGGREGATE, "加权求和", "综合得分 = 满分 × Σ 权重 × 标准化值",
           additive=True, default_normalize="minmax",
           score="{scale} × Σ 权重 × 标准化值（百分制，最高 {scale} 分）"),
    Method("topsis", AGGREGATE, "TOPSIS 逼近理想解法",
           "v = 权重 × 标准化值；到正理想点（各指标最好值）的距离 D⁺、到负理想点的距离 D⁻；"
           "综合得分 = 满分 × D⁻/(D⁺+D⁻)，全部相同时贴近度为 0.5",
           relative=True, default_normalize="vector", normalizations=("vector", "minmax"),
           score="{scale} × TOPSIS 贴近度 D⁻/(D⁺+D⁻)（百分制）"),
    # ---------------------------------------------------------------- weighting (赋权方法)
    Method("fixed", WEIGHTS, "固定权重", "考核办法事先公布的权重，自动归一（合计为 1）", needs_weights=True,
           directional=False),
    Method("entropy", WEIGHTS, "熵权法",
           "方向感知的极差标准化后按信息熵赋权（0·ln0 = 0），取值都相同的指标权重为 0；至少 2 个开发区",
           relative=True),
    Method("entropy_raw", WEIGHTS, "熵权法（原始数据）",
           "论文常用形式：pᵢⱼ = xᵢⱼ / Σᵢ xᵢⱼ 按信息熵赋权；原始数据须非负，不区分方向",
           directional=False, relative=True),
    Method("ahp", WEIGHTS, "层次分析法（AHP）",
           "判断矩阵（如 1,3,5;1/3,1,3;1/5,1/3,1）的主特征向量；一致性比率 CR ≥ 0.10 时报错并给出 CR",
           needs_pairwise=True, directional=False),
    Method("combined", WEIGHTS, "组合赋权（主观权重与熵权）", "α × 主观权重 + (1 − α) × 熵权",
           needs_weights=True, needs_alpha=True, relative=True),
    # ---------------------------------------------------------------- normalisation (标准化方法)
    Method("minmax", NORMALIZE, "极差标准化",
           "(x − 最小值)/(最大值 − 最小值)，负向指标为 (最大值 − x)/(最大值 − 最小值)；取值都相同时为 1",
           group_aware=True),
    Method("efficacy", NORMALIZE, "功效系数法",
           "60 + 40 × 极差标准化值；给出满意值、不允许值时为 60 + 40 × (x − 不允许值)/(满意值 − 不允许值)（不截断）；"
           "综合得分仍是百分制，超过满意值按 100 分计",
           group_aware=True, anchors=True, points=100.0, absolute="功效系数法（满意值、不允许值为固定标准）",
           score="Σ 权重 × 功效分（每项 60–100 分，超过满意值按 100 分计；百分制）"),
    Method("benchmark", NORMALIZE, "对标法（实际值/标杆值）",
           "实际值/标杆值，负向指标为 标杆值/实际值；不低于 0，超过标杆值不封顶",
           needs_benchmark=True, absolute="对标法（标杆值为固定标准）",
           score="{scale} × Σ 权重 × 实际值/标杆值（各项达到标杆值时为 {scale} 分，超过标杆值不封顶）"),
    Method("vector", NORMALIZE, "向量标准化", "x / √Σx²，负向指标为 1 − x / √Σx²", group_aware=True),
    Method("sum", NORMALIZE, "比重标准化", "x / Σx，负向指标为 (1/x) / Σ(1/x)", group_aware=True),
    Method("max", NORMALIZE, "最大值标准化", "x / 最大值，负向指标为 最小值 / x", group_aware=True),
    Method("zscore", NORMALIZE, "Z 分数标准化", "(x − 均值)/样本标准差，负向指标取相反数；取值都相同时为 0",
           group_aware=True, score="Σ 权重 × Z 分数（均值为 0 的标准分，不是百分制）"),
)}


# what a ranking uses when nobody chose (the normalisation: the aggregation's default_normalize);
# fixed weights are also what a system that states weights implies
DEFAULTS = {AGGREGATE: "wsum", WEIGHTS: "fixed"}


def of_kind(kind: str) -> tuple[str, ...]:
    """The ids of one kind, in the order the docs and the help list them."""
    return tuple(m.id for m in METHODS.values() if m.kind == kind)


AGGREGATIONS, WEIGHTINGS, NORMALIZATIONS = of_kind(AGGREGATE), of_kind(WEIGHTS), of_kind(NORMALIZE)


def choices(kind: str, udf: bool = False, default: str = "", form: str = "{id} {label}") -> str:
    """'wsum 加权求和、topsis TOPSIS 逼近理想解法' — the CLI's help, the UDFs' argument help and the
    errors list the methods of a kind so; `udf`: only those a worksheet function takes, the default marked."""
    return "、".join(form.format(id=m.id, label=m.label) + ("（默认）" if m.id == default else "")
                     for m in METHODS.values() if m.kind == kind and (m.in_udf or not udf))


def traits(m: Method) -> list[str]:
    """How a method behaves, in Chinese (docs/评价方法.md and the manual's table)."""
    if m.kind == NORMALIZE:
        used_by = [a.label for a in METHODS.values() if a.kind == AGGREGATE
                   and (not a.normalizations or m.id in a.normalizations)]
        return [("取决于一起标准化的开发区（全部参评开发区一起；口径规定 normalize_within = \"group\" 时各组分别）"
                 if m.group_aware else "每个数值单独换算，分组与否结果相同"),
                *(["参数全部给出时可作固定标准（见表下说明）"] if m.absolute else []),
                "用于" + "、".join(used_by)]
    if m.kind == WEIGHTS:
        return ["随参评开发区的数据变化" if m.relative else "事先确定，不随其他开发区的数据变化",
                *(["不区分指标方向"] if m.relative and not m.directional else [])]
    only = (f"只用 {'、'.join(m.normalizations)} 标准化（选了其他的改用 {m.default_normalize}）"
            if m.normalizations else f"默认 {m.default_normalize} 标准化，可用任一标准化方法")
    return [only, ("各指标得分相加即综合得分，「得分分析」列出每项较组内第一少得多少" if m.additive else
                   "「得分分析」列出各指标在到正、负理想点距离中所占的比例"),
            *(["得分随其他开发区的数据变化"] if m.relative else [])]


def absolute_rule() -> str:
    """When a composite score is a fixed standard (a cut-off then means 不合格), from the flags."""
    fixed = lambda kind: "或".join(m.label for m in METHODS.values() if m.kind == kind and not m.relative)
    standards = "或".join(m.absolute for m in METHODS.values() if m.kind == NORMALIZE and m.absolute)
    return (f"综合得分只在评价方法为{fixed(AGGREGATE)}、赋权方法为{fixed(WEIGHTS)}、标准化方法为{standards}"
            "（参数全部给出、没有补齐的缺失值）时是固定标准，低于口径的分数线即为考核不合格；"
            "其他组合下得分是开发区之间的相对位置。")


def normalization_for(method: str, normalize: str) -> str:
    """The normalisation an aggregation actually applies: TOPSIS takes vector or minmax, else its default."""
    agg = METHODS[method]
    return normalize if not agg.normalizations or normalize in agg.normalizations else agg.default_normalize


def score_formula(method: str, normalize: str, scale: float) -> str:
    """计算说明's 综合得分 formula of an aggregation with a normalisation."""
    agg, norm = METHODS[method], METHODS[normalize]
    template = (norm.score or agg.score) if agg.additive else agg.score
    return template.format(scale=f"{scale:g}")
