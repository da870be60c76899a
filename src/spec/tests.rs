//! Spec validation: one test per error class, asserting the message and its position.

use std::path::Path;

use super::*;

const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem"],"Resource":"${tables.tt1.arn}"}]}"#;

const BASE: &str = "\
version: 1
stack: s
default_env: local
environments:
  local:
    region: us-east-1
  prod:
    region: ca-central-1
    overrides:
      tables:
        tt1:
          deletion_protection: true
tables:
  tt1:
    partition_key: { name: pk, type: S }
    sort_key: { name: sk, type: S }
    billing: provisioned
    capacity: { read: 5, write: 5 }
    global_secondary_indexes:
      gsi1:
        partition_key: { name: g, type: S }
        sort_key: { name: sk, type: S }
        projection: all
        capacity: { read: 5, write: 5 }
    stream: new_image
roles:
  r1:
    trust: [lambda.amazonaws.com]
    managed_policies: [arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB]
    inline_policies:
      p1: policies/p.json
functions:
  f1:
    runtime: python3.12
    handler: lambda_function.lambda_handler
    source: src
    role: r1
    environment:
      TABLE_NAME: ${tables.tt1.name}
    triggers:
      - table: tt1
";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("policies/p.json"), POLICY).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lambda_function.py"), "def lambda_handler(e, c): pass\n").unwrap();
        Fixture { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("infra.yaml")
    }

    /// Loads `text` and resolves `env`; returns the problems.
    fn problems(&self, text: &str, env: &str) -> Vec<Problem> {
        std::fs::write(self.path(), text).unwrap();
        let r = SpecDocument::load(&self.path()).and_then(|d| d.resolve(env).map(|_| ()));
        match r {
            Ok(()) => vec![],
            Err(SpecError::Invalid { problems }) => problems,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// Exactly one problem, at `line:col`, with `field`, whose message contains `msg`.
    fn expect(&self, text: &str, env: &str, line: usize, col: usize, field: &str, msg: &str) {
        let p = self.problems(text, env);
        assert!(
            p.iter().any(|p| p.pos == Some(Pos { line, column: col }) && p.field == field && p.message.contains(msg)),
            "expected {line}:{col} {field}: …{msg}… in {p:#?}"
        );
        assert_eq!(p[0].file, self.path());
    }
}

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_base_fixture_and_the_shipped_spec_are_valid() {
    let f = Fixture::new();
    assert_eq!(f.problems(BASE, "local"), vec![]);
    assert_eq!(f.problems(BASE, "prod"), vec![]);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml");
    let doc = SpecDocument::load(&shipped).unwrap();
    for env in doc.env_names() {
        doc.resolve(&env).unwrap();
    }
}

#[test]
fn overlay_deep_merges_only_what_it_names() {
    let f = Fixture::new();
    std::fs::write(f.path(), BASE).unwrap();
    let doc = SpecDocument::load(&f.path()).unwrap();
    let (local, _) = doc.resolve("local").unwrap();
    let (prod, _) = doc.resolve("prod").unwrap();
    assert!(!local.resources.tables["tt1"].deletion_protection);
    assert!(prod.resources.tables["tt1"].deletion_protection);
    // Everything else of the table is kept.
    assert_eq!(prod.resources.tables["tt1"].capacity, Some(Capacity::new(5, 5)));
    assert_eq!(prod.region, "ca-central-1");
    assert!(matches!(doc.resolve("staging"), Err(SpecError::UnknownEnv { .. })));
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let f = Fixture::new();
    let p = f.problems("version: 1\nstack: [unclosed\n", "local");
    assert_eq!(p.len(), 1);
    assert!(p[0].message.contains("not valid YAML"), "{p:?}");
    assert!(p[0].pos.is_some_and(|p| p.line >= 2));
}

#[test]
fn unknown_field_is_an_error_at_the_field() {
    let f = Fixture::new();
    f.expect(
        &edit("    stream: new_image\n", "    stream: new_image\n    streem: x\n"),
        "local",
        26,
        5,
        "tables.tt1.streem",
        "unknown field `streem`",
    );
}

#[test]
fn wrong_type_is_an_error() {
    let f = Fixture::new();
    f.expect(
        &edit("capacity: { read: 5, write: 5 }\n    global", "capacity: { read: lots, write: 5 }\n    global"),
        "local",
        18,
        17,
        "tables.tt1.capacity.read",
        "invalid type",
    );
}

#[test]
fn missing_required_field_is_an_error_at_its_parent() {
    let f = Fixture::new();
    f.expect(&edit("    runtime: python3.12\n", ""), "local", 33, 3, "functions.f1", "missing required field `runtime`");
}

#[test]
fn unknown_enum_value_is_an_error() {
    let f = Fixture::new();
    f.expect(&edit("stream: new_image", "stream: new_images"), "local", 25, 5, "tables.tt1.stream", "unknown variant `new_images`");
}

#[test]
fn capacity_rules() {
    let f = Fixture::new();
    // provisioned without capacity
    f.expect(
        &edit("    capacity: { read: 5, write: 5 }\n    global", "    global"),
        "local",
        14,
        3,
        "tables.tt1.capacity",
        "needs `capacity",
    );
    // on_demand with capacity
    f.expect(&edit("billing: provisioned", "billing: on_demand"), "local", 18, 5, "tables.tt1.capacity", "on_demand");
    // impossible capacity
    f.expect(
        &edit("read: 5, write: 5 }\n    global", "read: 0, write: 5 }\n    global"),
        "local",
        18,
        17,
        "tables.tt1.capacity.read",
        "between 1 and 40000",
    );
}

#[test]
fn a_projection_is_a_word_or_an_include_list() {
    let f = Fixture::new();
    std::fs::write(f.path(), edit("projection: all", "projection: { include: [body, user_uuid] }")).unwrap();
    let (d, _) = SpecDocument::load(&f.path()).and_then(|d| d.resolve("local")).unwrap();
    assert_eq!(
        d.resources.tables["tt1"].global_secondary_indexes["gsi1"].projection,
        Projection::Include(vec!["body".into(), "user_uuid".into()])
    );
    assert_eq!(serde_yaml::to_string(&Projection::Include(vec!["a".into()])).unwrap(), "include:\n- a\n");
    assert_eq!(serde_json::to_value(Projection::KeysOnly).unwrap(), "keys_only");
    assert!(!f.problems(&edit("projection: all", "projection: everything"), "local").is_empty());
}

#[test]
fn a_role_path_is_an_iam_path() {
    let f = Fixture::new();
    let with = |p: &str| edit("  r1:\n    trust:", &format!("  r1:\n    path: {p}\n    trust:"));
    assert!(f.problems(&with("/service-role/"), "local").is_empty());
    assert!(f.problems(&with("/"), "local").is_empty());
    for bad in ["service-role/", "/a//b/", "/no-end"] {
        let p = f.problems(&with(bad), "local");
        assert!(p.len() == 1 && p[0].field == "roles.r1.path" && p[0].message.contains("not an IAM path"), "{bad}: {p:?}");
    }
}

#[test]
fn named_subnets_and_security_groups_go_together_and_exclude_vpc() {
    let f = Fixture::new();
    let with = |placement: &str| edit("    role: r1\n", &format!("    role: r1\n{placement}"));
    assert!(f
        .problems(&with("    subnets: [subnet-0a1b2c3d4, subnet-0b2c3d4e5]\n    security_groups: [sg-0c3d4e5f6]\n"), "local")
        .is_empty());
    let p = f.problems(&with("    subnets: [subnet-0a1b2c3d4]\n"), "local");
    assert!(p.iter().any(|p| p.field == "functions.f1.subnets" && p.message.contains("go together")), "{p:?}");
    let p = f.problems(&with("    vpc: default\n    subnets: [subnet-0a1b2c3d4]\n    security_groups: [sg-0c3d4e5f6]\n"), "local");
    assert!(p.iter().any(|p| p.field == "functions.f1.subnets" && p.message.contains("not both")), "{p:?}");
    let p = f.problems(&with("    subnets: [vpc-0a1b2c3d4]\n    security_groups: [sg-0c3d4e5f6]\n"), "local");
    assert!(p.iter().any(|p| p.field == "functions.f1.subnets.0" && p.message.contains("subnet-")), "{p:?}");
}

#[test]
fn point_in_time_recovery_is_a_switch_or_a_period() {
    let f = Fixture::new();
    let with = |v: &str| edit("    stream: new_image\n", &format!("    stream: new_image\n    point_in_time_recovery: {v}\n"));
    for ok in ["true", "false", "{ recovery_period_days: 7 }"] {
        assert!(f.problems(&with(ok), "local").is_empty(), "{ok}");
    }
    let p = f.problems(&with("{ recovery_period_days: 36 }"), "local");
    assert!(
        p.len() == 1 && p[0].field == "tables.tt1.point_in_time_recovery.recovery_period_days" && p[0].message.contains("1 to 35"),
        "{p:?}"
    );
    assert!(!f.problems(&with("sometimes"), "local").is_empty());
}

#[test]
fn autoscale_rules() {
    let f = Fixture::new();
    let with = |auto: &str| edit("read: 5, write: 5 }\n    global", &format!("read: 5, write: 5, autoscale: {auto} }}\n    global"));
    std::fs::write(f.path(), with("{ min: 5, max: 50, target_utilization: 70 }")).unwrap();
    let ok = SpecDocument::load(&f.path()).and_then(|d| d.resolve("local")).unwrap();
    let a = ok.0.resources.tables["tt1"].capacity.unwrap().autoscale.unwrap();
    assert_eq!((a.min, a.max, a.target_utilization), (5, 50, 70.0));
    // the index's capacity too, at its own line
    let idx = edit(
        "projection: all\n        capacity: { read: 5, write: 5 }",
        "projection: all\n        capacity: { read: 5, write: 5, autoscale: { min: 1, max: 50, target_utilization: 95 } }",
    );
    f.expect(&idx, "local", 24, 70, "tables.tt1.global_secondary_indexes.gsi1.capacity.autoscale.target_utilization", "between 20 and 90");
    f.expect(
        &with("{ min: 0, max: 50, target_utilization: 70 }"),
        "local",
        18,
        49,
        "tables.tt1.capacity.autoscale.min",
        "between 1 and 40000",
    );
    f.expect(
        &with("{ min: 5, max: 50000, target_utilization: 70 }"),
        "local",
        18,
        57,
        "tables.tt1.capacity.autoscale.max",
        "between 1 and 40000",
    );
    f.expect(
        &with("{ min: 10, max: 6, target_utilization: 70 }"),
        "local",
        18,
        58,
        "tables.tt1.capacity.autoscale.max",
        "below its min (10)",
    );
    // the capacity is the starting value: inside the range
    f.expect(
        &with("{ min: 10, max: 60, target_utilization: 70 }"),
        "local",
        18,
        17,
        "tables.tt1.capacity.read",
        "within autoscale's 10..60",
    );
    f.expect(&with("{ min: 5, max: 50, target: 70 }"), "local", 18, 66, "tables.tt1.capacity.autoscale.target", "unknown field `target`");
}

#[test]
fn key_types_must_agree_across_table_and_indexes() {
    let f = Fixture::new();
    let text = edit("        sort_key: { name: sk, type: S }", "        sort_key: { name: sk, type: N }");
    f.expect(&text, "local", 22, 31, "tables.tt1.global_secondary_indexes.gsi1.sort_key.type", "type N here but type S");
}

#[test]
fn names_aws_rejects() {
    let f = Fixture::new();
    f.expect(
        &edit("  tt1:\n    partition", "  t!:\n    partition").replace("tt1", "t!"),
        "local",
        14,
        3,
        "tables.t!",
        "a table name must be",
    );
    f.expect(&edit("  f1:", "  f 1:").replace("functions.f1", "x"), "local", 33, 3, "functions.f 1", "a function name must be");
}

#[test]
fn unknown_reference_and_unknown_role() {
    let f = Fixture::new();
    f.expect(&edit("${tables.tt1.name}", "${tables.t2.name}"), "local", 39, 7, "functions.f1.environment.TABLE_NAME", "table `t2`");
    f.expect(&edit("    role: r1", "    role: r2"), "local", 37, 5, "functions.f1.role", "`r2` is not a role of this spec");
}

#[test]
fn trigger_needs_a_table_with_a_stream() {
    let f = Fixture::new();
    f.expect(&edit("stream: new_image", "stream: off"), "local", 41, 9, "functions.f1.triggers.0.table", "has no stream");
}

#[test]
fn missing_files_are_named() {
    let f = Fixture::new();
    f.expect(&edit("policies/p.json", "policies/nope.json"), "local", 31, 7, "roles.r1.inline_policies.p1", "cannot read policy file");
    f.expect(&edit("source: src", "source: nowhere"), "local", 36, 5, "functions.f1.source", "does not exist");
}

#[test]
fn bad_policy_file_is_reported_in_that_file() {
    let f = Fixture::new();
    std::fs::write(
        f.dir.path().join("policies/p.json"),
        "{\n \"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"x\"}]}",
    )
    .unwrap();
    let p = f.problems(BASE, "local");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].file, f.dir.path().join("policies/p.json"));
    assert_eq!(p[0].pos, Some(Pos { line: 3, column: 46 }));
    assert!(p[0].message.contains("every action"));
}

