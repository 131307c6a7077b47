"""The unmodified Segments.ai SDK (`segments-ai` 1.33.0) against Colabel: every method of
SDK-CONTRACT.md, its errors included. Each test makes its own people and organizations."""

import pytest
from segments import SegmentsClient
from segments.exceptions import (
    AlreadyExistsError,
    AuthenticationError,
    AuthorizationError,
    CollaboratorError,
    NetworkError,
    NotFoundError,
    ValidationError,
)


def test_a_client_needs_a_valid_key(base, person):
    alice = person("alice")
    key = alice.api_key()
    client = SegmentsClient(key, api_url=base)
    assert client.get_user().username == alice.username
    with pytest.raises(AuthenticationError):
        SegmentsClient("12345", api_url=base)
    with pytest.raises(AuthenticationError):
        SegmentsClient("clb_" + "x" * 43, api_url=base)
    alice.revoke_all_keys()
    # Refused at once: a new client, and the client already made.
    with pytest.raises(AuthenticationError):
        SegmentsClient(key, api_url=base)
    with pytest.raises(NetworkError):
        client.get_user()


def test_revoking_one_key_leaves_the_others_working(base, person):
    alice = person("alice")
    first, second = alice.api_key("first"), alice.api_key("second")
    page = alice.web.get(base + "settings/api-keys").text
    first_id = page.split('action="/settings/api-keys/')[2].split("/")[0]  # newest first: "first" is second
    alice.post(f"/settings/api-keys/{first_id}/revoke", {})
    with pytest.raises(AuthenticationError):
        SegmentsClient(first, api_url=base)
    assert SegmentsClient(second, api_url=base).get_user().username == alice.username


def test_get_user_shows_you_people_and_organizations(base, person, names):
    admin, member, stranger = person("boss"), person("member"), person("stranger")
    org = names("acme")
    admin.create_org(org)
    admin.add_member(org, member.username, role="member", default_role="reviewer")

    me = member.client().get_user()
    assert me.username == member.username and not me.is_organization
    assert me.email == f"{member.username}@example.com"
    [entry] = me.organizations
    assert entry.username == org and entry.is_organization
    assert entry.organization_role is None  # a plain member

    admins_view = admin.client().get_user()
    assert [(o.username, o.organization_role) for o in admins_view.organizations] == [(org, "admin")]

    other = member.client().get_user(stranger.username)
    assert other.username == stranger.username and other.email is None

    seen = member.client().get_user(org)
    assert seen.is_organization and seen.organization_created_by == admin.username
    roles = {m.username: m.organization_role for m in seen.members}
    assert roles == {admin.username: "admin", member.username: None}

    with pytest.raises(NotFoundError):
        stranger.client().get_user(org)  # not a member: as if it did not exist
    with pytest.raises(NotFoundError):
        stranger.client().get_user(names("nobody"))


