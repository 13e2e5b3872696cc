"""Tests for the key store: derivation, allocation, encryption at rest, secrecy."""

from __future__ import annotations

import base64
import json
import stat
import threading
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mnemonic import Mnemonic

from colony_actor.colony.errors import ColonyError, InvalidInput, WrongPassword
from colony_actor.colony.keys import store as keys_module
from colony_actor.colony.keys.derivation import generate_mnemonic
from colony_actor.colony.keys.store import SEARCH_WINDOW, KeyStore

# The BIP39 test phrase; its addresses are pinned so a change in derivation cannot pass
# unnoticed (users would lose their pods on a new device).
TEST_MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon " \
    "abandon abandon about"
TEST_ADDRESSES = [
    "27e66952ecf67cdfe2b2d5f4815eaf407e25dd79cfd5d394d53097d26f4f3a31",
    "eb282de915cd11c4fe6caad441ccee914483a50fe1f07fb605fd4f25fb800b17",
    "9a2246e2af9a15d00938561ebc1bb6a287134f0b80820f71b66e2def0cd8e12b",
]
PASSWORD = "correct horse battery staple"


def test_generate_mnemonic_gives_valid_12_words() -> None:
    phrase = generate_mnemonic()
    assert len(phrase.split()) == 12
    assert Mnemonic("english").check(phrase)
    assert generate_mnemonic() != phrase


def test_derivation_follows_the_documented_scheme(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD, TEST_MNEMONIC)
    seed = Mnemonic.to_seed(TEST_MNEMONIC, passphrase="")
    for index, expected in enumerate(TEST_ADDRESSES):
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"colony-actor/keys/v1",
                   info=f"index:{index}".encode()).derive(seed)
        public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
        assert public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == expected
        assert store.address(index) == expected
        assert store.key(index).public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw).hex() == expected


def test_same_mnemonic_same_addresses_in_two_stores(tmp_path: Path) -> None:
    first = KeyStore.create(tmp_path / "a", PASSWORD)
    # Another device: different directory, different password, sloppy typing.
    typed = "  " + first.mnemonic.upper().replace(" ", "   ") + "\n"
    second = KeyStore.create(tmp_path / "b", "another password", typed)
    assert second.mnemonic == first.mnemonic
    for index in (0, 1, 2, 17, 300):
        assert first.address(index) == second.address(index)
    assert len({first.address(i) for i in range(10)}) == 10


