"""tools/emulator.py: Lambda versions, aliases and triggers on aliases as AWS keeps them
(docs/aws-behaviour.md rule 43; tools/emu/versions.py), asserted through boto3 on the wire. The
mends of moto's defects hold in both modes; the refusals hold with --aws-rules, and plain mode has
none of them. Each test uses its own functions and tables."""

import io
import json
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import Emulator

BUSY = 0.3
RULES = ["--aws-rules", "--busy-seconds", str(BUSY), "--iam-delay", "0"]
ACCOUNT = "123456789012"
REGION = "us-east-1"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})
STALE = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"


@pytest.fixture(scope="module")
def plain():
    emu = Emulator()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def rules():
    emu = Emulator(*RULES)
    yield emu
    emu.stop()


@pytest.fixture(params=["plain", "rules"])
def emu(request, plain, rules):
    """The mends are in every mode: each such test runs in both."""
    return plain if request.param == "plain" else rules


# -- helpers --------------------------------------------------------------------------------------
def arn(name, qualifier=None):
    base = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def refused(call, code, message=None, status=None):
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response["Error"]
    assert err["Code"] == code, err
    if message is not None:
        assert err["Message"] == message
    if status is not None:
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return err


def wait_for(check, timeout=BUSY + 5):
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() - start < timeout, "did not settle in time"
        time.sleep(0.05)


def zipped(n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", f"def handler(event, context):\n    return {n!r}\n")
    return buf.getvalue()


def ready(lam, name):
    """Waits out the Pending / InProgress window of --aws-rules (none in plain mode)."""
    def settled():
        c = lam.get_function_configuration(FunctionName=name)
        return c["State"] == "Active" and c.get("LastUpdateStatus", "Successful") == "Successful"
    wait_for(settled)


def function(emu, name, **extra):
    role = emu("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    out = emu("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                                        Code={"ZipFile": zipped(0)}, **extra)
    ready(emu("lambda"), name)
    return out


def new_code(lam, name, n, **extra):
    out = lam.update_function_code(FunctionName=name, ZipFile=zipped(n), **extra)
    ready(lam, name)
    return out


def new_config(lam, name, **extra):
    out = lam.update_function_configuration(FunctionName=name, **extra)
    ready(lam, name)
    return out


def publish(lam, name, **extra):
    ready(lam, name)
    return lam.publish_version(FunctionName=name, **extra)


def versions_of(lam, name):
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]


def current_revision(lam, name, **qualifier):
    return lam.get_function_configuration(FunctionName=name, **qualifier)["RevisionId"]


