from apps.core.privacy import allowed_deploy_args, has_consent, is_email, scrub


def test_addresses_are_dropped_by_key_and_ids_only_when_they_are_addresses() -> None:
    payload = {"ip": "10.0.0.1", "ipAddress": "x", "userId": "203.0.113.9", "user_id": "u-1",
               "wasp_version": "0.1.9.1", "context": {"ip": "::1", "library": {"name": "a"}}}
    assert scrub(payload, consent=False) == {"user_id": "u-1",
                                             "wasp_version": "0.1.9.1", "context": {"library": {"name": "a"}}}


def test_email_and_names() -> None:
    form = {"email": "a@b.co", "name": "Ann", "lastName": "B", "role": "dev", "emailDomainHash": "abc"}
    assert scrub(form, consent=False) == {"role": "dev", "emailDomainHash": "abc"}
    assert scrub(form, consent=True) == form
    # A name next to no e-mail names a thing, not a person; an e-mail value is caught under any key.
    assert scrub({"name": "Page1", "owner": "x@y.org", "list": ["x@y.org", 1]}, consent=False) == {
        "name": "Page1", "list": [1]}
    # Whichever comes first in the payload, and whatever the case of the key.
    assert scrub({"name": "Ann", "Role": "dev", "EMAIL": "ann@example.com"}, consent=False) == {"Role": "dev"}
    assert is_email("jane@example.com") and not is_email("@handle")


def test_consent_and_deploy_args() -> None:
    assert has_consent({"subscribe-marketing": True}) and has_consent(None, {"subscribe_marketing": "true"})
    assert not has_consent({"subscribe-marketing": False})
    assert allowed_deploy_args("fly;deploy;--org=x") == "fly;deploy"
    assert allowed_deploy_args(["fly", "launch", "cmd"]) == ["fly", "cmd"]