#[test]
fn error_in_an_override_points_at_the_override() {
    let f = Fixture::new();
    let text = edit("          deletion_protection: true", "          deletion_protection: yes please");
    f.expect(&text, "prod", 12, 11, "tables.tt1.deletion_protection", "invalid type");
    let text = edit("          deletion_protection: true", "          capacity: { read: 0, write: 5 }");
    f.expect(&text, "prod", 12, 23, "tables.tt1.capacity.read", "between 1 and 40000");
}

#[test]
fn environment_settings_are_checked() {
    let f = Fixture::new();
    f.expect(&edit("region: us-east-1", "region: useast"), "local", 6, 5, "environments.local.region", "not an AWS region");
    f.expect(&edit("default_env: local", "default_env: staging"), "local", 3, 1, "default_env", "`staging` is not one of the environments");
}

#[test]
fn invalid_utf8_and_huge_files_are_refused() {
    let f = Fixture::new();
    std::fs::write(f.path(), b"version: 1\nstack: \xff\xfe\n").unwrap();
    match SpecDocument::load(&f.path()) {
        Err(SpecError::Invalid { problems }) => {
            assert!(problems[0].message.contains("UTF-8"));
            assert_eq!(problems[0].pos, Some(Pos { line: 2, column: 8 }));
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(f.path(), "#".repeat(MAX_SPEC_BYTES as usize + 1)).unwrap();
    assert!(matches!(SpecDocument::load(&f.path()), Err(SpecError::Invalid { .. })));
}

#[test]
fn reserved_tags_and_lambda_reserved_env_vars() {
    let f = Fixture::new();
    f.expect(
        &edit("    stream: new_image\n", "    stream: new_image\n    tags: { managed-by: me }\n"),
        "local",
        26,
        13,
        "tables.tt1.tags.managed-by",
        "written by cruddur-infra",
    );
    f.expect(&edit("      TABLE_NAME:", "      AWS_REGION:"), "local", 39, 7, "functions.f1.environment.AWS_REGION", "reserved by Lambda");
}

#[test]
fn problem_display_has_file_line_column_field_message() {
    let p = Problem {
        file: "infra.yaml".into(),
        pos: Some(Pos { line: 3, column: 5 }),
        field: "tables.t.capacity".into(),
        message: "m".into(),
        check: None,
    };
    assert_eq!(p.to_string(), "infra.yaml:3:5: tables.t.capacity: m");
}

#[test]
fn queues_and_on_failure_destinations() {
    let f = Fixture::new();
    let with = |queues: &str, on_failure: &str| {
        edit("      - table: tt1\n", &format!("      - table: tt1\n        on_failure: {on_failure}\n")).replacen(
            "roles:\n",
            &format!("queues:\n{queues}roles:\n"),
            1,
        )
    };
    let dlq = "  dlq:\n    message_retention_s: 1209600\n    encryption: { kms_key: alias/aws/sqs }\n";
    assert!(f.problems(&with(dlq, "dlq"), "local").is_empty());
    assert!(f.problems(&with(dlq, "arn:aws:sns:us-east-1:123456789012:alerts"), "local").is_empty());
    let p = f.problems(&with(dlq, "other"), "local");
    assert!(p.len() == 1 && p[0].field == "functions.f1.triggers.0.on_failure" && p[0].message.contains("queues: dlq"), "{p:?}");
    let p = f.problems(&with(dlq, "arn:aws:s3:::bucket"), "local");
    assert!(p.len() == 1 && p[0].message.contains("not the ARN of an SQS queue or an SNS topic"), "{p:?}");
    let p = f.problems(&with("  dlq:\n    message_retention_s: 30\n    visibility_timeout_s: 50000\n", "dlq"), "local");
    let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["queues.dlq.message_retention_s", "queues.dlq.visibility_timeout_s"], "{p:?}");
    let p = f.problems(&with("  dlq.fifo: {}\n", "dlq.fifo"), "local");
    assert!(p.iter().any(|p| p.field == "queues.dlq.fifo" && p.message.contains("FIFO")), "{p:?}");
    assert!(!f.problems(&with("  dlq:\n    encryption: sometimes\n", "dlq"), "local").is_empty());
    // References to a queue: its name, ARN and URL.
    let env = edit("      TABLE_NAME: ${tables.tt1.name}\n", "      TABLE_NAME: ${tables.tt1.name}\n      DLQ: ${queues.dlq.url}\n");
    let env = env.replacen("roles:\n", &format!("queues:\n{dlq}roles:\n"), 1);
    assert!(f.problems(&env, "local").is_empty());
    let p = f.problems(&env.replace("${queues.dlq.url}", "${queues.dlq.size}"), "local");
    assert!(p.len() == 1 && p[0].message.contains("a queue has `name`, `arn` and `url`"), "{p:?}");
}

#[test]
fn production_checks_warn_with_an_id_in_a_protected_env_and_a_waiver_silences_one() {
    let f = Fixture::new();
    let ids = |text: &str, env: &str| -> Vec<&'static str> {
        std::fs::write(f.path(), text).unwrap();
        let (_, w) = SpecDocument::load(&f.path()).unwrap().resolve(env).unwrap();
        w.iter().filter_map(|p| p.check).collect()
    };
    let protected = edit("  prod:\n    region: ca-central-1\n", "  prod:\n    region: ca-central-1\n    protected: true\n");
    // The trigger's checks hold everywhere; the others only where the env is protected
    // (prod's override turns deletion protection on).
    assert_eq!(ids(&protected, "local"), ["trigger-retries", "trigger-on-failure"]);
    // (A protected env's stream consumer without its monitoring pack is the `alarms` check.)
    assert_eq!(ids(&protected, "prod"), ["pitr", "trigger-retries", "trigger-on-failure", "log-retention", "alarms"]);
    // Waived at the top (every env) or under one env, each with a reason.
    let waived = format!("{protected}waive:\n  pitr: restored from the nightly export\n")
        .replace("    protected: true\n", "    protected: true\n    waive: { log-retention: shipped to the SIEM }\n");
    assert_eq!(ids(&waived, "prod"), ["trigger-retries", "trigger-on-failure", "alarms"]);
    // A wildcard in an inline policy is a check in a protected env.
    std::fs::write(f.dir.path().join("policies/p.json"), POLICY.replace("dynamodb:PutItem", "dynamodb:Put*")).unwrap();
    assert!(ids(&waived, "prod").contains(&"iam-wildcard"));
    assert!(!ids(&waived, "local").contains(&"iam-wildcard"));
    std::fs::write(f.dir.path().join("policies/p.json"), POLICY).unwrap();
    // An unknown id, or no reason, is an error.
    let p = f.problems(&format!("{protected}waive:\n  pitr-ish: because\n  pitr: \"\"\n"), "prod");
    assert!(p.iter().any(|p| p.field == "waive.pitr-ish" && p.message.contains("not a check; checks: pitr")), "{p:?}");
    assert!(p.iter().any(|p| p.field == "waive.pitr" && p.message.contains("say why")), "{p:?}");
}

