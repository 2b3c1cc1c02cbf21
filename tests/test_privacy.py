from hub.privacy import Vault, mask_citizen_id, mask_phone


def test_blind_index_matches_equal_values_and_separates_kinds() -> None:
    vault = Vault("k1")
    assert vault.blind_index("110105194912310021") == vault.blind_index("110105194912310021")
    assert vault.blind_index("13812345678", kind="phone") != vault.blind_index("13812345678", kind="id")
    assert "110105" not in (vault.blind_index("110105194912310021") or "")
    assert vault.blind_index(None) is None and vault.blind_index("") is None


def test_blind_index_depends_on_the_install_secret() -> None:
    assert Vault("k1").blind_index("x") != Vault("k2").blind_index("x")


def test_encryption_round_trips_and_hides_the_value() -> None:
    vault = Vault("k1")
    token = vault.encrypt("110105194912310021")
    assert token and "110105194912310021" not in token
    assert vault.decrypt(token) == "110105194912310021"


def test_masks_follow_the_display_rule() -> None:
    assert mask_citizen_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
