"""The key store: files, modes, sealing, and the errors a person sees."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from nacl.pwhash import argon2id

from gooseterm.ledger import keys, verifier
from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.signing import Signer

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    # The cheapest Argon2id limits: sealing semantics are the same, tests stay fast.
    return KeyStore(tmp_path / "keys", opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_key_loads_back(store: KeyStore) -> None:
    created = store.create("alice")
    loaded = store.load("alice")
    assert loaded.verifier == created.verifier
    assert loaded.sign(b"m") == created.sign(b"m")


def test_key_file_is_0600_and_directory_0700(store: KeyStore) -> None:
    store.create("alice")
    assert _mode(store.directory) == 0o700
    assert _mode(store.directory / "alice.key") == 0o600


def test_plain_key_file_holds_the_skey_and_pub_file_the_vkey(store: KeyStore) -> None:
    signer = store.create("alice")
    assert (store.directory / "alice.key").read_text() == signer.skey + "\n"
    assert (store.directory / "alice.pub").read_text() == signer.vkey + "\n"


def test_no_temporary_files_are_left_behind(store: KeyStore) -> None:
    store.create("alice")
    store.create("bob", PASSPHRASE)
    assert sorted(p.name for p in store.directory.iterdir()) == ["alice.key", "alice.pub", "bob.key", "bob.pub"]


def test_sealed_key_round_trips_with_its_passphrase(store: KeyStore) -> None:
    created = store.create("alice", PASSPHRASE)
    assert store.load("alice", PASSPHRASE).verifier == created.verifier


def test_sealed_key_file_keeps_the_seed_out_of_the_clear(store: KeyStore) -> None:
    created = store.create("alice", PASSPHRASE)
    text = (store.directory / "alice.key").read_text()
    sealed = json.loads(text)
    assert sealed["vkey"] == created.vkey
    assert sealed["kdf"]["opslimit"] == argon2id.OPSLIMIT_MIN
    assert created.skey.split("+", 4)[4] not in text


def test_sealed_key_without_passphrase_says_how_to_give_one(store: KeyStore) -> None:
    store.create("alice", PASSPHRASE)
    with pytest.raises(keys.PassphraseRequiredError, match="--passphrase-file or set GOOSETERM_PASSPHRASE"):
        store.load("alice")


def test_wrong_passphrase_is_refused(store: KeyStore) -> None:
    store.create("alice", PASSPHRASE)
    with pytest.raises(keys.WrongPassphraseError, match="wrong passphrase for key 'alice'"):
        store.load("alice", "Tr0ub4dor&3")


def test_empty_passphrase_is_refused(store: KeyStore) -> None:
    with pytest.raises(keys.KeyStoreError, match="empty passphrase"):
        store.create("alice", "")


def test_default_sealing_cost_is_argon2id_moderate(tmp_path: Path) -> None:
    default = KeyStore(tmp_path)
    assert (default.opslimit, default.memlimit) == (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)


def test_key_file_open_to_others_is_refused_with_the_fix(store: KeyStore) -> None:
    store.create("alice")
    path = store.directory / "alice.key"
    path.chmod(0o644)
    with pytest.raises(keys.InsecurePermissionsError, match=r"mode 0644.*chmod 600"):
        store.load("alice")


def test_existing_name_is_refused(store: KeyStore) -> None:
    first = store.create("alice")
    with pytest.raises(keys.KeyExistsError, match="already exists"):
        store.create("alice", PASSPHRASE)
    assert store.load("alice").verifier == first.verifier


def test_missing_key_lists_the_keys_that_exist(store: KeyStore) -> None:
    store.create("alice")
    store.create("bob")
    with pytest.raises(keys.KeyNotFoundError, match=r"no key named 'carol'.*keys there: alice, bob"):
        store.load("carol")


def test_invalid_key_name_is_refused(store: KeyStore) -> None:
    with pytest.raises(keys.KeyStoreError, match="invalid key name"):
        store.create("alice+admin")


def test_url_like_names_are_stored_flat(store: KeyStore) -> None:
    created = store.create("ledger.example/log")
    assert (store.directory / "ledger.example%2Flog.key").is_file()
    assert store.names() == ["ledger.example/log"]
    assert store.load("ledger.example/log").verifier == created.verifier


def test_list_describes_keys_without_a_passphrase(store: KeyStore) -> None:
    alice, bob = store.create("alice"), store.create("bob", PASSPHRASE)
    assert store.list() == [
        keys.KeyInfo("alice", alice.vkey, False, store.directory / "alice.key"),
        keys.KeyInfo("bob", bob.vkey, True, store.directory / "bob.key"),
    ]


def test_empty_store_lists_nothing(store: KeyStore) -> None:
    assert store.list() == []


def test_signer_repr_hides_the_seed(store: KeyStore) -> None:
    signer = store.create("alice")
    seed_b64 = signer.skey.split("+", 4)[4]
    for text in (repr(signer), str(signer)):
        assert signer.seed.hex() not in text and seed_b64 not in text and "PRIVATE" not in text
    assert repr(signer) == f"Signer('{signer.keyid}')"


def test_export_gives_the_vkey(store: KeyStore) -> None:
    signer = store.create("alice", PASSPHRASE)
    assert store.export("alice") == signer.vkey
    assert verifier.parse_vkey(store.export("alice")) == signer.verifier


def test_imported_public_key_is_stored_and_exported(store: KeyStore) -> None:
    other = Signer.generate("ci.example/runner")
    assert store.import_public(other.vkey) == other.verifier
    assert (store.directory / "public" / "ci.example%2Frunner.pub").read_text() == other.vkey + "\n"
    assert store.public_keys() == [other.verifier]
    assert store.export("ci.example/runner") == other.vkey
    assert store.import_public(other.vkey) == other.verifier  # importing again is harmless


def test_imported_key_cannot_be_silently_replaced(store: KeyStore) -> None:
    store.import_public(Signer.generate("bob").vkey)
    with pytest.raises(keys.KeyExistsError, match="different public key named 'bob'"):
        store.import_public(Signer.generate("bob").vkey)


def test_malformed_public_key_is_refused(store: KeyStore) -> None:
    vkey = Signer.generate("bob").vkey
    with pytest.raises(keys.KeyStoreError, match="not a verifier key.*key id does not match"):
        store.import_public(vkey.replace("bob+", "rob+", 1))


def test_damaged_imported_key_gives_a_clear_error(store: KeyStore) -> None:
    store.import_public(Signer.generate("bob").vkey)
    (store.directory / "public" / "bob.pub").write_text("garbage\n")
    with pytest.raises(keys.KeyFileDamagedError, match=r"bob\.pub is damaged.*import the key again"):
        store.public_keys()


def test_export_of_unknown_key_lists_what_exists(store: KeyStore) -> None:
    store.create("alice")
    with pytest.raises(keys.KeyNotFoundError, match="keys there: alice"):
        store.export("zed")


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[:-10] + "\n",
        lambda text: text.replace("PRIVATE+KEY+", "PRIVATE+KYE+"),
        lambda text: "",
        lambda text: "{not json",
    ],
    ids=["truncated", "bad-prefix", "empty", "broken-json"],
)
def test_corrupted_plain_key_file_gives_a_clear_error(store: KeyStore, damage) -> None:
    store.create("alice")
    path = store.directory / "alice.key"
    path.write_text(damage(path.read_text()))
    with pytest.raises(keys.KeyFileDamagedError, match=r"alice\.key is damaged.*restore it from a backup"):
        store.load("alice")


def test_corrupted_sealed_key_file_gives_a_clear_error(store: KeyStore) -> None:
    store.create("alice", PASSPHRASE)
    path = store.directory / "alice.key"
    sealed = json.loads(path.read_text())
    sealed["kdf"]["salt"] = "AAAA"
    path.write_text(json.dumps(sealed))
    with pytest.raises(keys.KeyFileDamagedError, match="salt is 3 bytes"):
        store.load("alice", PASSPHRASE)


def test_tampered_sealed_ciphertext_is_refused(store: KeyStore) -> None:
    store.create("alice", PASSPHRASE)
    path = store.directory / "alice.key"
    sealed = json.loads(path.read_text())
    sealed["box"] = ("B" if sealed["box"][0] != "B" else "C") + sealed["box"][1:]
    path.write_text(json.dumps(sealed))
    with pytest.raises(keys.WrongPassphraseError, match="or the file was altered"):
        store.load("alice", PASSPHRASE)


def test_swapped_public_key_in_sealed_file_is_refused(store: KeyStore) -> None:
    store.create("alice", PASSPHRASE)
    path = store.directory / "alice.key"
    sealed = json.loads(path.read_text())
    sealed["vkey"] = Signer.generate("alice").vkey
    path.write_text(json.dumps(sealed))
    with pytest.raises(keys.KeyFileDamagedError, match="does not match the sealed seed"):
        store.load("alice", PASSPHRASE)


def test_key_file_under_another_name_is_refused(store: KeyStore) -> None:
    store.create("alice")
    (store.directory / "alice.key").write_text(Signer.generate("mallory").skey + "\n")
    with pytest.raises(keys.KeyFileDamagedError, match="holds the key 'mallory', not 'alice'"):
        store.load("alice")
