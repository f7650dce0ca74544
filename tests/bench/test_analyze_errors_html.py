from relaycli.bench.analyze import error_excerpt


def test_html_error_pages_are_named_by_their_title() -> None:
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway | cloudflare</title></head><body>x</body></html>"
    assert error_excerpt(page) == "HTML page '502 Bad Gateway | cloudflare'"
    assert error_excerpt(b'{"error": {"message": "slow down"}}') == "slow down"
