//! The AWS-rules proxy itself refuses what AWS refuses; otherwise the table tests prove little.

mod common;

use common::*;

#[test]
fn the_proxy_enforces_dynamodb_rules_that_moto_does_not() {
    let emu = Emulator::with_busy_seconds("1.0");
    let out = emu.py(
        r#"
import time
from botocore.exceptions import ClientError
def code(f):
    try:
        f(); return 'ok'
    except ClientError as e:
        return e.response['Error']['Code']
S = {'AttributeName': 'sk', 'AttributeType': 'S'}
ddb.create_table(TableName='ttt', AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
    ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5})
print(ddb.describe_table(TableName='ttt')['Table']['TableStatus'])
pt = {'ReadCapacityUnits': 6, 'WriteCapacityUnits': 5}
print(code(lambda: ddb.update_table(TableName='ttt', ProvisionedThroughput=pt)))
time.sleep(1.1)
print(code(lambda: ddb.update_table(TableName='ttt', ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5})))
def gsi(n):
    return {'Create': {'IndexName': n, 'KeySchema': [{'AttributeName': 'sk', 'KeyType': 'HASH'}],
        'Projection': {'ProjectionType': 'ALL'}, 'ProvisionedThroughput': {'ReadCapacityUnits': 1, 'WriteCapacityUnits': 1}}}
print(code(lambda: ddb.update_table(TableName='ttt', AttributeDefinitions=[S], GlobalSecondaryIndexUpdates=[gsi('idx-a'), gsi('idx-b')])))
print(code(lambda: ddb.update_table(TableName='ttt', AttributeDefinitions=[S], GlobalSecondaryIndexUpdates=[gsi('idx-a')])))
t = ddb.describe_table(TableName='ttt')['Table']
print(t['TableStatus'], t['GlobalSecondaryIndexes'][0]['IndexStatus'])
"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "CREATING",
            "ResourceInUseException",
            "ValidationException",
            "LimitExceededException",
            "ok",
            "UPDATING CREATING",
        ]
    );
}
