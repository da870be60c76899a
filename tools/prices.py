"""Refreshes pricing/prices.json from the AWS Price List API (docs/pricing.md).

    scripts/refresh-prices [--region R ...] [--from-dir DIR]

For each region, GetProducts on AmazonDynamoDB and AmazonCloudWatch (the Price List API is served
from us-east-1), then the hourly price of a provisioned read and write capacity unit (Standard and
Standard-IA), point-in-time recovery per GB-month, and an alarm a month (standard and high
resolution). `--from-dir DIR` reads saved GetProducts answers (DIR/<service>-<region>.json, a
list of PriceList documents) instead: how the parsing is tested without the network.
"""

import argparse
import datetime
import json
import os
import sys

# usagetype suffix -> (path in the region's entry, divisor). PITR is sold per GB-month (usagetype
# TimedPITRStorage-ByteHrs, unit GB-Mo); the others per hour or per alarm-month.
DYNAMODB = {
    "ReadCapacityUnit-Hrs": ("dynamodb.standard.rcu_hour", 1),
    "WriteCapacityUnit-Hrs": ("dynamodb.standard.wcu_hour", 1),
    "IA-ReadCapacityUnit-Hrs": ("dynamodb.standard_infrequent_access.rcu_hour", 1),
    "IA-WriteCapacityUnit-Hrs": ("dynamodb.standard_infrequent_access.wcu_hour", 1),
    "TimedPITRStorage-ByteHrs": ("dynamodb.pitr_gb_month", 1),
}
CLOUDWATCH = {
    "CW:AlarmMonitorUsage": ("cloudwatch.alarm_month", 1),
    "CW:HighResAlarmMonitorUsage": ("cloudwatch.high_resolution_alarm_month", 1),
}


def price_of(product):
    """The on-demand USD price past any free tier: the highest of its price dimensions."""
    best = 0.0
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            best = max(best, float(dim.get("pricePerUnit", {}).get("USD", "0")))
    return best


# The usagetype prefix of each region in the price list (us-east-1 has none; eu-west-1's is
# "EU-"): a region missing here is an error, never a guess.
REGION_PREFIXES = {
    "us-east-1": "",
    "us-east-2": "USE2-",
    "us-west-1": "USW1-",
    "us-west-2": "USW2-",
    "ca-central-1": "CAN1-",
    "eu-west-1": "EU-",
    "eu-west-2": "EUW2-",
    "eu-west-3": "EUW3-",
    "eu-central-1": "EUC1-",
    "eu-north-1": "EUN1-",
    "ap-northeast-1": "APN1-",
    "ap-northeast-2": "APN2-",
    "ap-southeast-1": "APS1-",
    "ap-southeast-2": "APS2-",
    "ap-south-1": "APS3-",
    "sa-east-1": "SAE1-",
}


def usagetype_key(usagetype, table, region):
    """The table's key of `usagetype`: its region's prefix removed, and nothing else."""
    prefix = REGION_PREFIXES[region]
    if not usagetype.startswith(prefix):
        return None
    bare = usagetype[len(prefix):]
    return bare if bare in table else None


def region_prices(products_by_service, region):
    """{service: [PriceList document, ...]} of `region` -> its entry of prices.json."""
    if region not in REGION_PREFIXES:
        raise SystemExit(f"refresh-prices: the usage-type prefix of {region} is not known: add it to REGION_PREFIXES")
    out = {}
    for service, table in (("AmazonDynamoDB", DYNAMODB), ("AmazonCloudWatch", CLOUDWATCH)):
        for doc in products_by_service.get(service, []):
            product = json.loads(doc) if isinstance(doc, str) else doc
            key = usagetype_key(product.get("product", {}).get("attributes", {}).get("usagetype", ""), table, region)
            if key is None:
                continue
            path, divisor = table[key]
            price = price_of(product) / divisor
            node = out
            *parents, leaf = path.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = max(price, node.get(leaf, 0.0))
    missing = [path for t in (DYNAMODB, CLOUDWATCH) for path, _ in t.values() if not _get(out, path)]
    if missing:
        raise SystemExit(f"refresh-prices: no price found for {', '.join(missing)}")
    return out


def _get(d, path):
    for p in path.split("."):
        d = d.get(p) if isinstance(d, dict) else None
    return d


def fetch(region):
    import boto3  # in .venv (moto's dependency)

    client = boto3.client("pricing", region_name="us-east-1")
    out = {}
    for service in ("AmazonDynamoDB", "AmazonCloudWatch"):
        docs = []
        for page in client.get_paginator("get_products").paginate(
            ServiceCode=service, Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
        ):
            docs.extend(page["PriceList"])
        out[service] = docs
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", action="append", default=None)
    ap.add_argument("--from-dir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "pricing", "prices.json"))
    args = ap.parse_args(argv)
    with open(args.out) as f:
        table = json.load(f)
    for region in args.region or sorted(table["regions"]):
        if args.from_dir:
            products = {}
            for service in ("AmazonDynamoDB", "AmazonCloudWatch"):
                with open(os.path.join(args.from_dir, f"{service}-{region}.json")) as f:
                    products[service] = json.load(f)
        else:
            products = fetch(region)
        table["regions"][region] = region_prices(products, region)
    table["date"] = datetime.date.today().isoformat()
    with open(args.out, "w") as f:
        json.dump(table, f, indent=2)
        f.write("\n")
    print(f"refresh-prices: {args.out} ({', '.join(sorted(table['regions']))}) as of {table['date']}", file=sys.stderr)


if __name__ == "__main__":
    main()