def test_create_marks_0_and_1_and_allocate_hands_out_in_order(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    assert store.used == {0, 1}
    assert store.allocate() == 2
    assert store.allocate() == 3
    reopened = KeyStore.open(tmp_path, PASSWORD)
    assert reopened.used == {0, 1, 2, 3}
    assert reopened.mnemonic == store.mnemonic
    assert reopened.allocate() == 4
    assert KeyStore.open(tmp_path, PASSWORD).used == {0, 1, 2, 3, 4}


def test_mark_used_persists_and_allocate_never_reuses_a_gap(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    store.mark_used(5)
    store.mark_used(5)
    reopened = KeyStore.open(tmp_path, PASSWORD)
    assert reopened.used == {0, 1, 5}
    assert reopened.allocate() == 6, "a gap may be another device's key"
    with pytest.raises(InvalidInput):
        reopened.mark_used(-1)


def test_index_of_finds_used_and_window_without_marking(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD, TEST_MNEMONIC)
    assert store.index_of(TEST_ADDRESSES[0]) == 0
    assert store.index_of(TEST_ADDRESSES[1].upper()) == 1
    # Index 2 was never allocated here, as if another device had used it.
    assert store.index_of(TEST_ADDRESSES[2]) == 2
    assert store.used == {0, 1}
    assert store.index_of("00" * 32) is None

    # Just inside and just past the window above the highest used index (1); deriving
    # an address first must not widen the window.
    last = 1 + SEARCH_WINDOW
    beyond = store.address(last + 1)
    assert store.index_of(store.address(last)) == last
    assert store.index_of(beyond) is None
    # Marking a higher index used moves the window.
    store.mark_used(last)
    assert store.index_of(beyond) == last + 1
    assert KeyStore.open(tmp_path, PASSWORD).used == {0, 1, last}


def test_wrong_password_raises_wrong_password(tmp_path: Path) -> None:
    KeyStore.create(tmp_path, PASSWORD)
    with pytest.raises(WrongPassword) as info:
        KeyStore.open(tmp_path, "not the password")
    # A wrong password and a damaged file cannot be told apart: the sentence says both.
    assert str(info.value) == ("Wrong password or damaged key store at "
                               f"{tmp_path / 'keystore.json'}")
    assert "not the password" not in str(info.value)


def test_key_store_file_is_private_and_encrypted(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    path = tmp_path / "keystore.json"
    assert KeyStore.exists(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.allocate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    raw = path.read_bytes()
    assert store.mnemonic.encode() not in raw
    assert PASSWORD.encode() not in raw
    envelope = json.loads(raw)
    assert envelope["version"] == 1
    assert envelope["kdf"]["name"] in {"argon2id", "scrypt"}
    assert len(base64.b64decode(envelope["kdf"]["salt"])) == 16
    assert len(base64.b64decode(envelope["cipher"]["nonce"])) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keystore.json"]


def test_repr_shows_only_path_and_count(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    text = repr(store)
    assert text == f"KeyStore(path={str(tmp_path / 'keystore.json')!r}, used=2)"
    assert store.mnemonic not in text and store.mnemonic not in str(store)


@pytest.mark.parametrize("phrase", [
    "abandon " * 11 + "abandon",        # bad checksum
    "abandon " * 11 + "notaword",       # unknown word
    "abandon " * 11,                    # 11 words
    TEST_MNEMONIC + " abandon",         # 13 words
    "",
])
def test_invalid_mnemonic_is_rejected(tmp_path: Path, phrase: str) -> None:
    with pytest.raises(InvalidInput) as info:
        KeyStore.create(tmp_path, PASSWORD, phrase)
    message = str(info.value)
    assert "abandon" not in message and "notaword" not in message
    assert not KeyStore.exists(tmp_path)


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    before = (tmp_path / "keystore.json").read_bytes()
    with pytest.raises(ColonyError, match="already exists"):
        KeyStore.create(tmp_path, PASSWORD, TEST_MNEMONIC)
    assert (tmp_path / "keystore.json").read_bytes() == before
    assert KeyStore.open(tmp_path, PASSWORD).mnemonic == store.mnemonic


def test_missing_and_corrupt_stores_are_clear_errors(tmp_path: Path) -> None:
    assert not KeyStore.exists(tmp_path)
    with pytest.raises(ColonyError, match="No key store"):
        KeyStore.open(tmp_path, PASSWORD)

    path = tmp_path / "keystore.json"
    for garbage in (b"", b"{not json", b"[]", b'{"format": "colony-actor/keystore"}',
                    b'{"format": "\xff\xfe"}'):
        path.write_bytes(garbage)
        with pytest.raises(ColonyError, match="damaged") as info:
            KeyStore.open(tmp_path, PASSWORD)
        assert not isinstance(info.value, WrongPassword)
        assert "0xff" not in str(info.value)


def test_tampered_ciphertext_does_not_decrypt(tmp_path: Path) -> None:
    KeyStore.create(tmp_path, PASSWORD)
    path = tmp_path / "keystore.json"
    envelope = json.loads(path.read_bytes())
    ciphertext = bytearray(base64.b64decode(envelope["ciphertext"]))
    ciphertext[0] ^= 1
    envelope["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    path.write_text(json.dumps(envelope))
    with pytest.raises(WrongPassword):
        KeyStore.open(tmp_path, PASSWORD)


def test_empty_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        KeyStore.create(tmp_path, "")
    assert not KeyStore.exists(tmp_path)


def test_scrypt_is_used_where_argon2_is_missing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported(**_: object) -> None:
        raise UnsupportedAlgorithm("no Argon2 in this OpenSSL")

    with monkeypatch.context() as patch:
        patch.setattr(keys_module, "Argon2id", unsupported)
        store = KeyStore.create(tmp_path, PASSWORD)
    kdf = json.loads((tmp_path / "keystore.json").read_bytes())["kdf"]
    assert kdf["name"] == "scrypt" and kdf["n"] >= 2**14
    assert KeyStore.open(tmp_path, PASSWORD).mnemonic == store.mnemonic


def test_allocate_from_many_threads_gives_distinct_indexes(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path, PASSWORD)
    results: list[int] = []

    def allocate_some() -> None:
        results.extend(store.allocate() for _ in range(3))

    threads = [threading.Thread(target=allocate_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(2, 20))
    assert KeyStore.open(tmp_path, PASSWORD).used == set(range(20))