def test_personal_datasets_from_creation_to_deletion(base, person, names):
    alice, bob = person("alice"), person("bob")
    client = alice.client()
    ds = client.add_dataset("cars", "Street cars", task_type="bboxes")
    assert ds.full_name == f"{alice.username}/cars" and ds.role == "admin"
    assert ds.task_type == "bboxes" and not ds.public and ds.owner.username == alice.username
    client.add_dataset("bikes", task_type="vector", public=True)
    assert [d.name for d in client.get_datasets()] == ["bikes", "cars"]
    assert [d.name for d in client.get_datasets(per_page=1, page=2)] == ["cars"]
    assert client.get_datasets(per_page=1, page=3) == []

    with pytest.raises(AlreadyExistsError):
        client.add_dataset("CARS", task_type="bboxes")
    with pytest.raises(NetworkError):
        client.add_dataset("sharp", task_type="segmentation-bitmap-highres")  # not a Colabel task type

    updated = client.update_dataset(f"{alice.username}/cars", description="Now public", public=True)
    assert updated.description == "Now public" and updated.public
    assert client.get_dataset(f"{alice.username}/cars").description == "Now public"

    other = bob.client()
    assert other.get_dataset(f"{alice.username}/bikes").role == "viewer"  # public
    assert sorted(d.name for d in other.get_datasets(alice.username)) == ["bikes", "cars"]
    client.update_dataset(f"{alice.username}/cars", public=False)
    with pytest.raises(NotFoundError):
        other.get_dataset(f"{alice.username}/cars")  # private: as if it did not exist
    assert [d.name for d in other.get_datasets(alice.username)] == ["bikes"]
    with pytest.raises(NotFoundError):
        other.update_dataset(f"{alice.username}/cars", description="mine now")
    with pytest.raises(AuthorizationError):
        other.update_dataset(f"{alice.username}/bikes", description="mine now")  # a viewer
    with pytest.raises(NotFoundError):
        client.get_dataset("abcde")

    client.delete_dataset(f"{alice.username}/cars")
    with pytest.raises(NotFoundError):
        client.get_dataset(f"{alice.username}/cars")
    with pytest.raises(NotFoundError):
        client.delete_dataset(f"{alice.username}/cars")


def test_an_organization_dataset_gets_its_members_with_their_default_roles(base, person, names):
    admin, reviewer, outsider_member, stranger = person("boss"), person("rev"), person("none"), person("stranger")
    org = names("acme")
    admin.create_org(org)
    admin.add_member(org, reviewer.username, default_role="reviewer")
    admin.add_member(org, outsider_member.username, default_role="none")

    ds = admin.client().add_dataset("pets", task_type="keypoints", organization=org)
    assert ds.full_name == f"{org}/pets" and ds.role == "admin"
    client = admin.client()
    assert client.get_dataset_collaborator(ds.full_name, reviewer.username).role == "reviewer"
    assert client.get_dataset_collaborator(ds.full_name, admin.username).role == "admin"
    with pytest.raises(NotFoundError):
        client.get_dataset_collaborator(ds.full_name, outsider_member.username)

    assert reviewer.client().get_dataset(ds.full_name).role == "reviewer"
    with pytest.raises(NotFoundError):
        outsider_member.client().get_dataset(ds.full_name)
    assert [d.full_name for d in reviewer.client().get_datasets()] == [ds.full_name]

    with pytest.raises(AuthorizationError):
        reviewer.client().add_dataset("mine", organization=org)  # a member, not an administrator
    with pytest.raises(NotFoundError):
        stranger.client().add_dataset("mine", organization=org)
    with pytest.raises(NotFoundError):
        stranger.client().get_datasets(org)
    assert [d.name for d in reviewer.client().get_datasets(org)] == ["pets"]


def test_collaborators_are_added_read_changed_and_removed(base, person, names):
    owner, ann, carl, boss = person("owner"), person("ann"), person("carl"), person("boss")
    org = names("acme")
    boss.create_org(org)
    client = owner.client()
    ds = client.add_dataset("faces", task_type="bboxes").full_name

    added = client.add_dataset_collaborator(ds, ann.username, "reviewer")
    assert added.user.username == ann.username and added.role == "reviewer"
    assert client.get_dataset_collaborator(ds, ann.username).role == "reviewer"
    assert client.update_dataset_collaborator(ds, ann.username, "manager").role == "manager"

    with pytest.raises(NotFoundError):
        client.add_dataset_collaborator(ds, names("nobody"))
    with pytest.raises(CollaboratorError):
        client.add_dataset_collaborator(ds, org)  # an organization
    with pytest.raises(CollaboratorError):
        client.add_dataset_collaborator(ds, ann.username)  # already one

    manager = ann.client()
    assert manager.add_dataset_collaborator(ds, carl.username).role == "labeler"
    with pytest.raises(AuthorizationError):
        manager.update_dataset_collaborator(ds, carl.username, "admin")  # only administrators give it
    client.update_dataset_collaborator(ds, carl.username, "admin")
    with pytest.raises(AuthorizationError):
        manager.delete_dataset_collaborator(ds, carl.username)  # nor touch an administrator
    labeler = person("lab")
    client.add_dataset_collaborator(ds, labeler.username, "labeler")
    with pytest.raises(AuthorizationError):
        labeler.client().get_dataset_collaborator(ds, ann.username)  # below manager

    client.delete_dataset_collaborator(ds, ann.username)
    with pytest.raises(NotFoundError):
        client.get_dataset_collaborator(ds, ann.username)
    with pytest.raises(NotFoundError):
        ann.client().get_dataset(ds)  # the entry was her access
    with pytest.raises(NotFoundError):
        client.delete_dataset_collaborator(ds, ann.username)


