"""assessment.yaml: indicator weights, satisfaction weights, the surge rule, the
repeat window and the major-risk words, validated with errors that name the field."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from admin_data.loader import AdminFile, ConfigFileError, load_admin_file

#: The rates the composite score weighs, in the order bulletins show them.
RATES = ("sign_for_on_time", "feedback_on_time", "completion_on_time", "solved", "satisfied")
EVALUATIONS = ("satisfied", "basically_satisfied", "unsatisfied")


class AssessmentConfigError(ConfigFileError):
    """assessment.yaml is not valid."""


def _weights_schema(names: tuple[str, ...], value_range: validate.Range) -> type[Schema]:
    return Schema.from_dict({name: fields.Float(required=True, validate=value_range)
                             for name in names})


IndicatorWeightsSchema = _weights_schema(RATES, validate.Range(min=0, max=100))
SatisfactionWeightsSchema = _weights_schema(EVALUATIONS, validate.Range(min=0, max=1))


class SurgeSchema(Schema):
    baseline_weeks = fields.Integer(required=True, validate=validate.Range(min=2, max=52))
    min_count = fields.Integer(required=True, validate=validate.Range(min=1))
    alpha = fields.Float(required=True,
                         validate=validate.Range(min=0, max=0.5, min_inclusive=False))
    baseline_floor = fields.Float(required=True,
                                  validate=validate.Range(min=0, min_inclusive=False))


class RiskWordsSchema(Schema):
    """The major-risk words: what their editor shows of the file."""
    major_risk_words = fields.List(
        fields.String(validate=validate.Length(min=1, max=20, error="每个风险词 1 到 20 个字")),
        required=True, validate=validate.Length(min=1, error="至少要有一个重大风险词"),
        metadata={"label": "重大风险词", "items": True, "blank_rows": 3, "help": (
            "诉求的标题、内容或地址含其中一个词 (忽略空格) 时, 立即提醒热线中心和当日坐班的县领导")})

    @validates("major_risk_words")
    def words_once(self, words: list[str], **_) -> None:
        twice = sorted({word for word in words if words.count(word) > 1})
        if twice:
            raise ValidationError(f"风险词重复: {'、'.join(twice)}")


class AssessmentSchema(RiskWordsSchema):
    indicator_weights = fields.Nested(IndicatorWeightsSchema, required=True)
    satisfaction_weights = fields.Nested(SatisfactionWeightsSchema, required=True)
    surge = fields.Nested(SurgeSchema, required=True)
    repeat_window_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))

    @validates_schema
    def weights_add_up(self, data, **kwargs):
        check_weights(data["indicator_weights"])


def check_weights(weights: dict) -> None:
    """The composite score's weights are percentages of it: they must add up to 100."""
    total = sum(weights.values())
    if abs(total - 100) > 1e-6:
        raise ValidationError({"indicator_weights": [
            f"各项权重之和应为 100, 实际为 {total:g} (weights must add up to 100)"]})


@dataclasses.dataclass(frozen=True)
class SurgeRule:
    baseline_weeks: int
    min_count: int
    alpha: float
    baseline_floor: float


@dataclasses.dataclass(frozen=True)
class AssessmentConfig:
    indicator_weights: dict[str, float]
    satisfaction_weights: dict[str, float]
    surge: SurgeRule
    repeat_window_days: int
    major_risk_words: tuple[str, ...]


def load_assessment_config(path: Path | None = None) -> AssessmentConfig:
    data = load_admin_file(path or ASSESSMENT.path(), AssessmentSchema(), AssessmentConfigError)
    return AssessmentConfig(indicator_weights=data["indicator_weights"],
                            satisfaction_weights=data["satisfaction_weights"],
                            surge=SurgeRule(**data["surge"]),
                            repeat_window_days=data["repeat_window_days"],
                            major_risk_words=tuple(data["major_risk_words"]))


ASSESSMENT = AdminFile("assessment.yaml", load_assessment_config)
