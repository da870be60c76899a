//! The apply lease (issue 22 §10): two applies of one stack and env never interleave. Against
//! the local emulator the lease is off by default; these tests turn it on with --lock.

mod common;

use common::*;

/// Plants a lease item as another apply would hold it, promising renewal within `lease_s`; its
/// `expires` (another host's clock, here an hour behind) must not count.
fn plant(emu: &Emulator, host: &str, pid: u32, lease_s: i64) {
    emu.py(&format!(
        "import time\n\
         try:\n    ddb.create_table(TableName='cruddur-infra-locks', BillingMode='PAY_PER_REQUEST', \
         AttributeDefinitions=[{{'AttributeName': 'lock', 'AttributeType': 'S'}}], KeySchema=[{{'AttributeName': 'lock', 'KeyType': 'HASH'}}])\n\
         except Exception:\n    pass\n\
         t = int(time.time())\n\
         ddb.put_item(TableName='cruddur-infra-locks', Item={{'lock': {{'S': 'cruddur/local'}}, 'holder': {{'S': 'ci@runner'}}, \
         'host': {{'S': '{host}'}}, 'pid': {{'N': '{pid}'}}, 'token': {{'S': 'theirs'}}, 'since': {{'N': str(t - 60)}}, \
         'rvn': {{'S': 'v1'}}, 'lease_ms': {{'N': str({lease_s} * 1000)}}, 'expires': {{'N': str(t - 3600)}}}})"
    ));
}

fn lease_item(emu: &Emulator) -> String {
    emu.py("print('Item' in ddb.get_item(TableName='cruddur-infra-locks', Key={'lock': {'S': 'cruddur/local'}}, ConsistentRead=True))")
        .trim()
        .to_string()
}

fn functions(emu: &Emulator) -> String {
    emu.py("print(len(lam.list_functions()['Functions']))").trim().to_string()
}

#[test]
fn a_held_lease_refuses_apply_naming_the_holder_and_changes_nothing() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    plant(&emu, "runner-7", 4242, 300);
    let run = emu.cli(ws.path(), &["apply", "--yes", "--lock"]);
    run.expect(1);
    assert!(run.stderr.contains("another apply holds the lease of stack cruddur env local"), "{}", run.stderr);
    assert!(run.stderr.contains("ci@runner (pid 4242 on runner-7)") && run.stderr.contains("--lock-timeout"), "{}", run.stderr);
    assert_eq!(functions(&emu), "0");
    assert_eq!(lease_item(&emu), "True", "their lease was touched");
}

#[test]
fn a_lease_is_judged_on_the_waiters_clock_never_by_the_holders_expiry() {
    // The holder's host clock is an hour behind: by its `expires` the lease ran out long ago, but
    // it promised renewal within 300 s and the waiter has not watched that long.
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    plant(&emu, "runner-7", 4242, 300);
    let run = emu.cli(ws.path(), &["apply", "--yes", "--lock", "--lock-timeout", "3s"]);
    run.expect(1);
    assert!(run.stderr.contains("another apply holds the lease") && run.stderr.contains("measured here"), "{}", run.stderr);
    assert_eq!(functions(&emu), "0");
}

#[test]
fn a_lease_table_still_creating_is_waited_for_before_the_first_put() {
    // Another apply has just created the table of leases: it is CREATING, and AWS refuses items
    // until it is ACTIVE (rule 37).
    let emu = Emulator::with_busy_seconds("2.0");
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    emu.py(
        "ddb.create_table(TableName='cruddur-infra-locks', BillingMode='PAY_PER_REQUEST', \
         AttributeDefinitions=[{'AttributeName': 'lock', 'AttributeType': 'S'}], KeySchema=[{'AttributeName': 'lock', 'KeyType': 'HASH'}])",
    );
    let run = emu.cli(ws.path(), &["apply", "--yes", "--lock"]);
    run.expect(0);
    assert_eq!(emu.py("print(ddb.describe_table(TableName='cruddur-infra-locks')['Table']['TableStatus'])").trim(), "ACTIVE");
}

#[test]
fn apply_waits_for_an_expiring_lease_and_gives_its_own_back() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    plant(&emu, "runner-7", 4242, 3);
    let run = emu.cli(ws.path(), &["apply", "--yes", "--lock", "--lock-timeout", "60s"]);
    run.expect(0);
    assert!(run.stderr.contains("waiting for the lease of cruddur/local, held by ci@runner"), "{}", run.stderr);
    assert_eq!(functions(&emu), "1");
    assert_eq!(lease_item(&emu), "False", "the lease was not released");
}

#[test]
fn a_lease_of_a_killed_apply_on_this_host_is_taken_over_at_once() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let host = emu.py("import socket\nprint(socket.gethostname())").trim().to_string();
    // The highest pid Linux hands out: no process runs there.
    plant(&emu, &host, 4_194_303, 300);
    let run = emu.cli(ws.path(), &["apply", "--yes", "--lock"]);
    run.expect(0);
    assert!(run.stderr.contains("which no longer runs: taking it over"), "{}", run.stderr);
    assert_eq!(lease_item(&emu), "False");
}

#[test]
fn two_applies_at_once_take_turns() {
    let emu = Emulator::with_delays("0.5", "1.0");
    let ws = Workspace::shipped();
    let spawn = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "apply", "--yes", "--lock", "--lock-timeout", "5m"]);
        isolated(&mut cmd).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (Run::from(a.wait_with_output().unwrap()), Run::from(b.wait_with_output().unwrap()));
    a.expect(0);
    b.expect(0);
    assert!(a.stderr.contains("waiting for the lease") || b.stderr.contains("waiting for the lease"), "{}\n---\n{}", a.stderr, b.stderr);
    // One of each: the second planned after the first had applied.
    let count = emu.py("print(len(lam.list_functions()['Functions']), len(lam.list_event_source_mappings()['EventSourceMappings']), \
         len([e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] not in ('deleted', 'deleting')]))");
    assert_eq!(count.trim(), "1 1 1");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