def test_viewer_is_a_colabel_role_the_sdk_lacks(base, person):
    # SDK-CONTRACT 6.1: the SDK sends any role, so a viewer can be added; its reply model has
    # no "viewer", so it raises after the server stored the entry, which Colabel reports
    # truthfully instead of remapping it to a role with more rights.
    owner, vera = person("owner"), person("vera")
    client = owner.client()
    ds = client.add_dataset("shelf", task_type="bboxes").full_name
    with pytest.raises(ValidationError):
        client.add_dataset_collaborator(ds, vera.username, "viewer")
    assert vera.client().get_dataset(ds).role == "viewer"
    assert client.get_dataset(ds).collaborators_count == 2


def test_clone_copies_a_dataset_into_your_account_or_an_organization(base, person, names):
    alice, boss = person("alice"), person("boss")
    org = names("acme")
    boss.create_org(org)
    boss.add_member(org, alice.username, role="admin", default_role="none")
    client = alice.client()
    source = client.add_dataset("trees", "Park trees", task_type="vector", public=True)
    copy = client.clone_dataset(source.full_name)
    assert copy.full_name == f"{alice.username}/trees-clone" and copy.cloned_from == source.full_name
    assert copy.description == "Park trees" and copy.public and copy.task_type == "vector"
    into_org = client.clone_dataset(source.full_name, new_name="forest", new_public=False, organization=org)
    assert into_org.full_name == f"{org}/forest" and not into_org.public
    with pytest.raises(AlreadyExistsError):
        client.clone_dataset(source.full_name)  # trees-clone exists
    with pytest.raises(NotFoundError):
        boss.client().clone_dataset(f"{alice.username}/nothing-here")


def test_a_key_has_its_users_rights_at_each_request(base, person, names):
    boss, mia = person("boss"), person("mia")
    org = names("acme")
    boss.create_org(org)
    boss.add_member(org, mia.username, default_role="labeler")
    ds = boss.client().add_dataset("secret", task_type="bboxes", organization=org).full_name
    client = mia.client()
    assert client.get_dataset(ds).role == "labeler"
    boss.post(f"/{org}/settings/members/{mia.username}/remove", {})
    with pytest.raises(NotFoundError):
        client.get_dataset(ds)  # removed: the same key lost the access at once
    with pytest.raises(NotFoundError):
        client.get_user(org)


def test_the_readme_example_runs_as_written(base, person, names):
    """The five lines of the README's "The JSON API", with this run's key, address and names."""
    import pathlib
    import re as regex

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    code = regex.search(r"## The JSON API.*?```python\n(.*?)```", readme, regex.S).group(1)
    assert len(code.strip().splitlines()) == 5
    boss, jane = person("boss"), person("jane")
    org = names("acme")
    boss.create_org(org)
    code = (
        code.replace("clb_…your key…", boss.api_key())
        .replace("http://127.0.0.1:8080/", base)
        .replace('"acme"', repr(org))
        .replace('"jane"', repr(jane.username))
    )
    exec(compile(code, "README.md", "exec"), {})
    assert jane.client().get_dataset(f"{org}/street-scenes").role == "reviewer"