#[test]
fn ttl_encryption_and_table_class_forms() {
    let f = Fixture::new();
    let with = |extra: &str| edit("    stream: new_image\n", &format!("    stream: new_image\n{extra}"));
    for ok in [
        "    ttl: { attribute: expires_at }\n",
        "    ttl: false\n",
        "    encryption: aws_owned\n    table_class: standard_infrequent_access\n",
        "    encryption: { kms_key: \"arn:aws:kms:us-east-1:123456789012:key/1234abcd\" }\n",
    ] {
        assert!(f.problems(&with(ok), "local").is_empty(), "{ok}");
    }
    let p = f.problems(&with("    ttl: true\n"), "local");
    assert!(p.len() == 1 && p[0].field == "tables.tt1.ttl" && p[0].message.contains("name the attribute"), "{p:?}");
    let p = f.problems(&with("    encryption: { kms_key: alias/mine }\n"), "local");
    assert!(p.len() == 1 && p[0].field == "tables.tt1.encryption.kms_key" && p[0].message.contains("not a KMS key ARN"), "{p:?}");
    assert!(!f.problems(&with("    table_class: glacier\n"), "local").is_empty());
}

/// A problem at `field` (with a line and column) whose message contains `msg`.
fn expect_field(f: &Fixture, text: &str, field: &str, msg: &str) {
    let p = f.problems(text, "local");
    assert!(p.iter().any(|p| p.pos.is_some() && p.field == field && p.message.contains(msg)), "expected {field}: …{msg}… in {p:#?}");
}

