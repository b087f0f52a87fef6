/** Where a result column comes from: resolved from RowDescription's table OID and attribute number. */
export type ColumnOrigin = { schema: string; table: string; column: string };

/** Looks up a column's origin; `undefined` when the table is not (yet) known. */
export type ColumnCatalog = (tableOid: number, attnum: number) => ColumnOrigin | undefined;
