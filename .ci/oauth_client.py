"""A stock OAuth 2.0 client against a running Tandem: Authlib's requests session, in its
default mode (`client_secret_basic`), finds the token endpoint in the server's RFC 8414
metadata, gets a client-credentials token, and reads referrals with it. A wrong secret and a
scope the client does not hold come back as the errors Authlib knows (`invalid_client`,
`invalid_scope`).

Usage: oauth_client.py BASE_URL CLIENT_ID CLIENT_SECRET
"""

import sys

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session


def refused(base, client_id, secret, scope, token_endpoint):
    session = OAuth2Session(client_id, secret, scope=scope)
    try:
        session.fetch_token(token_endpoint, grant_type="client_credentials")
    except OAuthError as error:
        return error.error
    return None


def main(base, client_id, secret):
    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10)
    metadata.raise_for_status()
    metadata = metadata.json()
    assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"], metadata
    token_endpoint = metadata["token_endpoint"]

    session = OAuth2Session(client_id, secret, scope="referrals:read")
    assert session.token_endpoint_auth_method == "client_secret_basic"
    token = session.fetch_token(token_endpoint, grant_type="client_credentials")
    assert token["token_type"] == "Bearer", token
    assert token["scope"] == "referrals:read", token
    referrals = session.get(f"{base}/api/v1/referrals", timeout=10)
    assert referrals.status_code == 200, (referrals.status_code, referrals.text)

    wrong = refused(base, client_id, secret + "x", "referrals:read", token_endpoint)
    assert wrong == "invalid_client", wrong
    unheld = refused(base, client_id, secret, "directory:write", token_endpoint)
    assert unheld == "invalid_scope", unheld
    print("oauth client: Authlib got a token by client_secret_basic and read referrals; "
          "invalid_client and invalid_scope came back as Authlib errors")


if __name__ == "__main__":
    main(*sys.argv[1:4])