#[test]
fn what_aws_api_models_refuse_is_refused_by_validate() {
    // Rule 40: each of these passes moto, and AWS refuses it.
    let f = Fixture::new();
    let long = "x".repeat(257);
    expect_field(
        &f,
        &edit("    role: r1\n", &format!("    role: r1\n    description: {long}\n")),
        "functions.f1.description",
        "at most 256",
    );
    expect_field(
        &f,
        &edit("handler: lambda_function.lambda_handler", "handler: \"lambda_function.lambda handler\""),
        "functions.f1.handler",
        "no white space",
    );
    let handler = format!("handler: lambda_function.{}", "h".repeat(120));
    expect_field(&f, &edit("handler: lambda_function.lambda_handler", &handler), "functions.f1.handler", "at most 128");
    expect_field(&f, &edit("      TABLE_NAME: ${tables.tt1.name}", "      T: x"), "functions.f1.environment.T", "one or more letters");
    expect_field(
        &f,
        &edit("    role: r1\n", "    role: r1\n    tags: { team: \"a,b (x)\" }\n"),
        "functions.f1.tags.team",
        "Lambda takes only",
    );
    expect_field(
        &f,
        &edit("      p1: policies/p.json\n", "      p1: policies/p.json\n    tags: { team: \"a,b\" }\n"),
        "roles.r1.tags.team",
        "IAM takes only",
    );
    expect_field(
        &f,
        &edit("      p1: policies/p.json\n", "      p1: policies/p.json\n    description: \"reads — writes\"\n"),
        "roles.r1.description",
        "Latin-1",
    );
    std::fs::write(f.dir.path().join("policies/q.json"), POLICY.replace("dynamodb:PutItem", "dynamodb:PutItem\",\"dynamodb:GetItem→"))
        .unwrap();
    expect_field(&f, &edit("p1: policies/p.json", "p1: policies/q.json"), "roles.r1.inline_policies.p1", "Latin-1");
    // A table and index whose scaling policy name passes 256 characters.
    let table = "t".repeat(150);
    let scaled = edit(
        "        capacity: { read: 5, write: 5 }",
        "        capacity: { read: 5, write: 5, autoscale: { min: 5, max: 10, target_utilization: 70 } }",
    )
    .replace("gsi1", &"g".repeat(80))
    .replace("tt1", &table);
    let field = format!("tables.{table}.global_secondary_indexes.{}.capacity.autoscale", "g".repeat(80));
    expect_field(&f, &scaled, &field, "Application Auto Scaling takes 256");
    // The default session name of an assumed role: cruddur-infra-STACK-ENV, at most 64.
    let stack = edit("stack: s", &format!("stack: {}", "s".repeat(60))).replace(
        "  local:\n    region: us-east-1\n",
        "  local:\n    region: us-east-1\n    assume_role: { arn: \"arn:aws:iam::123456789012:role/deployer\" }\n",
    );
    expect_field(&f, &stack, "environments.local.assume_role", "set `session_name`");
    // Filters: a numeric matcher sorted out of order, and more than 5 patterns.
    let filtered = edit(
        "      - table: tt1\n",
        "      - table: tt1\n        filter: [{ dynamodb: { NewImage: { n: { N: [{ numeric: [\"<=\", \">\", 0, 5] }] } } } }]\n",
    );
    expect_field(&f, &filtered, "functions.f1.triggers.0.filter.0", "lower bound");
    let six = format!("      - table: tt1\n        filter: [{}]\n", ["{ eventName: [INSERT] }"; 6].join(", "));
    expect_field(&f, &edit("      - table: tt1\n", &six), "functions.f1.triggers.0.filter", "at most 5");
    // The written range, lower bound first, is valid.
    let good = edit(
        "      - table: tt1\n",
        "      - table: tt1\n        filter: [{ dynamodb: { SizeBytes: [{ numeric: [\">\", 0, \"<=\", 5] }], NewImage: { n: { N: [\"5\"] } } } }]\n",
    );
    assert!(f.problems(&good, "local").is_empty(), "{:#?}", f.problems(&good, "local"));
    // On an item's number it never matches: the record carries it as a string.
    let numeric = edit(
        "      - table: tt1\n",
        "      - table: tt1\n        filter: [{ dynamodb: { NewImage: { n: { N: [{ numeric: [\">\", 0, \"<=\", 5] }] } } } }]\n",
    );
    expect_field(&f, &numeric, "functions.f1.triggers.0.filter.0", "as strings");
    // Patterns AWS accepts that never match a record of this table's stream (issue 31).
    let keys_only = good.replacen("    stream: new_image\n", "    stream: keys_only\n", 1);
    expect_field(&f, &keys_only, "functions.f1.triggers.0.filter.0", "carries only the keys");
    let with = |pattern: &str| edit("      - table: tt1\n", &format!("      - table: tt1\n        filter: [{pattern}]\n"));
    expect_field(&f, &with("{ body: { pk: [x] } }"), "functions.f1.triggers.0.filter.0", "`body` is not a field");
    expect_field(&f, &with("{ eventName: [INSERTED] }"), "functions.f1.triggers.0.filter.0", "is not one");
    expect_field(
        &f,
        &with("{ eventName: [REMOVE], dynamodb: { NewImage: { k: { S: [x] } } } }"),
        "functions.f1.triggers.0.filter.0",
        "REMOVE events only",
    );
}

