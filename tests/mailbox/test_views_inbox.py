from tests.factories import PersonFactory, make_message


def test_it_shows_only_the_logged_in_persons_letters(client, db, authority):
    anna, bent = PersonFactory(name="Anna"), PersonFactory(name="Bent")
    make_message(sender=authority, recipient=anna, label="Til Anna")
    make_message(sender=authority, recipient=bent, label="Til Bent")
    client.force_login(anna.user)
    page = client.get("/post/").content.decode()
    assert "Til Anna" in page
    assert "Til Bent" not in page


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get("/post/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
