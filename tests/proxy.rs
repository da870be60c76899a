//! The AWS-rules proxy itself refuses what AWS refuses; otherwise the table tests prove little.

mod common;

use common::*;

/// Python: `code(f)` runs `f` and says `ok` or the error code AWS (or the proxy) answered.
const CODE: &str = "from botocore.exceptions import ClientError\n\
def code(f):\n    try:\n        f(); return 'ok'\n    except ClientError as e:\n        return e.response['Error']['Code']\n";

#[test]
fn the_proxy_enforces_dynamodb_rules_that_moto_does_not() {
    // A window well above moto's slowest first answer (~1 s on a cold, loaded machine), so the
    // table is still CREATING when the test looks.
    let emu = Emulator::with_busy_seconds("4.0");
    let out = emu.py(&format!(
        "{CODE}{}",
        r#"
import time
S = {'AttributeName': 'sk', 'AttributeType': 'S'}
ddb.create_table(TableName='ttt', AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
    ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5})
print(ddb.describe_table(TableName='ttt')['Table']['TableStatus'])
pt = {'ReadCapacityUnits': 6, 'WriteCapacityUnits': 5}
print(code(lambda: ddb.update_table(TableName='ttt', ProvisionedThroughput=pt)))
time.sleep(4.1)
print(code(lambda: ddb.update_table(TableName='ttt', ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5})))
def gsi(n):
    return {'Create': {'IndexName': n, 'KeySchema': [{'AttributeName': 'sk', 'KeyType': 'HASH'}],
        'Projection': {'ProjectionType': 'ALL'}, 'ProvisionedThroughput': {'ReadCapacityUnits': 1, 'WriteCapacityUnits': 1}}}
print(code(lambda: ddb.update_table(TableName='ttt', AttributeDefinitions=[S], GlobalSecondaryIndexUpdates=[gsi('idx-a'), gsi('idx-b')])))
print(code(lambda: ddb.update_table(TableName='ttt', AttributeDefinitions=[S], GlobalSecondaryIndexUpdates=[gsi('idx-a')])))
t = ddb.describe_table(TableName='ttt')['Table']
print(t['TableStatus'], t['GlobalSecondaryIndexes'][0]['IndexStatus'])
"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["CREATING", "ResourceInUseException", "ValidationException", "LimitExceededException", "ok", "UPDATING CREATING",]);
}

#[test]
fn the_proxy_enforces_lambda_and_iam_rules_that_moto_does_not() {
    let emu = Emulator::with_delays("1.0", "1.5");
    let out = emu.py(&format!(
        "{CODE}{}",
        r#"
import io, time, zipfile
b = io.BytesIO(); z = zipfile.ZipFile(b, 'w'); z.writestr('lambda_function.py', 'x = 1'); z.close()
role = iam.create_role(RoleName='r', AssumeRolePolicyDocument='{}')['Role']['Arn']
mk = lambda: lam.create_function(FunctionName='fn', Runtime='python3.12', Role=role, Handler='lambda_function.h', Code={'ZipFile': b.getvalue()})
print(code(mk))
time.sleep(1.6)
print(code(mk))
print(lam.get_function(FunctionName='fn')['Configuration']['State'])
print(code(lambda: lam.update_function_configuration(FunctionName='fn', MemorySize=256)))
time.sleep(1.1)
print(code(lambda: lam.update_function_configuration(FunctionName='fn', MemorySize=256)))
print(lam.get_function_configuration(FunctionName='fn')['LastUpdateStatus'])
t = ddb.create_table(TableName='ttt', AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}], BillingMode='PAY_PER_REQUEST',
    StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_IMAGE'})['TableDescription']
esm = lambda: lam.create_event_source_mapping(FunctionName='fn', EventSourceArn=t['LatestStreamArn'], StartingPosition='LATEST')
print(code(esm))
print(lam.list_event_source_mappings(FunctionName='fn')['EventSourceMappings'][0]['State'])
print(code(esm))
"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "InvalidParameterValueException",
            "ok",
            "Pending",
            "ResourceConflictException",
            "ok",
            "InProgress",
            "ok",
            "Creating",
            "ResourceConflictException",
        ]
    );
}

