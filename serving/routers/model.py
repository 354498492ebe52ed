"""`/v1/model`: which version serves, who signed it off, its policy, window and numbers."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import ApiKey, ChampionDep
from serving.schemas import ErrorOut, ModelOut

router = APIRouter(prefix="/v1/model", tags=["model"], dependencies=[ApiKey])


@router.get(
    "",
    response_model=ModelOut,
    responses={401: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def get_model(champion: ChampionDep) -> ModelOut:
    """The serving champion as reviewers approved it."""
    return ModelOut.model_validate(
        {
            "name": champion.name,
            "version": champion.version,
            "run_id": champion.run_id,
            "loaded_at": champion.loaded_at,
            "binding": champion.binding,
            "signoffs": champion.signoffs,
            "policy": champion.policy,
            "training_window": champion.training_window,
            "metrics": champion.metrics,
            "feature_sets": champion.feature_sets,
            "contract_version": champion.contract_version,
            "extras": champion.extras,
            "source": champion.source,
        }
    )
