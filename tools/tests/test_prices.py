"""scripts/refresh-prices: the Price List documents parsed into pricing/prices.json's shape."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import prices  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def product(usagetype, *tiers):
    """A PriceList document as GetProducts returns it (a JSON string), with price tiers."""
    dims = {f"D{i}": {"pricePerUnit": {"USD": str(p)}, "beginRange": str(i)} for i, p in enumerate(tiers)}
    return json.dumps({"product": {"attributes": {"usagetype": usagetype}}, "terms": {"OnDemand": {"T": {"priceDimensions": dims}}}})


def answers(prefix):
    return {
        "AmazonDynamoDB": [
            product(f"{prefix}ReadCapacityUnit-Hrs", 0, 0.000143),  # a free tier, then the price
            product(f"{prefix}WriteCapacityUnit-Hrs", 0, 0.000715),
            product(f"{prefix}IA-ReadCapacityUnit-Hrs", 0.000178),
            product(f"{prefix}IA-WriteCapacityUnit-Hrs", 0.000891),
            product(f"{prefix}TimedPITRStorage-ByteHrs", 0.22),
            product(f"{prefix}TimedStorage-ByteHrs", 0.275),  # storage: usage, not kept
        ],
        "AmazonCloudWatch": [product(f"{prefix}CW:AlarmMonitorUsage", 0, 0.1), product(f"{prefix}CW:HighResAlarmMonitorUsage", 0.3)],
    }


def test_a_region_with_a_prefix_is_parsed_past_its_free_tier():
    r = prices.region_prices(answers("CAN1-"), "ca-central-1")
    assert r["dynamodb"]["standard"] == {"rcu_hour": 0.000143, "wcu_hour": 0.000715}
    assert r["dynamodb"]["standard_infrequent_access"] == {"rcu_hour": 0.000178, "wcu_hour": 0.000891}
    assert r["dynamodb"]["pitr_gb_month"] == 0.22
    assert r["cloudwatch"] == {"alarm_month": 0.1, "high_resolution_alarm_month": 0.3}
    # us-east-1's usage types have no prefix.
    assert prices.region_prices(answers(""), "us-east-1")["dynamodb"]["standard"]["rcu_hour"] == 0.000143
    # eu-west-1's prefix has no digit; us-east-1's IA- is not a prefix to strip.
    assert prices.region_prices(answers("EU-"), "eu-west-1")["dynamodb"]["standard_infrequent_access"]["wcu_hour"] == 0.000891


def test_a_missing_price_is_an_error_not_a_zero():
    a = answers("")
    a["AmazonCloudWatch"] = a["AmazonCloudWatch"][:1]
    try:
        prices.region_prices(a, "us-east-1")
    except SystemExit as e:
        assert "cloudwatch.high_resolution_alarm_month" in str(e)
    else:
        raise AssertionError("no error")


def test_the_script_rewrites_the_table_from_saved_answers(tmp_path):
    out = tmp_path / "prices.json"
    shutil.copy(os.path.join(ROOT, "pricing", "prices.json"), out)
    for service, docs in answers("CAN1-").items():
        (tmp_path / f"{service}-ca-central-1.json").write_text(json.dumps(docs))
    prices.main(["--region", "ca-central-1", "--from-dir", str(tmp_path), "--out", str(out)])
    table = json.loads(out.read_text())
    assert table["regions"]["ca-central-1"]["dynamodb"]["standard"]["wcu_hour"] == 0.000715
    assert "us-east-1" in table["regions"] and table["source"] and table["date"]
