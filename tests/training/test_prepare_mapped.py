"""`prepare_training_data` through the shipped Salesforce and HubSpot mappings: the same
generated truth in an export's shape trains a model within noise of the native folder's
(test ROC AUC to ±0.01 on the same seed), with the same labelled rows and oracle."""

from __future__ import annotations

import pytest

from data_contracts.mapping import shipped_mapping
from data_contracts.synthetic import generate_to_folder
from training.fit_evaluate import Candidate, fit_and_evaluate
from training.prepare import TrainingData, prepare_training_data

N_LEADS = 3_000
SEED = 7
AUC_NOISE = 0.01


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[TrainingData, Candidate]]:
    root = tmp_path_factory.mktemp("mapped_training")
    out: dict[str, tuple[TrainingData, Candidate]] = {}
    for shape in ("native", "salesforce", "hubspot"):
        folder = root / shape
        generate_to_folder(N_LEADS, SEED, folder, shape=shape)
        mapping = None if shape == "native" else shipped_mapping(shape)
        data = prepare_training_data(folder, mapping=mapping)
        out[shape] = (data, fit_and_evaluate(data))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["salesforce", "hubspot"])
def test_prepare_mapped_export_trains_like_the_native_folder(
    trained: dict[str, tuple[TrainingData, Candidate]], shape: str
) -> None:
    native_data, native = trained["native"]
    data, candidate = trained[shape]
    assert len(data.X) == len(native_data.X) and data.y.sum() == native_data.y.sum()
    assert data.oracle is not None and native_data.oracle is not None
    assert (data.oracle == native_data.oracle).all()
    assert [fs.label for fs in data.features.feature_sets] == [
        fs.label for fs in native_data.features.feature_sets
    ]
    auc = candidate.test_metrics["combined"]["roc_auc"]
    assert abs(auc - native.test_metrics["combined"]["roc_auc"]) <= AUC_NOISE
    assert auc > 0.6
