#!/usr/bin/env python3
"""What a user would write instead of `cruddur-infra plan`: a plain boto3 script that reads the
same resources of the Cruddur stack one call after another. Prints its own read time."""

import sys
import time

import boto3

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
start = time.perf_counter()
sts, ddb, iam, ec2, lam, sqs, logs = (boto3.client(s, **kw) for s in ("sts", "dynamodb", "iam", "ec2", "lambda", "sqs", "logs"))
sts.get_caller_identity()
t = ddb.describe_table(TableName="cruddur-messages")["Table"]
ddb.list_tags_of_resource(ResourceArn=t["TableArn"])
iam.get_role(RoleName="cruddur-messaging-stream")
iam.list_attached_role_policies(RoleName="cruddur-messaging-stream")
for p in iam.list_role_policies(RoleName="cruddur-messaging-stream")["PolicyNames"]:
    iam.get_role_policy(RoleName="cruddur-messaging-stream", PolicyName=p)
vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
f = lam.get_function(FunctionName="cruddur-messaging-stream")
ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])
lam.list_event_source_mappings(FunctionName="cruddur-messaging-stream")
lam.list_event_source_mappings(FunctionName=f["Configuration"]["FunctionArn"])
logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/cruddur-messaging-stream")
q = sqs.get_queue_url(QueueName="cruddur-messaging-stream-dlq")["QueueUrl"]
sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])
sqs.list_queue_tags(QueueUrl=q)
print(f"{time.perf_counter() - start:.4f}")
