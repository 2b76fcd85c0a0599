"""The key store: private signing keys (plain or sealed with a passphrase) and others' public keys.

Layout of the directory the caller chooses (gooseterm passes <GOOSETERM_HOME>/keys), mode 0700:
  <name>.key          private key, mode 0600: the C2SP skey line, or a sealed key (JSON below)
  <name>.pub          its verifier key (vkey) line, to hand to others
  public/<name>.pub   verifier keys imported from others
Key names may contain '/' (C2SP recommends URL-like names), so file names percent-encode them.

A sealed key file holds the vkey in the clear and the seed in a SecretBox (XSalsa20-Poly1305)
under a key derived from the passphrase with Argon2id. Nothing here logs or prints a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id
from nacl.secret import SecretBox

from gooseterm.ledger.signing import SEED_SIZE, Signer
from gooseterm.ledger.verifier import NoteError, NoteVerifier, parse_vkey

SEALED_FORMAT = "gooseterm-sealed-key/v1"
PASSPHRASE_HINT = "this key is sealed; pass --passphrase-file or set GOOSETERM_PASSPHRASE_FILE (or GOOSETERM_PASSPHRASE)"
_PRIVATE_MODE = 0o600
_DIR_MODE = 0o700


class KeyStoreError(Exception):
    """A key could not be created, found or opened; the message says what to do."""


class KeyNotFoundError(KeyStoreError):
    """No key of that name in the store."""


class KeyExistsError(KeyStoreError):
    """A key of that name already exists."""


class PassphraseRequiredError(KeyStoreError):
    """The key is sealed and no passphrase was given."""


class WrongPassphraseError(KeyStoreError):
    """The passphrase did not open the sealed key."""


class InsecurePermissionsError(KeyStoreError):
    """The key file is readable or writable by others than its owner."""


class KeyFileDamagedError(KeyStoreError):
    """The key file is not a key this store wrote."""


@dataclass(frozen=True)
class KeyInfo:
    """A private key in the store, described without opening it."""

    name: str
    vkey: str
    sealed: bool
    path: Path


MAX_FILE_STEM = 200
"""Longest encoded key name kept as a file name (file systems stop at 255 bytes; the temporary
file beside it adds about 30)."""


def _file_stem(name: str) -> str:
    stem = quote(name, safe="")
    if len(stem) > MAX_FILE_STEM or not stem:
        raise KeyStoreError(f"key name {name[:40]!r}{'...' if len(name) > 40 else ''} is {'empty' if not stem else 'too long'}: "
                            f"keep it under {MAX_FILE_STEM} characters once encoded")
    return stem


def _name_of(path: Path) -> str:
    return unquote(path.stem)


def _write_atomically(path: Path, data: bytes, mode: int, *, exclusive: bool) -> None:
    """Write data to path through a fsynced temporary file; with exclusive, never replace a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)  # fails with FileExistsError instead of replacing: no check-then-act race
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _passphrase_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    # NFC so the same passphrase typed on different systems derives the same key.
    secret = unicodedata.normalize("NFC", passphrase).encode()
    return argon2id.kdf(SecretBox.KEY_SIZE, secret, salt, opslimit=opslimit, memlimit=memlimit)