def stream(emu, table):
    return emu("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]


def settled_mapping(lam, uuid):
    return wait_for(lambda: (m := lam.get_event_source_mapping(UUID=uuid))["State"] in ("Enabled", "Disabled") and m)


def mapping(lam, function_name, source):
    m = lam.create_event_source_mapping(FunctionName=function_name, EventSourceArn=source, StartingPosition="LATEST")
    settled_mapping(lam, m["UUID"])
    return m


def listed(lam, **params):
    """Every mapping ListEventSourceMappings gives for these filters, following NextMarker."""
    out, marker = [], None
    while True:
        page = lam.list_event_source_mappings(**params, **({"Marker": marker} if marker else {}))
        out += page["EventSourceMappings"]
        marker = page.get("NextMarker")
        if not marker:
            return out


def uuids(mappings):
    return sorted(m["UUID"] for m in mappings)


# -- triggers on aliases (every mode) -------------------------------------------------------------
def test_a_trigger_on_an_alias_keeps_the_alias_arn(emu):
    lam = emu("lambda")
    function(emu, "trig")
    publish(lam, "trig")
    lam.create_alias(FunctionName="trig", Name="live", FunctionVersion="1")
    # Every form AWS takes names the alias; moto stored the version (and answered a partial ARN 500).
    for i, form in enumerate([arn("trig", "live"), "trig:live", f"{ACCOUNT}:function:trig:live"]):
        m = lam.create_event_source_mapping(FunctionName=form, EventSourceArn=stream(emu, f"trig-{i}"), StartingPosition="LATEST")
        assert m["ResponseMetadata"]["HTTPStatusCode"] == 202
        assert m["FunctionArn"] == arn("trig", "live"), form
        assert settled_mapping(lam, m["UUID"])["FunctionArn"] == arn("trig", "live")
    on_version = mapping(lam, arn("trig", "1"), stream(emu, "trig-version"))
    assert on_version["FunctionArn"] == arn("trig", "1")
    # The alias moves; the trigger still names the alias (and so invokes version 2 now).
    new_code(lam, "trig", 2)
    publish(lam, "trig")
    lam.update_alias(FunctionName="trig", Name="live", FunctionVersion="2")
    assert lam.get_event_source_mapping(UUID=m["UUID"])["FunctionArn"] == arn("trig", "live")
    # A trigger on the function is moved onto the alias in place: same UUID, the alias's ARN.
    plain = mapping(lam, "trig", stream(emu, "trig-moved"))
    assert plain["FunctionArn"] == arn("trig")
    moved = lam.update_event_source_mapping(UUID=plain["UUID"], FunctionName="trig:live")
    assert (moved["UUID"], moved["FunctionArn"]) == (plain["UUID"], arn("trig", "live"))
    assert settled_mapping(lam, plain["UUID"])["FunctionArn"] == arn("trig", "live")


def test_mappings_are_listed_by_the_function_arn_they_invoke(emu):
    lam = emu("lambda")
    function(emu, "lister")
    publish(lam, "lister")
    lam.create_alias(FunctionName="lister", Name="live", FunctionVersion="1")
    sources = {k: stream(emu, f"lister-{k}") for k in ("name", "arn", "partial", "alias", "moved")}
    by_name = mapping(lam, "lister", sources["name"])
    by_arn = mapping(lam, arn("lister"), sources["arn"])
    by_partial = mapping(lam, f"{ACCOUNT}:function:lister", sources["partial"])
    on_alias = mapping(lam, arn("lister", "live"), sources["alias"])
    moved = mapping(lam, "lister", sources["moved"])
    unqualified = uuids([by_name, by_arn, by_partial, moved])
    # However a mapping was made, it is listed by every form of the ARN it invokes, and only by that.
    for form in ("lister", arn("lister"), f"{ACCOUNT}:function:lister"):
        assert uuids(listed(lam, FunctionName=form)) == unqualified, form
    for form in (arn("lister", "live"), "lister:live"):
        assert uuids(listed(lam, FunctionName=form)) == uuids([on_alias]), form
    assert listed(lam, FunctionName=arn("lister", "1")) == []
    # Listing follows an update of FunctionName (moto listed by what the mapping was created with).
    lam.update_event_source_mapping(UUID=moved["UUID"], FunctionName=arn("lister", "live"))
    settled_mapping(lam, moved["UUID"])
    assert uuids(listed(lam, FunctionName="lister")) == uuids([by_name, by_arn, by_partial])
    assert uuids(listed(lam, FunctionName="lister:live")) == uuids([on_alias, moved])
    # Combined with EventSourceArn.
    assert uuids(listed(lam, FunctionName=arn("lister"), EventSourceArn=sources["name"])) == uuids([by_name])
    assert listed(lam, FunctionName=arn("lister", "live"), EventSourceArn=sources["name"]) == []
    assert uuids(listed(lam, EventSourceArn=sources["moved"])) == uuids([moved])
    # Pages of MaxItems, each mapping once.
    first = lam.list_event_source_mappings(FunctionName="lister", MaxItems=1)
    assert len(first["EventSourceMappings"]) == 1 and first["NextMarker"]
    assert uuids(listed(lam, FunctionName="lister", MaxItems=1)) == uuids([by_name, by_arn, by_partial])
    everything = lam.list_event_source_mappings()["EventSourceMappings"]
    assert "NextMarker" not in lam.list_event_source_mappings()
    assert uuids(listed(lam, MaxItems=2)) == uuids(everything)
    refused(lambda: lam.list_event_source_mappings(Marker="not-a-marker"), "InvalidParameterValueException")


# -- version numbers, revisions, publishing (every mode) ------------------------------------------
def test_version_numbers_are_never_reused(emu):
    lam = emu("lambda")
    function(emu, "numbers")
    shas = {}
    for n in (1, 2, 3):
        if n > 1:
            new_code(lam, "numbers", n)
        v = publish(lam, "numbers")
        assert (v["Version"], v["FunctionArn"]) == (str(n), arn("numbers", n))
        shas[v["Version"]] = v["CodeSha256"]
    lam.delete_function(FunctionName="numbers", Qualifier="3")
    new_code(lam, "numbers", 4)
    assert publish(lam, "numbers")["Version"] == "4"  # moto: 3 again
    lam.delete_function(FunctionName="numbers", Qualifier="2")
    new_code(lam, "numbers", 5)
    v5 = publish(lam, "numbers")  # moto: 4 again, a second version 4
    assert (v5["Version"], v5["FunctionArn"]) == ("5", arn("numbers", 5))
    assert versions_of(lam, "numbers") == ["$LATEST", "1", "4", "5"]
    got = lam.get_function(FunctionName="numbers", Qualifier="5")["Configuration"]
    assert (got["Version"], got["FunctionArn"], got["CodeSha256"]) == ("5", arn("numbers", 5), v5["CodeSha256"])
    assert lam.get_function_configuration(FunctionName=arn("numbers", 1))["CodeSha256"] == shas["1"]
    # Not even after the function is deleted and made again ("Lambda never reuses version numbers,
    # even after you delete and recreate a function": the Lambda guide).
    lam.delete_function(FunctionName="numbers")
    emu("iam").delete_role(RoleName="numbers-role")
    function(emu, "numbers")
    assert publish(lam, "numbers")["Version"] == "6"
    assert versions_of(lam, "numbers") == ["$LATEST", "6"]


def test_functions_have_revision_ids_that_change_with_them(emu):
    lam = emu("lambda")
    created = function(emu, "revs")["RevisionId"]
    assert created
    assert lam.get_function(FunctionName="revs")["Configuration"]["RevisionId"] == created
    assert current_revision(lam, "revs") == created
    # Each change of $LATEST gives it a new one, in the answer and afterwards.
    configured = new_config(lam, "revs", Description="second")["RevisionId"]
    assert configured != created and current_revision(lam, "revs") == configured
    coded = new_code(lam, "revs", 2)["RevisionId"]
    assert coded not in (created, configured) and current_revision(lam, "revs") == coded
    # Publishing changes $LATEST's too; the version has its own, fixed from then on.
    v1 = publish(lam, "revs")
    after_publish = current_revision(lam, "revs")
    assert v1["RevisionId"] and after_publish not in (coded, v1["RevisionId"])
    assert current_revision(lam, "revs", Qualifier="1") == v1["RevisionId"]
    listed_versions = {v["Version"]: v["RevisionId"] for v in lam.list_versions_by_function(FunctionName="revs")["Versions"]}
    assert listed_versions == {"$LATEST": after_publish, "1": v1["RevisionId"]}
    later = new_config(lam, "revs", Description="third")["RevisionId"]
    assert current_revision(lam, "revs", Qualifier="1") == v1["RevisionId"] != later
    assert lam.get_function(FunctionName="revs", Qualifier="1")["Configuration"]["RevisionId"] == v1["RevisionId"]
    everything = lam.list_functions()["Functions"]
    assert [f["RevisionId"] for f in everything if f["FunctionName"] == "revs"] == [later]


def test_publishing_nothing_new_returns_the_last_version(emu):
    lam = emu("lambda")
    function(emu, "unchanged")
    v1 = publish(lam, "unchanged")
    again = publish(lam, "unchanged")
    assert (again["Version"], again["RevisionId"]) == ("1", v1["RevisionId"])
    assert versions_of(lam, "unchanged") == ["$LATEST", "1"]
    # The proxy's own mends (tracing, architecture: moto ignores both) count as changes.
    traced = new_config(lam, "unchanged", TracingConfig={"Mode": "Active"})
    assert traced["TracingConfig"] == {"Mode": "Active"}
    v2 = publish(lam, "unchanged")
    assert (v2["Version"], v2["TracingConfig"]) == ("2", {"Mode": "Active"})
    assert lam.get_function_configuration(FunctionName="unchanged", Qualifier="1")["TracingConfig"] == {"Mode": "PassThrough"}
    new_code(lam, "unchanged", 0, Architectures=["arm64"])
    v3 = publish(lam, "unchanged")
    assert (v3["Version"], v3["Architectures"]) == ("3", ["arm64"])
    # With Publish, the version UpdateFunctionCode publishes has the new architecture already.
    v4 = lam.update_function_code(FunctionName="unchanged", ZipFile=zipped(0), Architectures=["x86_64"], Publish=True)
    assert (v4["Version"], v4["Architectures"]) == ("4", ["x86_64"])
    ready(lam, "unchanged")
    assert publish(lam, "unchanged")["Version"] == "4"
    assert versions_of(lam, "unchanged") == ["$LATEST", "1", "2", "3", "4"]


def test_deleting_a_version_keeps_the_others(emu):
    lam = emu("lambda")
    function(emu, "pruned")
    publish(lam, "pruned")
    new_code(lam, "pruned", 2)
    publish(lam, "pruned")
    new_code(lam, "pruned", 3)
    lam.delete_function(FunctionName="pruned", Qualifier="1")
    assert versions_of(lam, "pruned") == ["$LATEST", "2"]
    assert lam.get_function(FunctionName="pruned", Qualifier="2")["Configuration"]["Version"] == "2"
    latest = lam.get_function(FunctionName="pruned")["Configuration"]
    assert latest["Version"] == "$LATEST" and latest["CodeSha256"] != lam.get_function_configuration(FunctionName="pruned:2")["CodeSha256"]
    refused(lambda: lam.get_function(FunctionName="pruned", Qualifier="1"), "ResourceNotFoundException")
    lam.delete_function(FunctionName=arn("pruned", "2"))  # a qualified ARN names the version too
    assert versions_of(lam, "pruned") == ["$LATEST"]


def test_aliases_are_made_moved_and_listed(emu):
    lam = emu("lambda")
    function(emu, "aliased")
    for n in (1, 2, 3):
        if n > 1:
            new_code(lam, "aliased", n)
        publish(lam, "aliased")
    made = lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1", Description="first")
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    got = lam.get_alias(FunctionName="aliased", Name="live")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (got["AliasArn"], got["FunctionVersion"], got["Description"], got["RevisionId"]) == (
        arn("aliased", "live"), "1", "first", made["RevisionId"])
    # Each UpdateAlias gives a new RevisionId (moto kept the first); omitted fields stay.
    moved = lam.update_alias(FunctionName="aliased", Name="live", FunctionVersion="2")
    assert moved["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (moved["FunctionVersion"], moved["Description"]) == ("2", "first")
    assert moved["RevisionId"] != made["RevisionId"]
    described = lam.update_alias(FunctionName="aliased", Name="live", Description="second")
    assert (described["FunctionVersion"], described["Description"]) == ("2", "second")
    assert described["RevisionId"] not in (made["RevisionId"], moved["RevisionId"])
    assert lam.get_alias(FunctionName="aliased", Name="live")["RevisionId"] == described["RevisionId"]
    # ListAliases pages and filters by version (moto ignored both).
    for name, version in (("a1", "1"), ("a2", "2"), ("a3", "3")):
        lam.create_alias(FunctionName="aliased", Name=name, FunctionVersion=version)
    names, marker = [], None
    while True:
        page = lam.list_aliases(FunctionName="aliased", MaxItems=3, **({"Marker": marker} if marker else {}))
        assert len(page["Aliases"]) <= 3
        names += [a["Name"] for a in page["Aliases"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert names == ["a1", "a2", "a3", "live"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName="aliased", FunctionVersion="2")["Aliases"]] == ["a2", "live"]
    assert lam.list_aliases(FunctionName=arn("aliased"), FunctionVersion="1")["Aliases"][0]["Name"] == "a1"
    gone = lam.delete_alias(FunctionName="aliased", Name="a3")
    assert gone["ResponseMetadata"]["HTTPStatusCode"] == 204
    refused(lambda: lam.get_alias(FunctionName="aliased", Name="a3"), "ResourceNotFoundException")


def test_versions_are_listed_in_pages_with_their_own_configuration(emu):
    lam = emu("lambda")
    function(emu, "paged", Environment={"Variables": {"STAGE": "one"}})
    published = {}
    for n, stage in ((1, "one"), (2, "two"), (3, "three")):
        if n > 1:
            new_config(lam, "paged", Environment={"Variables": {"STAGE": stage}})
            new_code(lam, "paged", n)
        v = publish(lam, "paged")
        published[v["Version"]] = (v["CodeSha256"], stage)
    first = lam.list_versions_by_function(FunctionName="paged", MaxItems=2)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    second = lam.list_versions_by_function(FunctionName="paged", MaxItems=2, Marker=first["NextMarker"])
    assert [v["Version"] for v in second["Versions"]] == ["2", "3"] and "NextMarker" not in second
    for v in first["Versions"][1:] + second["Versions"]:
        assert (v["CodeSha256"], v["Environment"]["Variables"]["STAGE"]) == published[v["Version"]]
        assert v["FunctionArn"] == arn("paged", v["Version"]) and v["RevisionId"]
    assert len({v["CodeSha256"] for v in second["Versions"] + first["Versions"][1:]}) == 3


# -- --aws-rules: the refusals --------------------------------------------------------------------
def test_a_stale_revision_id_is_refused(rules):
    lam = rules("lambda")
    function(rules, "guarded")
    for call in (
        lambda: lam.update_function_configuration(FunctionName="guarded", Description="x", RevisionId="stale"),
        lambda: lam.update_function_code(FunctionName="guarded", ZipFile=zipped(2), RevisionId="stale"),
        lambda: lam.publish_version(FunctionName="guarded", RevisionId="stale"),
    ):
        refused(call, "PreconditionFailedException", STALE, 412)
    assert versions_of(lam, "guarded") == ["$LATEST"]
    assert lam.get_function_configuration(FunctionName="guarded")["Description"] == ""
    # The current one is accepted, each time the one the last change gave.
    new_config(lam, "guarded", Description="x", RevisionId=current_revision(lam, "guarded"))
    new_code(lam, "guarded", 2, RevisionId=current_revision(lam, "guarded"))
    v1 = publish(lam, "guarded", RevisionId=current_revision(lam, "guarded"))
    assert v1["Version"] == "1"
    alias = lam.create_alias(FunctionName="guarded", Name="live", FunctionVersion="1")
    refused(lambda: lam.update_alias(FunctionName="guarded", Name="live", Description="y", RevisionId="stale"),
            "PreconditionFailedException", STALE, 412)
    moved = lam.update_alias(FunctionName="guarded", Name="live", Description="y", RevisionId=alias["RevisionId"])
    # The revision it replaced is stale now.
    refused(lambda: lam.update_alias(FunctionName="guarded", Name="live", Description="z", RevisionId=alias["RevisionId"]),
            "PreconditionFailedException", STALE, 412)
    lam.update_alias(FunctionName="guarded", Name="live", Description="z", RevisionId=moved["RevisionId"])


def test_publishing_other_code_than_latest_is_refused(rules):
    lam = rules("lambda")
    sha = function(rules, "hashed")["CodeSha256"]
    wrong = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    refused(lambda: lam.publish_version(FunctionName="hashed", CodeSha256=wrong), "InvalidParameterValueException",
            f"CodeSHA256 ({wrong}) is different from current CodeSHA256 in $LATEST ({sha}). Please try again with the "
            "CodeSHA256 in $LATEST.", 400)
    # The RevisionId is checked first.
    refused(lambda: lam.publish_version(FunctionName="hashed", CodeSha256=wrong, RevisionId="stale"), "PreconditionFailedException")
    assert versions_of(lam, "hashed") == ["$LATEST"]
    assert publish(lam, "hashed", CodeSha256=sha, RevisionId=current_revision(lam, "hashed"))["Version"] == "1"


def test_a_version_an_alias_points_at_is_not_deleted(rules):
    lam = rules("lambda")
    function(rules, "kept")
    publish(lam, "kept")
    new_code(lam, "kept", 2)
    publish(lam, "kept")
    lam.create_alias(FunctionName="kept", Name="live", FunctionVersion="1")
    for name, qualifier in (("kept", {"Qualifier": "1"}), ("kept:1", {}), (arn("kept", "1"), {})):
        refused(lambda: lam.delete_function(FunctionName=name, **qualifier), "ResourceConflictException",
                "Unable to delete version because the following aliases reference it: [live]", 409)
    # A version an alias sends some of its traffic to is referenced too.
    lam.create_alias(FunctionName="kept", Name="canary", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    refused(lambda: lam.delete_function(FunctionName="kept", Qualifier="2"), "ResourceConflictException",
            "Unable to delete version because the following aliases reference it: [canary]", 409)
    refused(lambda: lam.delete_function(FunctionName="kept", Qualifier="1"), "ResourceConflictException",
            "Unable to delete version because the following aliases reference it: [canary, live]", 409)
    refused(lambda: lam.delete_function(FunctionName="kept", Qualifier="$LATEST"), "InvalidParameterValueException",
            "$LATEST version cannot be deleted without deleting the function.", 400)
    refused(lambda: lam.delete_function(FunctionName="kept", Qualifier="live"), "InvalidParameterValueException",
            "Deletion of aliases is not currently supported.", 400)
    assert versions_of(lam, "kept") == ["$LATEST", "1", "2"]
    # Once no alias points at it, it goes, and the others stay.
    lam.delete_alias(FunctionName="kept", Name="canary")
    lam.update_alias(FunctionName="kept", Name="live", FunctionVersion="2")
    lam.delete_function(FunctionName="kept", Qualifier="1")
    assert versions_of(lam, "kept") == ["$LATEST", "2"]
    assert lam.get_alias(FunctionName="kept", Name="live")["FunctionVersion"] == "2"


def test_publishing_while_an_update_is_in_progress_is_a_conflict(rules):
    lam = rules("lambda")
    function(rules, "busy")
    lam.update_function_code(FunctionName="busy", ZipFile=zipped(2))
    refused(lambda: lam.publish_version(FunctionName="busy"), "ResourceConflictException", status=409)
    ready(lam, "busy")
    assert lam.publish_version(FunctionName="busy")["Version"] == "1"


def test_triggers_on_an_alias_are_checked_as_the_alias(rules):
    lam = rules("lambda")
    function(rules, "dup")
    publish(lam, "dup")
    lam.create_alias(FunctionName="dup", Name="live", FunctionVersion="1")
    source = stream(rules, "dup-stream")
    mapping(lam, arn("dup", "live"), source)
    # The same alias in another form is the same function: a duplicate (rule 13).
    refused(lambda: lam.create_event_source_mapping(FunctionName="dup:live", EventSourceArn=source, StartingPosition="LATEST"),
            "ResourceConflictException", status=409)
    # Another function's alias of the same name is not.
    function(rules, "other")
    publish(lam, "other")
    lam.create_alias(FunctionName="other", Name="live", FunctionVersion="1")
    mapping(lam, "other:live", source)
    # An on-failure destination is checked against the role of the function behind the alias (rule 21).
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dup-failures"
    refused(lambda: lam.create_event_source_mapping(
        FunctionName=arn("dup", "live"), EventSourceArn=stream(rules, "dup-dest"), StartingPosition="LATEST",
        DestinationConfig={"OnFailure": {"Destination": queue}}), "InvalidParameterValueException",
        f"The function execution role does not have permissions to call SendMessage on {queue}")


def test_plain_mode_refuses_none_of_these(plain):
    lam = plain("lambda")
    function(plain, "lax")
    lam.update_function_configuration(FunctionName="lax", Description="x", RevisionId="stale")
    lam.update_function_code(FunctionName="lax", ZipFile=zipped(2), RevisionId="stale")
    assert lam.publish_version(FunctionName="lax", RevisionId="stale", CodeSha256="other")["Version"] == "1"
    lam.create_alias(FunctionName="lax", Name="live", FunctionVersion="1")
    lam.update_alias(FunctionName="lax", Name="live", Description="y", RevisionId="stale")
    lam.update_function_code(FunctionName="lax", ZipFile=zipped(3))
    assert lam.publish_version(FunctionName="lax")["Version"] == "2"  # no update-in-progress window
    lam.delete_function(FunctionName="lax", Qualifier="1")  # moto's: the alias is left pointing at nothing
    assert versions_of(lam, "lax") == ["$LATEST", "2"]
