"""service_outbox: the catalog's changes waiting for the reverse relay

The table is ``acl.sync.core.tables.service_outbox``, created the way the relay creates it (only when it is
missing), so that whichever of the two runs first, the other finds the same table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from acl.sync.core.tables import service_outbox
from acl.sync.service.outbox import create_service_outbox

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_service_outbox(op.get_bind())


def downgrade() -> None:
    service_outbox.drop(op.get_bind(), checkfirst=True)