#[test]
fn topics_alarms_and_monitoring_packs_are_checked() {
    let f = Fixture::new();
    let topics = "topics:\n  alerts:\n    subscriptions: [{ protocol: email, endpoint: ops@example.com }]\n";
    let monitored = edit("      - table: tt1\n", "      - table: tt1\n    monitoring: { notify: [alerts] }\n")
        .replace("roles:\n", &format!("{topics}roles:\n"));
    assert!(f.problems(&monitored, "local").is_empty(), "{:#?}", f.problems(&monitored, "local"));
    // A topic that is not declared, a protocol SNS does not have.
    expect_field(
        &f,
        &monitored.replace("notify: [alerts]", "notify: [nope]"),
        "functions.f1.monitoring.notify.0",
        "neither a topic of this spec",
    );
    expect_field(
        &f,
        &monitored.replace("protocol: email", "protocol: pigeon"),
        "topics.alerts.subscriptions.0.protocol",
        "not an SNS protocol",
    );
    // The iterator-age alarm past what the stream keeps can only fire once records are lost.
    let late = monitored.replace("notify: [alerts] }", "notify: [alerts], iterator_age_s: 90000 }");
    expect_field(&f, &late, "functions.f1.monitoring.iterator_age_s", "[alarm-thresholds]");
    let bounded = late.replace("      - table: tt1\n", "      - table: tt1\n        maximum_record_age_s: 3600\n").replace("90000", "3600");
    expect_field(&f, &bounded, "functions.f1.monitoring.iterator_age_s", "drops records older than 3600 s");
    expect_field(
        &f,
        &monitored.replace("notify: [alerts] }", "notify: [alerts], errors: true }"),
        "functions.f1.monitoring.errors",
        "not a threshold",
    );
    // An alarm written out: its period, and a name a pack already gives.
    let alarm = |body: &str| format!("{monitored}alarms:\n  {body}\n");
    let written = "reads: { namespace: AWS/DynamoDB, metric: ConsumedReadCapacityUnits, dimensions: { TableName: \"${tables.tt1.name}\" }, statistic: Sum, period_s: 60, evaluation_periods: 5, threshold: 240, comparison: \">=\", notify: [alerts] }";
    assert!(f.problems(&alarm(written), "local").is_empty(), "{:#?}", f.problems(&alarm(written), "local"));
    expect_field(&f, &alarm(&written.replace("period_s: 60", "period_s: 45")), "alarms.reads.period_s", "multiple of 60");
    expect_field(&f, &alarm(&written.replace("reads:", "f1-errors:")), "alarms.f1-errors", "functions.f1.monitoring derives");
    // What PutMetricAlarm refuses: more than a day of one-minute periods; a unit it does not know.
    expect_field(
        &f,
        &alarm(&written.replace("evaluation_periods: 5", "evaluation_periods: 1441")),
        "alarms.reads.evaluation_periods",
        "86400 s",
    );
    let hourly = written.replace("period_s: 60, evaluation_periods: 5", "period_s: 3600, evaluation_periods: 168");
    assert!(f.problems(&alarm(&hourly), "local").is_empty(), "a week of hours is allowed");
    expect_field(
        &f,
        &alarm(&written.replace("statistic: Sum", "statistic: Sum, unit: Parsecs")),
        "alarms.reads.unit",
        "not a CloudWatch unit",
    );
    // A topic in another region is never notified.
    let elsewhere = written.replace("notify: [alerts]", "notify: [\"arn:aws:sns:eu-west-1:123456789012:ops\"]");
    expect_field(&f, &alarm(&elsewhere), "alarms.reads.notify.0", "another region");
    // A threshold of 0 is always reached.
    expect_field(
        &f,
        &monitored.replace("notify: [alerts] }", "notify: [alerts], dlq_depth: 0 }"),
        "functions.f1.monitoring.dlq_depth",
        "above 0",
    );
    // A record age past the stream's 24 h: the stream drops the record first.
    let long = late.replace("      - table: tt1\n", "      - table: tt1\n        maximum_record_age_s: 172800\n");
    expect_field(&f, &long, "functions.f1.monitoring.iterator_age_s", "the stream keeps a record 24 h");
    // Two packs deriving the same alarm name: function `tt1-read`'s throttles and table `tt1`'s
    // read throttles are both `tt1-read-throttles`.
    let clash = monitored.replace("    monitoring: { notify: [alerts] }\n", "    monitoring: { notify: [alerts] }\n  tt1-read:\n    runtime: python3.12\n    handler: lambda_function.lambda_handler\n    source: src\n    role: r1\n    monitoring: { notify: [alerts] }\n")
        .replace("    stream: new_image\n", "    stream: new_image\n    monitoring: { notify: [alerts] }\n");
    expect_field(&f, &clash, "tables.tt1.monitoring", "derive the alarm `tt1-read-throttles`");
}

