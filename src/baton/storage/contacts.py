"""Contacts and their channel identities (``ContactStore``, a part of the event store)."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from baton.domain.errors import StoreUnavailable
from baton.domain.ids import new_id
from baton.domain.records import Contact, rebase
from baton.storage import statements as q
from baton.storage.connection import StoreConnection
from baton.storage.sqlite_writer import SqliteWriter, find_or_create_contact, sqlite_timestamp


class ContactStore(StoreConnection):
    """Contacts: found or created by channel identity, read, saved."""

    async def contact_for_identity(self, account_id: str, channel: str, address: str) -> Contact:
        """Return the contact with this channel identity, creating it if new."""
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        if self._writer is not None:
            return await self._sqlite_contact(self._writer, key)
        channel, address = self._text(channel), self._text(address)
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        async with self.engine.connect() as conn:
            contact_id = (await conn.execute(q.IDENTITY_OWNER, key)).scalar()
            if contact_id is None:
                contact_id = await self._new_contact(conn, account_id, channel, address)
            contact = await self._read_contact(conn, account_id, contact_id)
        if contact is None:  # pragma: no cover - the identity points at a deleted contact
            raise StoreUnavailable(f"identity {channel}:{address} names a missing contact")
        return contact

    async def identity_owner(self, account_id: str, channel: str, address: str) -> str | None:
        """The id of the account's contact with this channel identity, if any."""
        channel, address = self._text(channel), self._text(address)
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        async with self.engine.connect() as conn:
            owner = (await conn.execute(q.IDENTITY_OWNER, key)).scalar()
        return None if owner is None else str(owner)

    async def _sqlite_contact(self, writer: SqliteWriter, key: dict[str, str]) -> Contact:
        account_id, channel, address = key["b_account"], key["b_channel"], key["b_address"]
        records = self._records
        if records is not None:
            cached = records.contact(account_id, channel, address)
            if cached is not None:
                return cached
        stamp = sqlite_timestamp(self._now())
        new = {
            "account_id": account_id,
            "id": new_id("contact"),
            "tags": "[]",
            "fields": "{}",
            "language": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        # One hop, and in arrival order: turns for one contact stay in sequence.
        contact = await writer.write(partial(find_or_create_contact, identity=key, new=new))
        if contact is None:  # pragma: no cover - the identity points at a deleted contact
            raise StoreUnavailable(f"identity {channel}:{address} names a missing contact")
        if records is not None:
            records.set_contact(channel, address, contact)
            if contact.contact_id == new["id"]:  # created now (the id is a fresh random one)
                records.created_contact(account_id, contact.contact_id)
        return contact

    async def _new_contact(
        self, conn: AsyncConnection, account_id: str, channel: str, address: str
    ) -> str:
        contact_id = new_id("contact")
        now = self._now()
        await conn.execute(
            q.INSERT_CONTACT,
            {
                "account_id": account_id,
                "id": contact_id,
                "tags": [],
                "fields": {},
                "language": None,
                "created_at": now,
                "updated_at": now,
            },
        )
        claimed = await conn.execute(
            self._upsert.claim_identity,
            {
                "account_id": account_id,
                "channel": channel,
                "address": address,
                "contact_id": contact_id,
            },
        )
        if claimed.rowcount == 1:
            await conn.commit()
            return contact_id
        # Another writer created this identity's contact first: use theirs.
        await conn.rollback()
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        owner: str = (await conn.execute(q.IDENTITY_OWNER, key)).scalar_one()
        return owner

    async def get_contact(self, account_id: str, contact_id: str) -> Contact | None:
        """Return a contact, or None if the account has no such contact."""
        async with self.engine.connect() as conn:
            return await self._read_contact(conn, account_id, contact_id)

    async def _read_contact(
        self, conn: AsyncConnection, account_id: str, contact_id: str
    ) -> Contact | None:
        key = {"b_id": contact_id, "b_account": account_id}
        row = (await conn.execute(q.CONTACT_ROW, key)).first()
        if row is None:
            return None
        identities = dict(
            sorted((r.channel, r.address) for r in await conn.execute(q.IDENTITIES, key))
        )
        return Contact(
            account_id=account_id,
            contact_id=contact_id,
            identities=identities,
            tags=tuple(row.tags),
            fields=dict(row.fields),
            language=row.language,
        )

    async def save_contact(self, contact: Contact) -> None:
        """Insert or update a contact; its identities replace the stored ones.

        An identity held by another contact of the account moves to this one.
        """
        async with self.engine.begin() as conn:
            await self._write_contact(conn, contact)
        if self._records is not None:
            self._records.forget_contacts()

    async def change_contact(self, before: Contact, after: Contact) -> Contact:
        """Save the changes that turned ``before`` into ``after`` onto the contact as
        stored now (``baton.domain.records.rebase``), holding its row while doing it, so
        a change another instance saved since ``before`` was read stays. Returns the
        contact as saved; a contact not stored yet is saved as ``after``."""
        key = {"b_id": after.contact_id, "b_account": after.account_id}
        async with self.engine.begin() as conn:
            touched = await conn.execute(q.TOUCH_CONTACT, {**key, "b_now": self._now()})
            stored = await self._read_contact(conn, after.account_id, after.contact_id)
            if touched.rowcount == 0 or stored is None:
                saved = after
            else:
                saved = rebase(stored, before, after)
            if saved != stored:
                await self._write_contact(conn, saved)
        if self._records is not None:
            self._records.forget_contacts()
        return saved

    async def _write_contact(self, conn: AsyncConnection, contact: Contact) -> None:
        now = self._now()
        saved = await conn.execute(
            self._upsert.contact,
            {
                "account_id": contact.account_id,
                "id": contact.contact_id,
                "tags": list(contact.tags),
                "fields": dict(contact.fields),
                "language": None if contact.language is None else self._text(contact.language),
                "created_at": now,
                "updated_at": now,
            },
        )
        if saved.rowcount == 0:
            raise ValueError(
                f"contact id {contact.contact_id!r} belongs to another account than "
                f"{contact.account_id!r}; contacts can't move between accounts"
            )
        key = {"b_id": contact.contact_id, "b_account": contact.account_id}
        await conn.execute(q.FORGET_IDENTITIES, key)
        if contact.identities:
            rows = [
                {
                    "account_id": contact.account_id,
                    "channel": self._text(channel),
                    "address": self._text(address),
                    "contact_id": contact.contact_id,
                }
                for channel, address in contact.identities.items()
            ]
            await conn.execute(self._upsert.move_identity, rows)