class KeyStore:
    """Private keys and imported public keys in one directory."""

    def __init__(
        self,
        directory: Path,
        *,
        opslimit: int = argon2id.OPSLIMIT_MODERATE,
        memlimit: int = argon2id.MEMLIMIT_MODERATE,
    ) -> None:
        self.directory = Path(directory)
        self.opslimit = opslimit  # Argon2id cost for keys sealed from now on; tests pass the minimum
        self.memlimit = memlimit

    def _key_path(self, name: str) -> Path:
        return self.directory / f"{_file_stem(name)}.key"

    def _public_dir(self) -> Path:
        return self.directory / "public"

    def _ensure_dir(self, path: Path) -> None:
        if not path.is_dir():
            path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            path.chmod(_DIR_MODE)  # mkdir's mode is filtered by the umask

    def names(self) -> list[str]:
        """The names of the private keys in the store, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(_name_of(p) for p in self.directory.glob("*.key"))

    def create(self, name: str, passphrase: str | None = None) -> Signer:
        """Generate and store a new key, sealed when a passphrase is given; refuses an existing name."""
        if passphrase is not None and not passphrase:
            raise KeyStoreError("an empty passphrase seals nothing: give a real one, or none for a plain key")
        try:
            signer = Signer.generate(name)
        except ValueError as exc:
            raise KeyStoreError(str(exc)) from None
        path = self._key_path(name)
        if path.exists():
            raise KeyExistsError(f"a key named {name!r} already exists at {path}; choose another name")
        if passphrase is None:
            content = signer.skey + "\n"
        else:
            content = self._seal(signer, passphrase)
        self._ensure_dir(self.directory)
        try:
            _write_atomically(path, content.encode(), _PRIVATE_MODE, exclusive=True)
        except FileExistsError:
            raise KeyExistsError(f"a key named {name!r} already exists at {path}; choose another name") from None
        _write_atomically(path.with_suffix(".pub"), (signer.vkey + "\n").encode(), 0o644, exclusive=False)
        return signer

    def _seal(self, signer: Signer, passphrase: str) -> str:
        salt = os.urandom(argon2id.SALTBYTES)
        box = SecretBox(_passphrase_key(passphrase, salt, self.opslimit, self.memlimit))
        sealed = {
            "format": SEALED_FORMAT,
            "vkey": signer.vkey,
            "kdf": {
                "alg": "argon2id13",
                "opslimit": self.opslimit,
                "memlimit": self.memlimit,
                "salt": base64.b64encode(salt).decode(),
            },
            "box": base64.b64encode(bytes(box.encrypt(signer.seed))).decode(),
        }
        return json.dumps(sealed, indent=1, sort_keys=True) + "\n"

    def _read_private(self, name: str) -> tuple[Path, str]:
        path = self._key_path(name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none"
            raise KeyNotFoundError(f"no key named {name!r} in {self.directory} (keys there: {known})") from None
        with os.fdopen(fd, "rb") as f:
            mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
            if mode & 0o077:
                raise InsecurePermissionsError(
                    f"key file {path} has mode {mode:04o}, open to other users; fix it with: chmod 600 '{path}'"
                )
            data = f.read()
        try:
            return path, data.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyFileDamagedError(f"key file {path} is not text; restore it from a backup") from None

    def load(self, name: str, passphrase: str | None = None) -> Signer:
        """Open a private key; a sealed one needs its passphrase."""
        path, text = self._read_private(name)
        if text.lstrip().startswith("{"):
            signer = self._unseal(path, text, passphrase)
        else:
            try:
                signer = Signer.from_skey(text)
            except (NoteError, ValueError) as exc:
                raise KeyFileDamagedError(f"key file {path} is damaged: {exc}; restore it from a backup") from None
        if signer.name != name:
            raise KeyFileDamagedError(f"key file {path} holds the key {signer.name!r}, not {name!r}")
        return signer

    def _unseal(self, path: Path, text: str, passphrase: str | None) -> Signer:
        try:
            sealed = json.loads(text)
            if sealed.get("format") != SEALED_FORMAT:
                raise ValueError(f"format is {sealed.get('format')!r}, want {SEALED_FORMAT!r}")
            verifier = parse_vkey(sealed["vkey"])
            kdf = sealed["kdf"]
            if kdf["alg"] != "argon2id13":
                raise ValueError(f"unknown key derivation {kdf['alg']!r}")
            opslimit, memlimit = int(kdf["opslimit"]), int(kdf["memlimit"])
            if not (
                argon2id.OPSLIMIT_MIN <= opslimit <= argon2id.OPSLIMIT_MAX
                and argon2id.MEMLIMIT_MIN <= memlimit <= argon2id.MEMLIMIT_MAX
            ):
                raise ValueError("Argon2id limits out of range")
            salt = base64.b64decode(kdf["salt"], validate=True)
            ciphertext = base64.b64decode(sealed["box"], validate=True)
            if len(salt) != argon2id.SALTBYTES:
                raise ValueError(f"salt is {len(salt)} bytes, want {argon2id.SALTBYTES}")
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, NoteError) as exc:
            raise KeyFileDamagedError(f"sealed key file {path} is damaged: {exc}; restore it from a backup") from None
        if passphrase is None:
            raise PassphraseRequiredError(f"key {verifier.name!r}: {PASSPHRASE_HINT}")
        try:
            seed = SecretBox(_passphrase_key(passphrase, salt, opslimit, memlimit)).decrypt(ciphertext)
        except CryptoError:
            raise WrongPassphraseError(
                f"wrong passphrase for key {verifier.name!r} ({path}), or the file was altered"
            ) from None
        if len(seed) != SEED_SIZE:
            raise KeyFileDamagedError(f"sealed key file {path} holds {len(seed)} bytes, not a {SEED_SIZE}-byte seed")
        signer = Signer(verifier.name, seed)
        if signer.verifier != verifier:
            raise KeyFileDamagedError(
                f"sealed key file {path}: the public key in the clear does not match the sealed seed"
            )
        return signer

    def info(self, name: str) -> KeyInfo:
        """Describe one private key without its passphrase: the vkey comes from the clear part."""
        path, text = self._read_private(name)
        sealed = text.lstrip().startswith("{")
        try:
            vkey = parse_vkey(json.loads(text)["vkey"]).vkey if sealed else Signer.from_skey(text).vkey
        except (ValueError, KeyError, TypeError, NoteError) as exc:
            raise KeyFileDamagedError(f"key file {path} is damaged: {exc}; restore it from a backup") from None
        return KeyInfo(name, vkey, sealed, path)

    def list(self) -> list[KeyInfo]:
        """The private keys in the store, sorted by name."""
        return [self.info(name) for name in self.names()]

    def import_public(self, vkey: str) -> NoteVerifier:
        """Store another party's verifier key under public/; importing the same key twice is harmless."""
        try:
            verifier = parse_vkey(vkey)
        except NoteError as exc:
            raise KeyStoreError(f"not a verifier key (want name+keyid+key): {exc}") from None
        public_dir = self._public_dir()
        path = public_dir / f"{_file_stem(verifier.name)}.pub"
        if path.exists():
            existing = self._read_public(path)
            if existing == verifier:
                return verifier
            raise KeyExistsError(
                f"a different public key named {verifier.name!r} is already imported ({existing.vkey}); "
                f"remove {path} first if the key really changed"
            )
        self._ensure_dir(public_dir)
        _write_atomically(path, (verifier.vkey + "\n").encode(), 0o644, exclusive=True)
        return verifier

    def public_keys(self) -> list[NoteVerifier]:
        """The imported public keys, sorted by name."""
        return [self._read_public(p) for p in sorted(self._public_dir().glob("*.pub"))]

    def _read_public(self, path: Path) -> NoteVerifier:
        try:
            return parse_vkey(path.read_text(encoding="utf-8"))
        except (NoteError, UnicodeDecodeError) as exc:
            raise KeyFileDamagedError(f"public key file {path} is damaged: {exc}; import the key again") from None

    def export(self, name: str) -> str:
        """The vkey of a key in the store: one of ours, else an imported one."""
        if self._key_path(name).exists():
            return self.info(name).vkey
        for verifier in self.public_keys():
            if verifier.name == name:
                return verifier.vkey
        known = ", ".join(self.names() + [v.name for v in self.public_keys()]) or "none"
        raise KeyNotFoundError(f"no key named {name!r} in {self.directory} (keys there: {known})")