#[test]
fn a_deploy_names_an_alias_lambda_takes_and_a_bake_watches_something() {
    let f = Fixture::new();
    let deployed = |d: &str| edit("    role: r1\n", &format!("    role: r1\n    deploy: {d}\n"));
    assert!(f.problems(&deployed("{ alias: live }"), "local").is_empty(), "{:#?}", f.problems(&deployed("{ alias: live }"), "local"));
    expect_field(&f, &deployed("{ alias: \"42\" }"), "functions.f1.deploy.alias", "not only digits");
    expect_field(&f, &deployed("{ alias: \"li ve\" }"), "functions.f1.deploy.alias", "not an alias name");
    expect_field(&f, &deployed("{ alias: live, bake_s: 7200 }"), "functions.f1.deploy.bake_s", "0 to 3600");
    expect_field(&f, &deployed("{ alias: live, rollback: on_alarm }"), "functions.f1.deploy.rollback", "needs a bake");
    // A bake with no alarm of the function to watch.
    expect_field(&f, &deployed("{ alias: live, bake_s: 60 }"), "functions.f1.deploy.bake_s", "has none");
    let topics = "topics:\n  alerts:\n    subscriptions: [{ protocol: email, endpoint: ops@example.com }]\n";
    let watched = deployed("{ alias: live, bake_s: 60 }")
        .replace("      - table: tt1\n", "      - table: tt1\n    monitoring: { notify: [alerts] }\n")
        .replace("roles:\n", &format!("{topics}roles:\n"));
    assert!(f.problems(&watched, "local").is_empty(), "{:#?}", f.problems(&watched, "local"));
    // A bake shorter than any of its alarms can react: a warning, with the soonest it could.
    let warnings = |text: &str| {
        std::fs::write(f.path(), text).unwrap();
        SpecDocument::load(&f.path()).unwrap().resolve("local").unwrap().1
    };
    let w = warnings(&watched.replace("bake_s: 60", "bake_s: 30"));
    assert!(w.iter().any(|p| p.field == "functions.f1.deploy.bake_s" && p.message.contains("can catch nothing")), "{w:#?}");
    assert!(!warnings(&watched.replace("bake_s: 60", "bake_s: 300")).iter().any(|p| p.field.ends_with("bake_s")));
}