#[test]
fn the_proxy_refuses_scaling_what_is_not_active_and_deregisters_as_aws_does() {
    let emu = Emulator::with_busy_seconds("4.0");
    let out = emu.py(&format!(
        "{CODE}{}",
        r#"
import time
ddb.create_table(TableName='sss', AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
    ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5})
def reg(rid, dim='table'):
    return lambda: aas.register_scalable_target(ServiceNamespace='dynamodb', ResourceId=rid,
        ScalableDimension=f'dynamodb:{dim}:ReadCapacityUnits', MinCapacity=5, MaxCapacity=50)
print(code(reg('table/sss')), code(reg('table/none')), code(reg('table/sss/index/none', 'index')))
time.sleep(4.1)
print(code(reg('table/sss')))
time.sleep(1.2)  # a new target is visible a moment later (rule 35)
aas.put_scaling_policy(PolicyName='p', ServiceNamespace='dynamodb', ResourceId='table/sss',
    ScalableDimension='dynamodb:table:ReadCapacityUnits', PolicyType='TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration={'TargetValue': 70.0,
        'PredefinedMetricSpecification': {'PredefinedMetricType': 'DynamoDBReadCapacityUtilization'}})
dereg = lambda: aas.deregister_scalable_target(ServiceNamespace='dynamodb', ResourceId='table/sss',
    ScalableDimension='dynamodb:table:ReadCapacityUnits')
time.sleep(0.4)  # a write right after another to the same target is a pending update (rule 35)
first = code(dereg)
time.sleep(0.4)
print(first, len(aas.describe_scaling_policies(ServiceNamespace='dynamodb')['ScalingPolicies']), code(dereg))
"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["ValidationException ValidationException ValidationException", "ok", "ok 0 ObjectNotFoundException"]);
}

/// Time to live once an hour; encryption and class kept as AWS keeps them (moto's UpdateTable
/// ignores both).
#[test]
fn the_proxy_allows_one_ttl_change_an_hour_and_keeps_a_tables_encryption_and_class() {
    let emu = Emulator::with_busy_seconds("0.2");
    let out = emu.py(&format!(
        "{CODE}{}",
        r#"
import time
ddb.create_table(TableName='ttt', AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}], BillingMode='PAY_PER_REQUEST')
time.sleep(0.3)
spec = lambda on: {'Enabled': on, 'AttributeName': 'exp'}
print(code(lambda: ddb.update_time_to_live(TableName='ttt', TimeToLiveSpecification=spec(True))))
print(code(lambda: ddb.update_time_to_live(TableName='ttt', TimeToLiveSpecification=spec(False))))
t = ddb.describe_table(TableName='ttt')['Table']
print(t.get('SSEDescription'), t.get('TableClassSummary'))
ddb.update_table(TableName='ttt', SSESpecification={'Enabled': True, 'SSEType': 'KMS', 'KMSMasterKeyId': 'arn:aws:kms:us-east-1:123456789012:key/k'})
time.sleep(0.3)
ddb.update_table(TableName='ttt', TableClass='STANDARD_INFREQUENT_ACCESS')
t = ddb.describe_table(TableName='ttt')['Table']
print(t['SSEDescription']['KMSMasterKeyArn'], t['TableClassSummary']['TableClass'])
time.sleep(0.3)
ddb.update_table(TableName='ttt', SSESpecification={'Enabled': False})
print(ddb.describe_table(TableName='ttt')['Table'].get('SSEDescription'))
"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["ok", "ValidationException", "None None", "arn:aws:kms:us-east-1:123456789012:key/k STANDARD_INFREQUENT_ACCESS", "None"]
    );
}
