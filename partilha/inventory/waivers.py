"""Waivers (`waivers.yaml` of an inventory): a documented exception to one policy rule for one
resource — who granted it, why, and until when. The policy pack lets a waived finding through
and reports it as waived; once `until` has passed the waiver no longer counts. Whether `rule`
names a rule of the pack is checked where the pack is known (partilha.policy.waivers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

RuleId = Annotated[str, Field(pattern=r"^PTL-POL-[A-Z]+-\d{2}$")]


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: RuleId
    resource: Annotated[str, Field(min_length=1, max_length=200,
                                   description="the resource's name, as policy results name it")]
    stack: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    who: Annotated[str, Field(min_length=1, max_length=120)]
    why: Annotated[str, Field(min_length=1, max_length=1000)]
    until: dt.date

    def active(self, today: dt.date) -> bool:
        return today <= self.until
