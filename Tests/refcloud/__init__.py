"""refcloud: the reference cloud (OAuth 2.0 authorization server + the maker's report
API) that camera-agent's tests and demo talk to. See README.md."""
